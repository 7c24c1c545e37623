"""The dashboard and the anomalies page, in a real headless Chromium against a real hub with a
real witness (``jembatan witness serve``): a crafted workload raises two anomaly flags, and
the officer sees each explained in plain words (Indonesian, or English when chosen) with
links that lead to exactly the records behind it; the witness shows up to date, then stale
once it is stopped, and with a quorum required the integrity page then refuses to call the
log verified. Both pages at 1366 and 390 pixels, clean under axe-core, no overflow."""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from hub.dev.processes import RunningProcess, start_jembatan
from jembatan.audit.witness import Cosigner

# The console tests' Chromium (a module-scoped fixture) and their checks of every page.
from tests.console.test_console import WIDTHS, _check
from tests.console.test_console import browser as browser
from tests.insights.test_anomalies import LAX, heads, indexes, refused_queries
from tests.stack import Stack, employment_query, start_stack
from tests.witness.conftest import RunningWitness, init_witness, start_witness

OFFICER, PASSWORD = "dewi.lestari", "rogojampi-songgon-2026"
BURST = "ID/GOV/TESTDASH/burst"
REPEAT = "ID/GOV/TESTDASH/repeat"
WITNESS = "witness.bssn.go.id/jembatan"
STALE_AFTER_S = 3
# Screenshots of the dashboard for the README: DASHBOARD_SCREENSHOTS=docs/screenshots.
DOC_SHOTS = os.environ.get("DASHBOARD_SCREENSHOTS")


@dataclass
class Deployment:
    stack: Stack
    console: str
    witness: RunningWitness
    cosigner: Cosigner
    since: datetime.datetime
    process: RunningProcess


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _thresholds(path: Path) -> Path:
    """Every flag out of reach but two: 4 refusals within 10 minutes, and one citizen
    looked up more than twice by one client."""
    doc = {key: dict(value) for key, value in LAX.items()}
    doc["refusal_burst"] = {"within": "10m", "min_refusals": 4}
    doc["subject_repeat"] = {"within": "24h", "max_lookups": 2}
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("dashboard")
    cosigner = init_witness(root / "w1", WITNESS)
    port = _free_port()
    hub_args = ["--witness", f"http://127.0.0.1:{port}={cosigner.verifier_key()}"]
    stack = start_stack(root / "home", hub_args=[*hub_args, "--witness-timeout", "1"])
    witness = start_witness(
        root / "w1", [f"@{stack.home.log_verifier_key}"], listen=f"127.0.0.1:{port}"
    )
    since = datetime.datetime.now(datetime.UTC)
    # The workload: one client refused four times (four citizens), another asking about one
    # citizen three times.
    asyncio.run(refused_queries(stack, BURST, heads(stack, 4, 0)))
    asyncio.run(refused_queries(stack, REPEAT, heads(stack, 1, 4) * 3))
    asyncio.run(_released(stack))

    home = str(stack.home.root)
    password = root / "password"
    password.write_text(PASSWORD + "\n")
    subprocess.run(
        [
            *(sys.executable, "-m", "hub.cli", "--home", home, "console", "add-officer"),
            *(OFFICER, "--password-file", str(password)),
        ],
        check=True,
        capture_output=True,
    )
    options = [
        *("--thresholds", str(_thresholds(root / "thresholds.yaml"))),
        *("--witness", f"@{root / 'w1' / 'witness.vkey'}", "--quorum", "1"),
        *("--witness-stale-after", str(STALE_AFTER_S), "--refresh", "0.5"),
    ]
    process = start_jembatan(
        "console-dashboard",
        [
            *("--home", home, "console", "--listen", "127.0.0.1:0", "--hub", stack.address),
            *("--member", stack.console_member(), *options),
        ],
    )
    yield Deployment(stack, f"http://{process.address}", witness, cosigner, since, process)
    process.stop()
    witness.stop()
    stack.hub.stop()
    stack.sim.stop()


