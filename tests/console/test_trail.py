"""The officers' own trail through a real console process and the real hub: a login, a
failed login, a logout and a lockout each leave a record in the hub's audit log (not just a
line on the console's stderr) naming the officer — or the name tried, when it may be kept —
and the browser's address, never the password; and the console finds them again by officer
and by event."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import aiohttp
import pytest

from hub.console.reader import LogReader
from hub.console.trail import OfficerTrail
from hub.dev.processes import start_jembatan
from jembatan.audit.record import OFFICER_EVENT_KIND, AuditRecord, OfficerEvent
from tests.stack import Stack

OFFICER, PASSWORD = "dewi.lestari", "ijen-kawah-biru-2026"
LOCALHOST = "127.0.0.1"


@pytest.fixture(scope="module")
def console(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    password_file = tmp_path_factory.mktemp("officer") / "password"
    password_file.write_text(PASSWORD + "\n")
    home = str(stack.home.root)
    add = ["console", "add-officer", OFFICER, "--password-file", str(password_file)]
    subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", home, *add],
        check=True,
        capture_output=True,
    )
    member = ["--member", stack.console_member()]
    process = start_jembatan(
        "console",
        ["--home", home, "console", "--listen", "127.0.0.1:0", "--hub", stack.address, *member],
    )
    yield f"http://{process.address}"
    process.stop()


def _events(stack: Stack, since: int) -> list[OfficerEvent]:
    return [r.officer_event for r in stack.records(since) if r.officer_event is not None]


async def _login(http: aiohttp.ClientSession, console: str, name: str, password: str) -> int:
    data = {"name": name, "password": password}
    async with http.post(console + "/login", data=data, allow_redirects=False) as response:
        return response.status


async def test_login_failed_login_and_logout_are_recorded_in_the_log(
    stack: Stack, console: str
) -> None:
    before = stack.log_size()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        assert await _login(http, console, OFFICER, "not-my-password") == 401
        assert await _login(http, console, OFFICER, PASSWORD) == 303
        async with http.post(console + "/logout", allow_redirects=False) as response:
            assert response.status == 303
    assert _events(stack, before) == [
        OfficerEvent("login-failed", OFFICER, LOCALHOST),
        OfficerEvent("login", OFFICER, LOCALHOST),
        OfficerEvent("logout", OFFICER, LOCALHOST),
    ]
    assert PASSWORD.encode() not in stack.stored_bytes()
    assert b"not-my-password" not in stack.stored_bytes()


async def test_a_name_tried_that_may_not_be_kept_is_withheld(stack: Stack, console: str) -> None:
    """What is typed into the name box may be a NIK, or a password typed into the wrong box:
    only a name of the officer-name form is kept; the failure is recorded all the same."""
    nik = stack.people.employed
    before = stack.log_size()
    async with aiohttp.ClientSession() as http:
        for name in (nik, "K4w@h Ijen!", "ok.name"):
            assert await _login(http, console, name, "whatever-it-was") == 401
    assert _events(stack, before) == [
        OfficerEvent("login-failed", "", LOCALHOST),
        OfficerEvent("login-failed", "", LOCALHOST),
        OfficerEvent("login-failed", "ok.name", LOCALHOST),
    ]
    stored = stack.stored_bytes()
    assert nik.encode() not in stored and b"K4w@h Ijen!" not in stored


async def test_a_lockout_is_recorded_once_and_found_by_officer_and_event(
    stack: Stack, console: str
) -> None:
    target = "officer-under-siege"
    before = stack.log_size()
    async with aiohttp.ClientSession() as http:
        statuses = [await _login(http, console, target, f"guess-{n}") for n in range(7)]
    assert statuses == [401] * 5 + [429] * 2
    events = _events(stack, before)
    # Five failures, the lockout the fifth began; the refused attempts after it are not
    # checked, and not recorded one by one.
    assert [e.event for e in events] == ["login-failed"] * 5 + ["lockout"]
    assert events[-1] == OfficerEvent(
        "lockout", target, LOCALHOST, "too many failed logins for this name"
    )

    # As the console's pages read them: by officer, and by event, in log order.
    reader = LogReader(stack.home, stack.address, stack.home.member_dir(stack.console_member()))
    try:
        trail = OfficerTrail(reader)
        theirs = await trail.events(OFFICER, officer=target)
        lockouts = await trail.events(OFFICER, event="lockout", after_index=before)
        # An export is recorded before it is handed over; one whose description could
        # carry a NIK is not recorded, and the caller is told so (it must not export).
        exported = stack.log_size()
        assert await trail.export(OFFICER, LOCALHOST, "CSV, 3 records, decision REFUSED")
        assert not await trail.export(OFFICER, LOCALHOST, f"CSV about {stack.people.employed}")
    finally:
        await reader.close()
    assert _events(stack, exported) == [
        OfficerEvent("export", OFFICER, LOCALHOST, "CSV, 3 records, decision REFUSED")
    ]
    assert stack.people.employed.encode() not in stack.stored_bytes()
    records = [AuditRecord.from_json(e.record_json) for e in theirs.entries]
    assert all(r.kind == OFFICER_EVENT_KIND for r in records)
    assert [r.officer_event.event for r in records if r.officer_event] == ["login-failed"] * 5 + [
        "lockout"
    ]
    (lockout,) = lockouts.entries
    assert AuditRecord.from_json(lockout.record_json).officer_event == events[-1]
    # The search itself is recorded under the officer who looked.
    (search,) = [r for r in stack.records(lockout.index) if r.service_id.endswith("/Search")][-1:]
    assert search.on_behalf_of == OFFICER


async def test_a_login_the_hub_cannot_record_is_refused(stack: Stack, console: str) -> None:
    with stack.audit_broken():
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            status = await _login(http, console, OFFICER, PASSWORD)
            assert not http.cookie_jar.filter_cookies(console)  # type: ignore[arg-type]
    assert status == 503
