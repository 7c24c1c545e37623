"""The officers' web console as a real process against the real hub: nothing without a login,
and in a real headless Chromium an officer logs in, searches, opens a record whose inclusion
proof the console verified, and sees the log's consistency verified."""

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

from hub.client import QueryRefused
from hub.console.officers import officers_file
from hub.processes import start_jembatan
from jembatan.v1 import exchange_pb2
from tests.stack import EMPLOYMENT_SERVICE, Stack, employment_query

SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
JUSTIFICATION = "Banjir di Lateng: pemohon mengungsi ke balai desa, tidak dapat dihubungi"
OFFICER, PASSWORD = "siti", "kemiren-lateng-2026!"
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
        body = client.body(
            service_id=EMPLOYMENT_SERVICE,
            subject=nik,
            purpose="bansos-emergency",
            fields=["employment_status"],
            legal_basis=exchange_pb2.LegalBasis(reference=LAW, justification=JUSTIFICATION),
        )
        await client.send(supervisor.approve(client.sign(body)))


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    asyncio.run(_exchanges(stack))
    stack.auditor()
    password_file = tmp_path_factory.mktemp("officer") / "password"
    password_file.write_text(PASSWORD + "\n")
    home = str(stack.home.root)
    add = ["console", "add-officer", OFFICER, "--password-file", str(password_file)]
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", home, *add],
        check=True,
        capture_output=True,
    )
    member = ["--member", stack.auditor()]
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
    deadline = time.monotonic() + 5
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


def test_an_officer_searches_and_sees_proofs_verified_in_a_real_browser(console: str) -> None:
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
            decisions = page.locator("#results tr td:nth-child(7)").all_inner_texts()
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
            decisions = page.locator("#results tr td:nth-child(7)").all_inner_texts()
            assert decisions and set(decisions) == {"REFUSED"}

            page.goto(console + "/break-glass")
            table = page.locator("#results")
            expect(table).to_contain_text(JUSTIFICATION)
            expect(table).to_contain_text(SUPERVISOR)
            expect(table).to_contain_text("vital-interest")

            page.click("button:text('log out')")
            expect(page).to_have_url(console + "/login")
            page.goto(console + "/integrity")
            expect(page).to_have_url(console + "/login")
        finally:
            browser.close()