async def _released(stack: Stack) -> None:
    """Two consented exchanges, released: not enough to flag anything."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        for _ in range(2):
            await employment_query(client, nik, token)


def _log_in(page: Page, console: str) -> None:
    page.goto(console + "/login")
    page.fill("#name", OFFICER)
    page.fill("#password", PASSWORD)
    page.locator("form[action='/login'] button").click()
    expect(page).to_have_url(console + "/")  # the dashboard is the landing page


def _reload_until(page: Page, url: str, selector: str, pattern: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url)
        found = page.locator(selector)
        if found.count() and re.search(pattern, found.first.inner_text()):
            return
        assert time.monotonic() < deadline, f"{selector} never matched {pattern!r}"
        time.sleep(0.5)


def _records(page: Page, card: str) -> list[int]:
    links = page.locator(f"{card} .behind a").all_inner_texts()
    return [int(text.lstrip("#")) for text in links]


def _shown(page: Page) -> list[int]:
    return sorted(int(t.lstrip("#")) for t in page.locator("#results tbody th a").all_inner_texts())


TEXTS = {
    "id": {
        "title": "Dasbor",
        "burst": ("Lonjakan penolakan untuk satu klien", "ditolak 4 kali dalam 10 menit"),
        "repeat": ("Satu warga dicari berulang kali", "sebanyak 3 kali dalam 1 hari"),
        "reason": "tidak ada persetujuan warga",
        "fresh": "Mutakhir",
        "stale": "Tertinggal",
        "show": "Tampilkan catatan-catatan ini di pencarian",
    },
    "en": {
        "title": "Dashboard",
        "burst": ("Burst of refusals for one client", "was refused 4 times within 10 minutes"),
        "repeat": ("One citizen looked up repeatedly", "3 times within 1 day"),
        "reason": "there was no citizen's consent",
        "fresh": "Up to date",
        "stale": "Stale",
        "show": "Show these records in the search",
    },
}


def _console_fails(stack: Stack, *options: str) -> str:
    """The one line a console started with ``options`` stops with (exit status 2)."""
    ran = subprocess.run(
        [
            *(sys.executable, "-m", "hub.cli", "--home", str(stack.home.root), "console"),
            *("--listen", "127.0.0.1:0", "--hub", stack.address, *options),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 2 and not ran.stdout, ran.stderr
    (line,) = ran.stderr.strip().splitlines()
    return line


def test_bad_thresholds_or_witness_options_stop_the_console_in_one_line(
    deployment: Deployment, tmp_path: Path
) -> None:
    stack = deployment.stack
    bad = tmp_path / "bad.yaml"
    bad.write_text("refusal_burst:\n  min_refusal: 3\n")
    line = _console_fails(stack, "--thresholds", str(bad))
    assert str(bad) in line and "min_refusal" in line, line
    line = _console_fails(stack, "--quorum", "1")
    assert "--quorum needs the witnesses' keys" in line, line
    key = deployment.cosigner.verifier_key()
    line = _console_fails(stack, "--witness", key, "--quorum", "2")
    assert "--quorum 2: cannot be met by 1" in line, line
    line = _console_fails(stack, "--witness", "not-a-key")
    assert line.startswith("jembatan: --witness:"), line


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_officer_sees_each_flag_explained_and_its_records(
    deployment: Deployment, browser: Browser, width: str, language: str
) -> None:
    words = TEXTS[language]
    stack, console = deployment.stack, deployment.console
    burst_records = indexes(stack, deployment.since, BURST)
    repeat_records = indexes(stack, deployment.since, REPEAT)
    assert len(burst_records) == 4 and len(repeat_records) == 3
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="id-ID")
    page = context.new_page()
    try:
        _log_in(page, console)
        if language == "en":
            page.get_by_role("link", name="English").click()
        expect(page.locator("h1")).to_have_text(words["title"])
        # The two flags, explained, first on the landing page.
        burst = page.locator("#flags article[data-code=refusal-burst]")
        expect(burst.locator("h3")).to_have_text(words["burst"][0])
        expect(burst).to_contain_text(words["burst"][1])
        expect(burst).to_contain_text(BURST)
        expect(burst).to_contain_text(words["reason"])  # the reason in plain words
        repeat = page.locator("#flags article[data-code=subject-repeated]")
        expect(repeat.locator("h3")).to_have_text(words["repeat"][0])
        expect(repeat).to_contain_text(words["repeat"][1])
        expect(page.locator("#flags article")).to_have_count(2)
        assert _records(page, "article[data-code=refusal-burst]") == burst_records
        assert _records(page, "article[data-code=subject-repeated]") == repeat_records
        # The figures: the refusals, by reason in plain words, leading to those refusals.
        reason = page.locator("#refusals-by-reason tr[data-reason=CONSENT_MISSING]")
        expect(reason).to_contain_text(words["reason"], ignore_case=True)
        expect(page.locator("#top-clients svg g.row title").first).to_contain_text(BURST)
        expect(page.locator("#agencies")).to_contain_text("ID/GOV/BPJSTK")
        # The witness, up to date.
        witness = page.locator(f"#witnesses tr[data-witness='{WITNESS}']")
        expect(witness).to_have_attribute("data-state", "fresh")
        expect(witness).to_contain_text(words["fresh"])
        expect(witness).to_contain_text("WIB")
        _check(page, f"dashboard-{language}-{width}")
        if DOC_SHOTS and language == "id":
            Path(DOC_SHOTS).mkdir(parents=True, exist_ok=True)
            shot = Path(DOC_SHOTS) / f"dashboard-{w}.png"
            # The whole page at 1366, the first screen on a phone: small files.
            page.screenshot(path=str(shot), full_page=w > 1000)

        # A reason's link: the refusals with that reason.
        reason.locator("a").click()
        expect(page).to_have_url(re.compile(r"/refusals\?reason=CONSENT_MISSING"))
        codes = page.locator("#results td[data-field=reason]").evaluate_all(
            "cells => cells.map(c => c.dataset.code)"
        )
        assert codes and set(codes) == {"CONSENT_MISSING"}

        # The anomalies page: each flag's search shows exactly the records behind it, and
        # each record link opens one of them.
        page.goto(console + "/anomalies")
        expect(page.locator("#flags article")).to_have_count(2)
        _check(page, f"anomalies-{language}-{width}")
        for code, expected in (
            ("refusal-burst", burst_records),
            ("subject-repeated", repeat_records),
        ):
            page.goto(console + "/anomalies")
            card = page.locator(f"article[data-code={code}]")
            card.get_by_role("link", name=words["show"]).click()
            expect(page).to_have_url(re.compile(r"/search\?"))
            assert _shown(page) == expected, code
        page.goto(console + "/anomalies")
        page.locator("article[data-code=refusal-burst] .behind a").first.click()
        expect(page).to_have_url(console + f"/record/{burst_records[0]}")
        expect(page.locator("#record")).to_contain_text(BURST)
    finally:
        context.close()


def test_a_stopped_witness_shows_stale_and_the_quorum_is_not_met(
    deployment: Deployment, browser: Browser
) -> None:
    console = deployment.console
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID")
    page = context.new_page()
    try:
        _log_in(page, console)
        # Running: the integrity page (one witness of one required) says verified.
        _reload_until(page, console + "/integrity", "#quorum[data-state=met]", "1")
        expect(page.locator("#consistency")).to_contain_text("Konsistensi terverifikasi")
        row = page.locator(f"#witness-table tr[data-witness='{WITNESS}']")
        expect(row).to_have_attribute("data-state", "fresh")
        _check(page, "integrity-witness-fresh")

        deployment.witness.stop()
        # Each page the console serves is itself logged, so the log grows and the hub signs
        # checkpoints the stopped witness never cosigns.
        stale = f"#witnesses tr[data-witness='{WITNESS}'][data-state=stale]"
        _reload_until(page, console + "/", stale, TEXTS["id"]["stale"])
        expect(page.locator("#integrity-tile")).to_contain_text("Kuorum saksi tidak terpenuhi")
        _check(page, "dashboard-witness-stale")

        page.goto(console + "/integrity")
        verdict = page.locator("#consistency")
        expect(verdict).to_contain_text("Tidak terverifikasi: kuorum saksi tidak terpenuhi")
        expect(verdict).not_to_contain_text("Konsistensi terverifikasi")
        expect(page.locator("#quorum")).to_have_attribute("data-state", "not-met")
        expect(page.locator("#quorum")).to_contain_text(WITNESS)
        _check(page, "integrity-witness-stale")
    finally:
        context.close()
