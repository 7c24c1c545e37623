"""The officers' web console as a real process against the real hub: nothing without a login,
and in a real headless Chromium an officer logs in, searches, opens a record whose inclusion
proof the console verified, and sees the log's consistency verified. Every call the console
makes for an officer is recorded in the hub's log under that officer's name."""

from __future__ import annotations

import asyncio
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from consent.artefact import sign_subject_token
from hub.console.officers import officers_file
from hub.dev.processes import start_jembatan
from hub.home import CONSENT_MANAGER_ID
from jembatan.client import QueryRefused
from jembatan.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2
from tests.stack import Stack, employment_body, employment_query

SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
JUSTIFICATION = "Banjir di Lateng: pemohon mengungsi ke balai desa, tidak dapat dihubungi"
OFFICER, PASSWORD = "siti", "kemiren-lateng-2026!"
# A second officer on the same console, and so behind the same certificate.
COLLEAGUE, COLLEAGUE_PASSWORD = "budi.santoso", "glagah-olehsari-2026"
CHROMIUM = Path("/usr/bin/chromium")
# DESIGN.md, "Browser tests": Debian's chromium, not Playwright's own download.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
    member = ["--member", stack.console_member()]
    process = start_jembatan(
        "console",
        ["--home", home, "console", "--listen", "127.0.0.1:0", "--hub", stack.address, *member],
    )
    yield f"http://{process.address}"
    process.stop()


