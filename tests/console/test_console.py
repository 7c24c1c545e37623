"""The officers' web console as a real process against the real hub: nothing without a login,
and in a real headless Chromium an officer logs in, searches, opens a record whose inclusion
proof the console verified, and sees the log's consistency verified — every page in
Indonesian and in English, at 1366 and at 390 pixels wide, clean under axe-core. Every call
the console makes for an officer is recorded in the hub's log under that officer's name."""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from consent.artefact import sign_subject_token
from hub.console.officers import officers_file
from hub.dev.processes import start_jembatan
from hub.home import CONSENT_MANAGER_ID
from jembatan.client import QueryRefused
from jembatan.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2
from tests.chromium import AXE, CHROMIUM, CHROMIUM_ARGS
from tests.console.proxy import PROXY_SOURCE, TlsProxy
from tests.stack import Stack, employment_body, employment_query

SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
JUSTIFICATION = "Banjir di Lateng: pemohon mengungsi ke balai desa, tidak dapat dihubungi"
OFFICER, PASSWORD = "siti", "kemiren-lateng-2026!"
# A second officer on the same console, and so behind the same certificate.
COLLEAGUE, COLLEAGUE_PASSWORD = "budi.santoso", "glagah-olehsari-2026"
AXE_SOURCE = AXE.read_text() if AXE.exists() else ""
WIDTHS = {"wide": (1366, 768), "phone": (390, 844)}
# Screenshots of every page at both widths, for people to look at (.gitignored).
SHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", Path(__file__).parent / "screenshots"))


