"""The console's integrity anchor across restarts, against a real hub whose log is rolled
back the way an operator with the database (and the log key) could: an older copy of the
database restored under the same key. The console remembers the last checkpoint it
verified on disk, so after a restart the smaller log is an alarm, not "verified" — and so is
the same log grown again past the anchor (a fork), and an anchor file someone edited. The
honest case: a restart proves the grown log consistent with the checkpoint kept from the
previous run."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc

from hub.console.anchor import AlarmKind, anchor_file
from hub.console.officers import add_officer
from hub.console.reader import Consistency, LogReader
from hub.dev import devstack
from hub.dev.processes import RunningProcess, start_jembatan
from hub.home import HubHome
from hub.provisioning import enrol
from hub.store import open_store
from jembatan.audit.checkpoint import verify_checkpoint
from jembatan.v1 import audit_pb2, audit_pb2_grpc

CONSOLE_ID = "ID/GOV/BSSN/console"
OFFICER, PASSWORD = "dewi.lestari", "ijen-kawah-biru-2026"


async def _grow(home: HubHome, hub: RunningProcess, records: int) -> int:
    """Append ``records`` records (the console's own searches, each recorded) and have the
    hub sign a checkpoint covering them; the checkpoint's size."""
    member = home.member_dir(CONSOLE_ID)
    credentials = grpc.ssl_channel_credentials(
        home.ca_cert.read_bytes(),
        (member / "key.pem").read_bytes(),
        (member / "cert.pem").read_bytes(),
    )
    async with grpc.aio.secure_channel(hub.address, credentials) as channel:
        audit = audit_pb2_grpc.AuditStub(channel)
        for _ in range(records):
            await audit.Search(audit_pb2.SearchRequest(limit=1))
        store = open_store(home)
        try:
            size = store.size()
        finally:
            store.close()
        signed = await audit.GetCheckpoint(audit_pb2.GetCheckpointRequest(min_size=size))
        return int(signed.size)


async def _check(home: HubHome, hub: RunningProcess) -> Consistency:
    """What a console starting now (a fresh process's reader on the same home) finds."""
    reader = LogReader(home, hub.address, home.member_dir(CONSOLE_ID))
    try:
        return await reader.checkpoint()
    finally:
        await reader.close()


def _anchored_size(home: HubHome) -> int:
    note = anchor_file(home).read_text()
    return verify_checkpoint(note, home.log_verifier_key.read_text().strip()).size


@contextlib.contextmanager
def _console(home: HubHome, hub: RunningProcess, log: Path) -> Iterator[str]:
    with log.open("w") as stderr:
        process = start_jembatan(
            "console",
            [
                "--home",
                str(home.root),
                "console",
                "--listen",
                "127.0.0.1:0",
                "--hub",
                hub.address,
                "--member",
                CONSOLE_ID,
            ],
            stderr=stderr,
        )
        try:
            yield f"http://{process.address}"
        finally:
            process.stop()


async def _integrity_page(console: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"name": OFFICER, "password": PASSWORD}
        async with http.post(console + "/login", data=login) as response:
            assert response.status == 200, await response.text()
        async with http.get(console + "/integrity") as response:
            return await response.text()


def _backup(database: Path, copy: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(database)) as live,
        contextlib.closing(sqlite3.connect(copy)) as out,
    ):
        live.backup(out)


def test_a_log_rolled_back_or_forked_across_restarts_is_an_alarm_never_verified(
    tmp_path: Path,
) -> None:
    home = devstack.prepare_home(tmp_path / "hub")
    enrol(home, CONSOLE_ID, roles=["auditor", "console"])
    add_officer(home, OFFICER, PASSWORD)
    hub = devstack.start_hub(home)
    try:
        early = asyncio.run(_grow(home, hub, 5))
        _backup(home.database, tmp_path / "early.db")

        # First start: nothing anchored yet, so the hub's checkpoint is trusted and kept.
        first = asyncio.run(_check(home, hub))
        assert first.failure is None and _anchored_size(home) == first.latest.size >= early
        # Written whole through a private temporary file, renamed into place: none is left.
        assert stat.S_IMODE(anchor_file(home).stat().st_mode) == 0o600
        assert [p.name for p in anchor_file(home).parent.iterdir() if "anchor" in p.name] == [
            "anchor.checkpoint"
        ]

        # Honest growth: the next start proves the new checkpoint from the one kept.
        grown = asyncio.run(_grow(home, hub, 8))
        honest = asyncio.run(_check(home, hub))
        assert honest.failure is None and honest.alarm is None
        assert (honest.previous.size, honest.latest.size) == (first.latest.size, grown)
        with _console(home, hub, tmp_path / "console-1.log") as console:
            page = asyncio.run(_integrity_page(console))
        assert 'id="consistency"' in page and "Konsistensi terverifikasi" in page
        anchored = _anchored_size(home)
        assert anchored >= grown > first.latest.size
        kept = anchor_file(home).read_bytes()

        # Roll back: the early copy of the database under the same key, the hub restarted.
        hub.stop()
        for leftover in home.root.glob("hub.db-*"):
            leftover.unlink()
        shutil.copy(tmp_path / "early.db", home.database)
        hub = devstack.start_hub(home)
        shrunk = asyncio.run(_check(home, hub))
        assert shrunk.alarm is not None and shrunk.alarm.kind is AlarmKind.SHRANK
        assert shrunk.latest.size < anchored and shrunk.previous.size == anchored
        assert f"shrank from {anchored} to {shrunk.latest.size}" in (shrunk.failure or "")
        with _console(home, hub, tmp_path / "console-2.log") as console:
            page = asyncio.run(_integrity_page(console))
        assert "Konsistensi terverifikasi" not in page and 'data-alarm="shrank"' in page
        assert "Log menyusut" in page
        assert "log integrity alarm (shrank)" in (tmp_path / "console-2.log").read_text()
        assert anchor_file(home).read_bytes() == kept  # the alarm is not "fixed" by moving on

        # The rolled-back log grows past the anchor: other records at the same indices.
        asyncio.run(_grow(home, hub, anchored - shrunk.latest.size + 3))
        forked = asyncio.run(_check(home, hub))
        assert forked.alarm is not None and forked.alarm.kind is AlarmKind.FORKED
        assert forked.latest.size > anchored and "consistency verified" not in str(forked)
        assert anchor_file(home).read_bytes() == kept

        # An anchor edited on disk (a smaller size, to hide the rollback) does not verify.
        lines = kept.decode().split("\n")
        lines[1] = str(shrunk.latest.size)
        anchor_file(home).write_text("\n".join(lines))
        tampered = asyncio.run(_check(home, hub))
        assert tampered.alarm is not None and tampered.alarm.kind is AlarmKind.ANCHOR_INVALID
        assert tampered.failure and "does not verify" in tampered.failure
    finally:
        hub.stop()
