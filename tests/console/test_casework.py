"""Break-glass review, the officers' trail, exports and case files, in a real headless
Chromium against a real console process and the real hub: every new page in Indonesian and
in English at 1366 and 390 pixels, axe-core clean, no horizontal overflow; a review made from
the page, then listed as reviewed and proven; an officer's own login on the trail page; an
export downloaded in the browser and verified by ``jembatan audit verify`` in a process of
its own, and a tampered copy failing with the line named; a case whose records and notes
outlast a restart of the console."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from hub.dev.processes import RunningProcess, start_jembatan
from jembatan.audit.record import AuditRecord
from tests.chromium import AXE, CHROMIUM, CHROMIUM_ARGS
from tests.console.test_console import WIDTHS, _check
from tests.integration.test_break_glass_review import WHY, _break_glass
from tests.stack import Stack

OFFICER, PASSWORD = "rina.wulandari", "baluran-savana-2026!"
NOTE = "Banjir tercatat BNPB; persetujuan supervisor sah, akses sesuai aturan darurat."


def _start(stack: Stack) -> RunningProcess:
    home = str(stack.home.root)
    member = ["--member", stack.console_member()]
    return start_jembatan(
        "console",
        ["--home", home, "console", "--listen", "127.0.0.1:0", "--hub", stack.address, *member],
    )


class Console:
    """The console process, restartable (its state under the hub home must outlast it)."""

    def __init__(self, stack: Stack, break_glass: int) -> None:
        self.stack = stack
        self.break_glass = break_glass
        self.process = _start(stack)

    @property
    def url(self) -> str:
        return f"http://{self.process.address}"

    def restart(self) -> None:
        self.process.stop()
        self.process = _start(self.stack)


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    password_file = tmp_path_factory.mktemp("officer") / "password"
    password_file.write_text(PASSWORD + "\n")
    add = ["console", "add-officer", OFFICER, "--password-file", str(password_file)]
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", str(stack.home.root), *add],
        check=True,
        capture_output=True,
    )
    index = asyncio.run(_break_glass(stack))
    running = Console(stack, index)
    yield running
    running.process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists() and AXE.exists()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextlib.contextmanager
def _officer(
    browser: Browser, console: Console, width: str = "wide", language: str = "id"
) -> Iterator[tuple[BrowserContext, Page]]:
    """A logged-in officer's browser, at ``width``, its language asked for by the browser."""
    w, h = WIDTHS[width]
    context = browser.new_context(
        viewport={"width": w, "height": h},
        locale="id-ID" if language == "id" else "en-GB",
        accept_downloads=True,
    )
    page = context.new_page()
    try:
        page.goto(console.url + "/login")
        page.fill("#name", OFFICER)
        page.fill("#password", PASSWORD)
        page.locator("form[action='/login'] button").click()
        expect(page.locator("#main")).to_be_visible()
        yield context, page
    finally:
        context.close()