async def _exchanges(stack: Stack) -> None:
    """One released and one refused exchange about the same citizen, and a break-glass one
    countersigned by a supervisor."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    stack.member(SUPERVISOR, roles=["approver"])
    async with stack.client() as client, stack.client(SUPERVISOR) as supervisor:
        await employment_query(client, nik, token)
        with pytest.raises(QueryRefused, match="CONSENT_MISSING"):  # logged all the same
            await employment_query(client, nik, "")
        basis = exchange_pb2.LegalBasis(reference=LAW, justification=JUSTIFICATION)
        body = employment_body(
            client, nik, fields=["employment_status"], purpose="bansos-emergency", legal_basis=basis
        )
        await client.send(supervisor.approve(client.sign(body)))


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    asyncio.run(_exchanges(stack))
    home = str(stack.home.root)
    for name, password in ((OFFICER, PASSWORD), (COLLEAGUE, COLLEAGUE_PASSWORD)):
        password_file = tmp_path_factory.mktemp("officer") / "password"
        password_file.write_text(password + "\n")
        add = ["console", "add-officer", name, "--password-file", str(password_file)]
        subprocess.run(
            [sys.executable, "-m", "hub.cli", "--home", home, *add],
            check=True,
            capture_output=True,
        )
    # Its own member, with the auditor and console roles: it names each officer to the hub.
    # The TLS-terminating proxy below connects from PROXY_SOURCE, the only trusted peer:
    # the tests' own requests, from 127.0.0.1, are an untrusted peer's.
    member = ["--member", stack.console_member(), "--trusted-proxy", PROXY_SOURCE]
    process = start_jembatan(
        "console",
        ["--home", home, "console", "--listen", "127.0.0.1:0", "--hub", stack.address, *member],
    )
    yield f"http://{process.address}"
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Failing, not skipping: the test set-up installs chromium and axe-core (Makefile).
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: apt-get install chromium"
    assert AXE.exists(), f"{AXE} missing: make test installs tests/node's npm modules"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_officer_passwords_are_salted_scrypt_hashes_readable_by_the_owner_only(
    stack: Stack, console: str
) -> None:
    path = officers_file(stack.home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in path.read_text()


def test_without_a_login_there_is_nothing(stack: Stack, console: str) -> None:
    _run(_without_a_login_there_is_nothing(stack, console))


async def _without_a_login_there_is_nothing(stack: Stack, console: str) -> None:
    # unsafe=True: aiohttp's jar otherwise ignores cookies from an IP address host.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        paths = ("/", "/anomalies", "/search", "/record/0", "/integrity", "/refusals", "/x")
        for path in paths:
            async with http.get(console + path, allow_redirects=False) as response:
                body = await response.text()
            assert (response.status, response.headers["Location"]) == (303, "/login"), path
            assert "ID/GOV" not in body and "RELEASED" not in body, path
        async with http.post(console + "/search", data={"decision": "RELEASED"}) as response:
            body = await response.text()
        assert "ID/GOV" not in body and "Masuk petugas" in body

        # A wrong password and an unknown officer get the same answer, and no session.
        answers = []
        for name, password in ((OFFICER, "not-the-password"), ("nobody", PASSWORD)):
            data = {"name": name, "password": password}
            async with http.post(console + "/login", data=data) as response:
                answers.append((response.status, await response.text()))
        assert answers[0] == answers[1] and answers[0][0] == 401
        assert "Nama petugas atau kata sandi salah." in answers[0][1]
        assert not http.cookie_jar.filter_cookies(console)  # type: ignore[arg-type]
        async with http.get(console + "/integrity", allow_redirects=False) as response:
            assert response.status == 303

        # Logged in: what is typed is escaped, and a NIK is searched for but never echoed,
        # nor put in the URL: it is exchanged for a token the URL carries instead.
        nik = stack.people.employed
        data = {"name": OFFICER, "password": PASSWORD}
        async with http.post(console + "/login", data=data) as response:
            assert response.status == 200
        search = {"client_id": "<b>x</b>", "subject": nik}
        async with http.post(console + "/search", data=search, allow_redirects=False) as posted:
            location = posted.headers["Location"]
        assert posted.status == 303 and nik not in location
        assert parse_qs(urlsplit(location).query)["client_id"] == ["<b>x</b>"]
        async with http.get(console + location) as response:
            body = await response.text()
            headers = response.headers
        assert response.status == 200 and "Tidak ada catatan yang cocok." in body
        assert "&lt;b&gt;x&lt;/b&gt;" in body and "<b>x</b>" not in body
        assert nik not in body and "Hasil ini untuk NIK yang Anda ketik" in body
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe" not in csp
        assert headers["Cache-Control"] == "no-store"
        async with http.get(console + "/record/99999999") as response:
            assert response.status == 404
            assert "Catatan itu tidak ada di hub." in await response.text()

        # A NIK typed into another field is refused, not put in a URL.
        async with http.post(
            console + "/search", data={"purpose": nik}, allow_redirects=False
        ) as response:
            assert response.status == 400 and "Location" not in response.headers
            assert "NIK hanya boleh diketik di kolom NIK." in await response.text()
        async with http.get(console + "/search", params={"client_id": nik}) as response:
            assert response.status == 400

    # The token is good for the officer who typed the NIK only.
    async with await _logged_in(console, COLLEAGUE, COLLEAGUE_PASSWORD) as budi:
        async with budi.get(console + location) as response:
            body = await response.text()
        assert response.status == 410 and "Pencarian NIK ini sudah kedaluwarsa" in body


def test_guessing_a_password_is_cut_off_before_the_password_is_checked(
    console: str,
) -> None:
    _run(_guessing_a_password_is_cut_off_before_the_password_is_checked(console))


async def _guessing_a_password_is_cut_off_before_the_password_is_checked(
    console: str,
) -> None:
    guesser = "officer-under-attack"
    statuses = []
    async with aiohttp.ClientSession(headers={"Accept-Language": "en-GB,en;q=0.9"}) as http:
        for attempt in range(7):
            data = {"name": guesser, "password": f"guess-{attempt}"}
            async with http.post(console + "/login", data=data) as response:
                statuses.append((response.status, await response.text()))
    assert [status for status, _ in statuses] == [401] * 5 + [429] * 2
    # Accept-Language asked for English.
    assert "Too many failed logins" in statuses[-1][1]


def _log_in(page: Page, console: str, name: str = OFFICER, password: str = PASSWORD) -> None:
    page.goto(console + "/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.locator("form[action='/login'] button").click()
    expect(page).to_have_url(console + "/")  # the dashboard is the landing page
    page.goto(console + "/search")


def _check(page: Page, name: str) -> None:
    """What every page must be: no serious or critical axe-core violation, no horizontal
    overflow at its width, and a screenshot for people to look at."""
    # Evaluated, not added as a <script> tag: the console's CSP (rightly) refuses inline
    # script, and the pages are tested under that CSP, not with it bypassed.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document)")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{name}: {bad}"
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: {overflow} px of horizontal overflow"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _consistency(page: Page, console: str) -> tuple[int, int]:
    """Reload /integrity until the console has seen the log grow (the hub signs a checkpoint
    every second while it grows), so the proof checked is not the trivial one."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(console + "/integrity")
        text = page.locator("#consistency").inner_text()
        match = re.search(r"log of (\d+) records extends the log of (\d+) records", text)
        assert match, text
        new, old = int(match.group(1)), int(match.group(2))
        if old < new or time.monotonic() > deadline:
            return old, new
        time.sleep(0.3)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_in_indonesian_at_both_widths(
    console: str, browser: Browser, width: str
) -> None:
    """The default language: what an officer must see, in Indonesian, on every page."""
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="id-ID")
    page = context.new_page()
    try:
        page.goto(console + "/")
        expect(page).to_have_url(console + "/login")
        expect(page.locator("h1")).to_have_text("Masuk petugas")
        _check(page, f"login-id-{width}")
        _log_in(page, console)
        (cookie,) = [c for c in context.cookies() if c["name"] == "jembatan_console"]
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Strict", False)

        # The search page lists the latest records, newest first, times in WIB.
        indices = [
            int(t.lstrip("#")) for t in page.locator("#results tbody th a").all_inner_texts()
        ]
        assert indices == sorted(indices, reverse=True) and indices
        expect(page.locator("#results tbody td[data-field=time]").first).to_contain_text("WIB")
        _check(page, f"search-id-{width}")

        page.goto(console + "/refusals")
        expect(page.locator("h1")).to_have_text("Penolakan")
        codes = page.locator("#results td[data-field=decision]").evaluate_all(
            "cells => cells.map(c => c.dataset.code)"
        )
        assert codes and set(codes) == {"REFUSED"}
        # The reason in plain words, its code beside it.
        refused = page.locator("#results tr", has_text="CONSENT_MISSING").first
        expect(refused).to_contain_text("Tidak ada persetujuan warga untuk permintaan ini.")
        expect(refused).to_contain_text("Ditolak")
        _check(page, f"refusals-id-{width}")

        refused.locator("th a").click()
        expect(page).to_have_url(re.compile(r"/record/\d+$"))
        expect(page.locator("#proof")).to_contain_text("Bukti inklusi terverifikasi")
        expect(page.locator("#reason")).to_contain_text("Tidak ada persetujuan warga")
        expect(page.locator("#check")).to_contain_text("Yang perlu diperiksa:")
        expect(page.locator("#record")).to_contain_text("Persetujuan")
        _check(page, f"record-id-{width}")

        page.goto(console + "/break-glass")
        table = page.locator("#results")
        expect(table).to_contain_text(JUSTIFICATION)
        expect(table).to_contain_text(SUPERVISOR)
        expect(table).to_contain_text("vital-interest")
        _check(page, f"break-glass-id-{width}")

        page.goto(console + "/integrity")
        expect(page.locator("#consistency")).to_contain_text("Konsistensi terverifikasi")
        expect(page.locator("#signature")).to_contain_text("Tanda tangan terverifikasi")
        _check(page, f"integrity-id-{width}")

        page.goto(console + "/record/99999999")
        expect(page.locator("[role=alert]")).to_contain_text("Catatan itu tidak ada di hub.")
        _check(page, f"error-id-{width}")
    finally:
        context.close()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_in_english_when_chosen(
    stack: Stack, console: str, browser: Browser, width: str
) -> None:
    """English, chosen with the language switch (and kept: a cookie); the same checks."""
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="id-ID")
    page = context.new_page()
    try:
        page.goto(console + "/login")
        page.get_by_role("link", name="English").click()
        expect(page.locator("h1")).to_have_text("Officer login")
        _check(page, f"login-en-{width}")
        page.fill("#name", OFFICER)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("h1")).to_have_text("Dashboard")
        page.goto(console + "/search")
        expect(page.locator("h1")).to_have_text("Search the exchange log")

        page.select_option("#decision", "RELEASED")
        page.get_by_role("button", name="Search", exact=True).click()
        codes = page.locator("#results td[data-field=decision]").evaluate_all(
            "cells => cells.map(c => c.dataset.code)"
        )
        assert codes and set(codes) == {"RELEASED"}
        expect(page.locator("#results td[data-field=decision]").first).to_have_text("Released")
        _check(page, f"search-en-{width}")

        page.locator("#results tbody th a").first.click()
        expect(page.locator("#proof")).to_contain_text("Inclusion proof verified")
        expect(page.locator("#proof")).to_contain_text(
            re.compile(r"in the signed log of \d+ records")
        )
        _check(page, f"record-en-{width}")

        page.goto(console + "/refusals")
        expect(page.locator("#results")).to_contain_text(
            "There was no citizen's consent for this request."
        )
        _check(page, f"refusals-en-{width}")
        page.goto(console + "/break-glass")
        expect(page.locator("#results")).to_contain_text(JUSTIFICATION)
        _check(page, f"break-glass-en-{width}")

        old, new = _consistency(page, console)
        assert 0 < old < new
        _check(page, f"integrity-en-{width}")

        # Back to Indonesian with the switch, on the same page.
        page.get_by_role("link", name="Bahasa Indonesia").click()
        expect(page.locator("h1")).to_have_text("Keutuhan log")
        page.get_by_role("button", name="Keluar").click()
        expect(page).to_have_url(console + "/login")
        page.goto(console + "/integrity")
        expect(page).to_have_url(console + "/login")
    finally:
        context.close()