def test_officer_passwords_are_salted_scrypt_hashes_readable_by_the_owner_only(
    stack: Stack, console: str
) -> None:
    path = officers_file(stack.home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PASSWORD not in path.read_text()


async def test_without_a_login_there_is_nothing(stack: Stack, console: str) -> None:
    # unsafe=True: aiohttp's jar otherwise ignores cookies from an IP address host.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for path in ("/", "/record/0", "/integrity", "/refusals", "/break-glass", "/no-such-page"):
            async with http.get(console + path, allow_redirects=False) as response:
                body = await response.text()
            assert (response.status, response.headers["Location"]) == (303, "/login"), path
            assert "ID/GOV" not in body and "RELEASED" not in body, path
        async with http.post(console + "/", data={"decision": "RELEASED"}) as response:
            body = await response.text()
        assert "ID/GOV" not in body and "Officer login" in body

        # A wrong password and an unknown officer get the same answer, and no session.
        answers = []
        for name, password in ((OFFICER, "not-the-password"), ("nobody", PASSWORD)):
            data = {"name": name, "password": password}
            async with http.post(console + "/login", data=data) as response:
                answers.append((response.status, await response.text()))
        assert answers[0] == answers[1] and answers[0][0] == 401
        assert "Wrong officer name or password." in answers[0][1]
        assert not http.cookie_jar.filter_cookies(console)  # type: ignore[arg-type]
        async with http.get(console + "/integrity", allow_redirects=False) as response:
            assert response.status == 303

        # Logged in: what is typed is escaped, and a NIK is searched for but never echoed.
        nik = stack.people.employed
        data = {"name": OFFICER, "password": PASSWORD}
        async with http.post(console + "/login", data=data) as response:
            assert response.status == 200
        search = {"client_id": "<b>x</b>", "subject": nik}
        async with http.post(console + "/", data=search) as response:
            body = await response.text()
            headers = response.headers
        assert response.status == 200 and "No records match." in body
        assert "&lt;b&gt;x&lt;/b&gt;" in body and "<b>x</b>" not in body
        assert nik not in body and "subject: (searched by NIK)" in body
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none'
        assert headers["Cache-Control"] == "no-store"
        async with http.get(console + "/record/99999999") as response:
            assert response.status == 404


def _consistency(page: Page, console: str) -> tuple[int, int]:
    """Reload /integrity until the console has seen the log grow (the hub signs a checkpoint
    every second while it grows), so the proof checked is not the trivial one."""
    deadline = time.monotonic() + 30
    while True:
        page.goto(console + "/integrity")
        text = page.locator("#consistency").inner_text()
        match = re.search(r"consistency verified from checkpoint of size (\d+) to size (\d+)", text)
        assert match, text
        old, new = int(match.group(1)), int(match.group(2))
        if old < new or time.monotonic() > deadline:
            return old, new
        time.sleep(0.3)


async def test_guessing_a_password_is_cut_off_before_the_password_is_checked(
    console: str,
) -> None:
    guesser = "officer-under-attack"
    statuses = []
    async with aiohttp.ClientSession() as http:
        for attempt in range(7):
            data = {"name": guesser, "password": f"guess-{attempt}"}
            async with http.post(console + "/login", data=data) as response:
                statuses.append((response.status, await response.text()))
    assert [status for status, _ in statuses] == [401] * 5 + [429] * 2
    assert "Too many failed logins" in statuses[-1][1]


def test_an_officer_searches_and_sees_proofs_verified_in_a_real_browser(
    stack: Stack, console: str
) -> None:
    # Failing, not skipping: the test set-up installs chromium (Makefile).
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(console + "/")
            expect(page).to_have_url(console + "/login")
            page.fill("#name", OFFICER)
            page.fill("#password", PASSWORD)
            page.click("button:text('log in')")
            expect(page).to_have_url(console + "/")
            (cookie,) = page.context.cookies()
            assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")

            page.select_option("#decision", "RELEASED")
            page.click("button:text('search')")
            rows = page.locator("#results tr")
            expect(rows.nth(1)).to_be_visible()
            decisions = page.locator("#results tr td:nth-child(8)").all_inner_texts()
            assert decisions and set(decisions) == {"RELEASED"}

            rows.nth(1).locator("a").click()
            expect(page).to_have_url(re.compile(r"/record/\d+$"))
            expect(page.locator("#proof")).to_contain_text(
                re.compile(r"inclusion proof verified against checkpoint of size \d+")
            )
            expect(page.locator("#record")).to_contain_text("RELEASED")

            old, new = _consistency(page, console)
            assert 0 < old < new

            page.goto(console + "/refusals")
            expect(page.locator("#results")).to_be_visible()
            decisions = page.locator("#results tr td:nth-child(8)").all_inner_texts()
            assert decisions and set(decisions) == {"REFUSED"}

            page.goto(console + "/break-glass")
            table = page.locator("#results")
            expect(table).to_contain_text(JUSTIFICATION)
            expect(table).to_contain_text(SUPERVISOR)
            expect(table).to_contain_text("vital-interest")

            # The console's own calls in the log, each under the officer it made it for.
            page.goto(console + "/")
            page.fill("#client_id", stack.console_member())
            page.fill("#service_id", "jembatan.v1.Audit/GetRecord")
            page.click("button:text('search')")
            officers = page.locator("#results tr td:nth-child(4)").all_inner_texts()
            assert OFFICER in officers, officers
            page.locator("#results tr", has_text=OFFICER).first.locator("a").click()
            expect(page.locator("#record tr", has_text="on_behalf_of")).to_contain_text(OFFICER)

            page.click("button:text('log out')")
            expect(page).to_have_url(console + "/login")
            page.goto(console + "/integrity")
            expect(page).to_have_url(console + "/login")
        finally:
            browser.close()


async def _logged_in(console: str, name: str, password: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(console + "/login", data={"name": name, "password": password}) as r:
        assert r.status == 200, await r.text()
    return http


async def test_the_hubs_log_names_the_officer_behind_each_console_call(
    stack: Stack, console: str
) -> None:
    # A citizen no other test looks up as an officer (tests/integration counts those).
    citizen = stack.people.unregistered
    before = stack.log_size()
    async with await _logged_in(console, OFFICER, PASSWORD) as siti:
        async with siti.post(console + "/", data={"subject": citizen}) as response:
            assert response.status == 200
        async with siti.get(console + "/record/1") as response:
            assert response.status == 200
            page = await response.text()
    budi = await _logged_in(console, COLLEAGUE, COLLEAGUE_PASSWORD)
    async with budi, budi.get(console + "/record/2") as response:
        assert response.status == 200
    assert "<th>on_behalf_of</th>" in page  # the record page shows the field

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