def _case(page: Page, console: Console, name: str) -> str:
    """Open a case from the cases page; its URL."""
    page.goto(console.url + "/cases")
    page.fill("#case-name", name)
    page.fill("#case-note", "Pemeriksaan awal: akses darurat saat banjir.")
    page.locator("#new-case button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    return page.url


WORDS = {
    "id": {
        "break-glass": "Akses darurat",
        "unreviewed": "Belum ditinjau",
        "trail": "Jejak petugas",
        "login": "Masuk",
        "cases": "Kasus",
        "pin": "Sematkan ke kasus",
    },
    "en": {
        "break-glass": "Break-glass",
        "unreviewed": "Not reviewed",
        "trail": "Officers' trail",
        "login": "Logged in",
        "cases": "Cases",
        "pin": "Pin to a case",
    },
}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_new_page_in_both_languages_at_both_widths(
    console: Console, browser: Browser, width: str, language: str
) -> None:
    words = WORDS[language]
    with _officer(browser, console, width, language) as (_, page):
        page.goto(console.url + "/break-glass")
        expect(page.locator("h1")).to_have_text(words["break-glass"])
        row = page.locator(f"#results tr:has(a[href='/record/{console.break_glass}'])")
        expect(row).to_contain_text(WHY)
        _check(page, f"break-glass-review-{language}-{width}")

        page.goto(console.url + f"/record/{console.break_glass}")
        expect(page.locator("#review")).to_be_visible()
        expect(page.locator("#pin-heading")).to_have_text(words["pin"])
        _check(page, f"record-break-glass-{language}-{width}")

        page.goto(console.url + "/trail")
        expect(page.locator("h1")).to_have_text(words["trail"])
        mine = page.locator("#trail tr", has_text=OFFICER).first
        expect(mine.locator("td[data-field=event]")).to_have_text(words["login"])
        _check(page, f"trail-{language}-{width}")

        page.goto(console.url + "/cases")
        expect(page.locator("h1")).to_have_text(words["cases"])
        _check(page, f"cases-{language}-{width}")
        _case(page, console, f"Banjir Lateng {language} {width}")
        page.goto(console.url + f"/record/{console.break_glass}")
        page.fill("#pin-note", "akses darurat yang perlu dinilai")
        page.locator("#pin-form button").click()
        expect(page.locator("#pin-done")).to_be_visible()
        page.locator("#pin-done a").click()
        expect(page.locator("#pins")).to_contain_text(f"#{console.break_glass}")
        _check(page, f"case-{language}-{width}")


def test_a_review_made_from_the_page_is_listed_as_reviewed_and_provable(
    console: Console, browser: Browser
) -> None:
    index = console.break_glass
    with _officer(browser, console) as (context, page):
        page.goto(console.url + "/break-glass")
        # Unreviewed first, and how long it has waited, in words.
        first = page.locator("#results tbody tr").first
        expect(first).to_have_attribute("data-state", "unreviewed")
        row = page.locator(f"#results tr:has(a[href='/record/{index}'])")
        expect(row.locator("td[data-field=state] .badge")).to_have_text("Belum ditinjau")
        expect(row.locator("td[data-field=waited]")).to_have_text(
            re.compile(r"^\d+ (detik|menit|jam|hari)$")
        )
        row.get_by_role("link", name="Tinjau", exact=True).click()
        expect(page).to_have_url(console.url + f"/record/{index}#review")
        expect(page.locator("#review-summary")).to_contain_text("Belum ditinjau")

        # A note is required: the browser will not send the form without one.
        page.get_by_label("Dibenarkan", exact=True).check()
        page.get_by_role("button", name="Catat tinjauan").click()
        expect(page).to_have_url(console.url + f"/record/{index}#review")
        expect(page.locator("#review-done")).to_have_count(0)
        page.fill("#review-note", NOTE)
        page.get_by_role("button", name="Catat tinjauan").click()
        expect(page.locator("#review-done")).to_contain_text("Tinjauan Anda tercatat di log.")
        expect(page.locator("#reviews")).to_contain_text(NOTE)
        expect(page.locator("#reviews")).to_contain_text(OFFICER)
        expect(page.locator("#review-closed")).to_be_visible()
        expect(page.locator("#review-form")).to_have_count(0)
        _check(page, "record-reviewed-id-wide")

        # The review is a record of its own, proven like any other.
        page.locator("#review-done a").click()
        expect(page.locator("#proof")).to_contain_text("Bukti inklusi terverifikasi")
        expect(page.locator("#record")).to_contain_text(f"Tinjauan atas catatan {index}")
        review_index = int(page.url.rsplit("/", 1)[1])
        (record,) = console.stack.records(review_index)[:1]
        assert record.review is not None and record.review.outcome == "justified"
        assert record.on_behalf_of == OFFICER and record.review.reviewed_index == index

        page.goto(console.url + "/break-glass?state=justified")
        row = page.locator(f"#results tr:has(a[href='/record/{index}'])")
        expect(row.locator("td[data-field=state]")).to_contain_text("Dibenarkan")
        expect(row.locator("td[data-field=state]")).to_contain_text(OFFICER)
        expect(row.locator("td[data-field=waited]")).to_have_text("—")
        _check(page, "break-glass-justified-id-wide")

        # A second verdict is the hub's to refuse, and the page says so in words.
        answer = context.request.post(
            console.url + f"/record/{index}/review",
            form={"outcome": "unjustified", "note": NOTE},
        )
        assert answer.ok and answer.url.endswith(f"/record/{index}?problem=decided#review")
        assert "sudah memiliki tinjauan akhir" in answer.text()
        assert [r.review for r in console.stack.records(review_index + 1) if r.review] == []
        # The console's own check, before the hub is asked: a note holding a NIK.
        nik = console.stack.people.employed
        answer = context.request.post(
            console.url + f"/record/{index}/review", form={"outcome": "escalated", "note": nik}
        )
        assert answer.url.endswith("?problem=note#review") and nik not in answer.text()
        assert "tidak memuat NIK" in answer.text()


def test_the_trail_page_shows_this_officers_login_filtered_newest_first(
    console: Console, browser: Browser
) -> None:
    with _officer(browser, console) as (_, page):
        page.goto(console.url + "/trail")
        page.fill("#officer", OFFICER)
        page.select_option("#event", "login")
        page.get_by_role("button", name="Tampilkan").click()
        expect(page).to_have_url(re.compile(r"/trail\?officer=rina.wulandari&event=login$"))
        rows = page.locator("#trail tbody tr")
        expect(rows.first).to_contain_text(OFFICER)
        events = set(page.locator("#trail td[data-field=event]").all_inner_texts())
        officers = set(page.locator("#trail td[data-field=officer]").all_inner_texts())
        assert events == {"Masuk"} and officers == {OFFICER}
        indexes = [int(t.lstrip("#")) for t in page.locator("#trail tbody th a").all_inner_texts()]
        assert indexes == sorted(indexes, reverse=True)
        # The newest is this very login, whose record the page links to.
        newest = max(
            i
            for i, r in enumerate(console.stack.records(0))
            if r.officer_event and r.officer_event.officer == OFFICER
        )
        assert indexes[0] == newest


def _verify(path: Path, stack: Stack) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "hub.cli", "audit", "verify", str(path)),
            *("--key", f"@{stack.home.log_verifier_key}"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_exported_result_set_verifies_in_a_process_of_its_own_and_a_tampered_one_fails(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    stack = console.stack
    nik = stack.people.employed
    with _officer(browser, console) as (_, page):
        # A search by NIK: the export names the filter, never the NIK.
        page.goto(console.url + "/search")
        page.fill("#subject", nik)
        page.get_by_role("button", name="Cari", exact=True).click()
        expect(page.locator("#results")).to_be_visible()
        shown = len(page.locator("#results tbody tr").all())
        before = stack.log_size()
        with page.expect_download() as download:
            page.get_by_role("button", name="Ekspor JSON Lines (dengan bukti)").click()
        exported = tmp_path / "export.jsonl"
        download.value.save_as(exported)
        with page.expect_download() as download:
            page.get_by_role("button", name="Ekspor CSV").click()
        spreadsheet = tmp_path / "export.csv"
        download.value.save_as(spreadsheet)

    text = exported.read_text()
    assert nik not in text and nik not in spreadsheet.read_text()
    lines = text.splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "jembatan-audit-set/1" and header["count"] == len(lines) - 1
    assert header["description"] == "search by subject (NIK)"
    assert len(lines) - 1 >= shown > 0
    csv_rows = spreadsheet.read_text().splitlines()
    assert csv_rows[0].startswith("index,time,decision,reason,client_id")
    # Each search by NIK is itself logged under the citizen's pseudonym: the CSV, made after
    # the JSON Lines, finds the JSON Lines' own search as well.
    assert len(csv_rows) - 1 == len(lines)

    verified = _verify(exported, stack)
    assert verified.returncode == 0, verified.stderr
    assert f"✓ {len(lines) - 1} records each proven" in verified.stdout

    # One record changed in the third line: caught, and the line and record named.
    doc = json.loads(lines[2])
    doc["record"] = doc["record"].replace('"decision":"', '"decision":"X', 1)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([*lines[:2], json.dumps(doc), *lines[3:]]) + "\n")
    failed = _verify(tampered, stack)
    assert failed.returncode != 0 and not failed.stdout
    (message,) = failed.stderr.strip().splitlines()
    assert f"line 3 (record {doc['index']})" in message and "Traceback" not in failed.stderr

    # Each export is in the officers' trail: the format, the count, what was searched.
    events = [r.officer_event for r in stack.records(before) if r.officer_event]
    assert [(e.event, e.officer, e.note) for e in events if e.event == "export"] == [
        ("export", OFFICER, f"jsonl of {len(lines) - 1} records: search by subject (NIK)"),
        ("export", OFFICER, f"csv of {len(lines)} records: search by subject (NIK)"),
    ]


@contextlib.contextmanager
def _exports_unrecordable(stack: Stack) -> Iterator[None]:
    """The hub's log refuses officer events that record an export, and only those."""
    with contextlib.closing(sqlite3.connect(stack.home.database)) as conn:
        conn.execute(
            "CREATE TRIGGER no_export_events BEFORE INSERT ON audit_log"
            ' WHEN instr(CAST(NEW.record AS TEXT), \'"event":"export"\') > 0'
            " BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
        )
        conn.commit()
    try:
        yield
    finally:
        with contextlib.closing(sqlite3.connect(stack.home.database)) as conn:
            conn.execute("DROP TRIGGER no_export_events")
            conn.commit()


def test_an_export_the_trail_cannot_record_is_not_made(console: Console, browser: Browser) -> None:
    with _officer(browser, console) as (context, page):
        page.goto(console.url + "/refusals")
        form = {"view": "/refusals", "query": "", "format": "jsonl"}
        with _exports_unrecordable(console.stack):
            answer = context.request.post(console.url + "/export", form=form)
        assert answer.status == 503
        assert "Content-Disposition" not in answer.headers
        assert "jembatan-audit-set" not in answer.text()
        assert "tidak dapat mencatat ekspor ini" in answer.text()
        # Recordable again: the same export is made.
        answer = context.request.post(console.url + "/export", form=form)
        assert answer.ok and answer.headers["content-disposition"].startswith("attachment")


def test_a_case_keeps_its_records_and_notes_across_a_console_restart(
    console: Console, browser: Browser, tmp_path: Path
) -> None:
    stack = console.stack
    with _officer(browser, console) as (_, page):
        case_url = _case(page, console, "Kemiren: akses darurat berulang")
        page.fill("#note", "Periksa apakah supervisor yang sama menyetujui semua permintaan.")
        page.locator("#add-note button").click()
        for index in (console.break_glass, 1):
            page.goto(console.url + f"/record/{index}")
            page.select_option("#pin-case", label="Kemiren: akses darurat berulang")
            page.fill("#pin-note", f"catatan {index} terkait")
            page.locator("#pin-form button").click()
            expect(page.locator("#pin-done")).to_be_visible()
        # A NIK in a note is refused, and not kept.
        page.goto(case_url)
        page.fill("#note", f"pemohon {stack.people.employed}")
        page.locator("#add-note button").click()
        expect(page.locator("#problem")).to_contain_text("tidak memuat NIK")

    console.restart()
    with _officer(browser, console) as (_, page):
        page.goto(console.url + "/cases")
        page.get_by_role("link", name="Kemiren: akses darurat berulang").click()
        pinned = [int(t.lstrip("#")) for t in page.locator("#pins tbody th a").all_inner_texts()]
        assert pinned == [console.break_glass, 1]
        expect(page.locator("#pins")).to_contain_text("catatan 1 terkait")
        notes = page.locator("#case-notes li").all_inner_texts()
        assert len(notes) == 2 and "supervisor yang sama" in notes[1]
        assert all(stack.people.employed not in note for note in notes)
        with page.expect_download() as download:
            page.get_by_role("button", name="Ekspor JSON Lines (dengan bukti)").click()
        exported = tmp_path / "case.jsonl"
        download.value.save_as(exported)
    verified = _verify(exported, stack)
    assert verified.returncode == 0, verified.stderr
    lines = exported.read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines[1:]] == [console.break_glass, 1]
    assert AuditRecord.from_json(json.loads(lines[1])["record"].encode()).break_glass
    db = stack.home.root / "console" / "cases.sqlite3"
    assert db.stat().st_mode & 0o077 == 0
    assert stack.people.employed.encode() not in db.read_bytes()