def test_an_investigation_pivots_and_goes_back_and_forward_without_resubmitting(
    stack: Stack, console: str, browser: Browser
) -> None:
    """Search by NIK → a record → a pivot → Back, Back, Forward: every step is a GET, so
    Chromium never asks to resubmit a form; the NIK is in no URL of the history."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    nik = stack.people.employed
    try:
        _log_in(page, console)
        page.fill("#subject", nik)
        page.fill("#purpose", "bansos-eligibility")
        page.get_by_role("button", name="Cari", exact=True).click()
        expect(page).to_have_url(re.compile(r"/search\?.*t="))
        results_url = page.url
        assert nik not in results_url
        rows = page.locator("#results tbody tr")
        expect(rows.first).to_be_visible()
        pseudonym = page.locator("#results td[data-field=subject]").first.inner_text()

        rows.first.locator("th a").click()
        expect(page).to_have_url(re.compile(r"/record/\d+$"))
        record_url = page.url
        # A full value, not cut, with a copy button (the script shows it).
        subject = page.locator("#record tr", has_text="subject")
        expect(subject.locator("code")).to_have_text(pseudonym)
        expect(subject.locator("button.copy")).to_be_visible()

        # The pivot: every record about the same subject, by its pseudonym.
        subject.get_by_role("link", name="Catatan lain dengan nilai ini").click()
        expect(page).to_have_url(re.compile(r"/search\?pseudonym="))
        subjects = set(page.locator("#results td[data-field=subject]").all_inner_texts())
        assert subjects == {pseudonym}

        page.go_back()
        expect(page).to_have_url(record_url)
        expect(page.locator("#proof")).to_contain_text("Bukti inklusi terverifikasi")
        page.go_back()
        expect(page).to_have_url(results_url)
        expect(page.locator("#results")).to_be_visible()
        page.go_forward()
        expect(page).to_have_url(record_url)
        assert dialogs == []
        history = page.evaluate("() => performance.getEntriesByType('navigation')[0].type")
        assert history == "back_forward"
        assert all(nik not in url for url in (results_url, record_url, page.url))
    finally:
        context.close()


def test_paging_newest_first_with_previous_and_next(console: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        _log_in(page, console)
        # Enough records for two pages: each search the console makes is itself recorded.
        for n in range(55):
            assert context.request.get(console + f"/search?purpose=paging-{n}").ok
        page.goto(console + "/search")
        first = page.locator("#results tbody th a").all_inner_texts()
        assert len(first) == 50, "the stack's log holds more than a page"
        page.locator("#older").click()
        second = page.locator("#results tbody th a").all_inner_texts()
        assert second and int(second[0].lstrip("#")) < int(first[-1].lstrip("#"))
        page.locator("#newer").click()
        assert page.locator("#results tbody th a").all_inner_texts() == first
    finally:
        context.close()


def test_behind_a_tls_terminating_proxy_login_works_and_cookies_are_secure(
    console: str, browser: Browser
) -> None:
    """The officer's browser speaks HTTPS to the proxy, which forwards plain HTTP from the
    trusted address: the console sees the scheme the browser used, so the login form's
    Origin matches and the session cookie is Secure."""
    with TlsProxy(console) as proxy:
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        try:
            page.goto(proxy.url + "/login")
            page.fill("#name", OFFICER)
            page.fill("#password", PASSWORD)
            page.locator("form[action='/login'] button").click()
            expect(page).to_have_url(proxy.url + "/")
            (cookie,) = [c for c in context.cookies() if c["name"] == "jembatan_console"]
            assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (
                True,
                True,
                "Strict",
            )
            expect(page.locator("#flags")).to_be_visible()
        finally:
            context.close()
        assert proxy.forwarded > 0


def test_from_an_untrusted_peer_forwarded_headers_are_ignored(console: str) -> None:
    _run(_from_an_untrusted_peer_forwarded_headers_are_ignored(console))


async def _from_an_untrusted_peer_forwarded_headers_are_ignored(console: str) -> None:
    """The same headers straight from 127.0.0.1, which is not the trusted proxy: the scheme
    stays http, so an https Origin is refused and the cookie is not marked Secure."""
    forged = {"X-Forwarded-Proto": "https", "Forwarded": "proto=https"}
    host = urlsplit(console).netloc
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        data = {"name": OFFICER, "password": PASSWORD}
        headers = {**forged, "Origin": f"https://{host}"}
        async with http.post(
            console + "/login", data=data, headers=headers, allow_redirects=False
        ) as response:
            assert response.status == 403
        headers = {**forged, "Origin": f"http://{host}"}
        async with http.post(
            console + "/login", data=data, headers=headers, allow_redirects=False
        ) as response:
            assert response.status == 303
            cookie = response.cookies["jembatan_console"]
        assert not cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"
        assert "Strict-Transport-Security" not in response.headers


def _run(coro: Coroutine[None, None, None]) -> None:
    """An aiohttp check, on its own event loop in another thread: the module's Playwright
    browser keeps its loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _logged_in(console: str, name: str, password: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    data = {"name": name, "password": password}
    # Not following the redirect: the landing page's own search would be in the log too.
    async with http.post(console + "/login", data=data, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return http


def test_the_hubs_log_names_the_officer_behind_each_console_call(
    stack: Stack, console: str
) -> None:
    _run(_the_hubs_log_names_the_officer_behind_each_console_call(stack, console))


async def _the_hubs_log_names_the_officer_behind_each_console_call(
    stack: Stack, console: str
) -> None:
    # A citizen no other test looks up as an officer (tests/integration counts those).
    citizen = stack.people.unregistered
    before = stack.log_size()
    async with await _logged_in(console, OFFICER, PASSWORD) as siti:
        async with siti.post(console + "/search", data={"subject": citizen}) as response:
            assert response.status == 200
        async with siti.get(console + "/record/1") as response:
            assert response.status == 200
            page = await response.text()
    budi = await _logged_in(console, COLLEAGUE, COLLEAGUE_PASSWORD)
    async with budi, budi.get(console + "/record/2") as response:
        assert response.status == 200
    assert '<small class="code">on_behalf_of</small>' in page  # the record page shows it

    calls = [
        (r.service_id.removeprefix("jembatan.v1.Audit/"), r.on_behalf_of, r.decision)
        for r in stack.records(before)
        if r.client_id == stack.console_member() and r.officer_event is None
    ]
    # Their logins are in the log too, as the console's own reports (tests/console/test_trail.py).
    logins = [r.officer_event for r in stack.records(before) if r.officer_event]
    assert [(e.event, e.officer) for e in logins] == [("login", OFFICER), ("login", COLLEAGUE)]
    # Both officers' views, told apart; every recorded call names one of them.
    assert calls == [
        ("Search", OFFICER, "RELEASED"),
        ("GetRecord", OFFICER, "RELEASED"),
        ("GetRecord", COLLEAGUE, "RELEASED"),
    ]

    # The citizen sees which officer looked them up, through the consent manager's portal.
    async with stack.channel(CONSENT_MANAGER_ID) as channel:
        token = sign_subject_token(citizen, stack.consent_key, issuer=CONSENT_MANAGER_ID)
        mine = await audit_pb2_grpc.AuditStub(channel).CitizenAccesses(
            audit_pb2.CitizenAccessesRequest(subject_token=token)
        )
    assert (stack.console_member(), "audit", OFFICER) in {
        (a.client_id, a.purpose, a.on_behalf_of) for a in mine.accesses
    }


def test_a_console_whose_certificate_cannot_vouch_for_officers_will_not_start(
    stack: Stack,
) -> None:
    """An auditor certificate without the console role: every officer's call would be
    refused, so the console says why in one line and stops."""
    home = ["--home", str(stack.home.root)]
    args = ["console", "--listen", "127.0.0.1:0", "--hub", stack.address]
    ran = subprocess.run(
        [sys.executable, "-m", "hub.cli", *home, *args, "--member", stack.auditor()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 2 and not ran.stdout
    (line,) = ran.stderr.strip().splitlines()
    assert "lacks the console role" in line and "--role console" in line, line


def test_the_console_serves_https_itself_with_its_own_certificate(stack: Stack) -> None:
    """--tls-cert/--tls-key: HTTPS straight to the browser, cookies Secure, HSTS sent."""
    member_dir = stack.home.member_dir(stack.console_member())
    tls = ["--tls-cert", str(member_dir / "cert.pem"), "--tls-key", str(member_dir / "key.pem")]
    process = start_jembatan(
        "console-tls",
        [
            *("--home", str(stack.home.root), "console", "--listen", "127.0.0.1:0"),
            *("--hub", stack.address, "--member", stack.console_member(), *tls),
        ],
    )
    try:
        _run(_https_login(f"https://{process.address}", stack.home.ca_cert))
    finally:
        process.stop()


async def _https_login(console: str, ca: Path) -> None:
    # The hub CA signed the console's certificate; the test dials an address it does not name.
    trust = ssl.create_default_context(cafile=str(ca))
    trust.check_hostname = False
    connector = aiohttp.TCPConnector(ssl=trust)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
        data = {"name": OFFICER, "password": PASSWORD}
        async with http.post(console + "/login", data=data, allow_redirects=False) as response:
            assert response.status == 303
            cookie = response.cookies["jembatan_console"]
            assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Strict"
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
