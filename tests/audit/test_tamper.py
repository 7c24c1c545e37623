"""Tampering with stored audit records is detected and the first bad record named — by the
independent verifier (`jembatan audit verify`, export + checkpoint + verifier key) and by
the hub's own check (`jembatan audit check`). Real processes, a real log."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store.sqlite import SqliteAuditWriter
from jembatan.client import QueryRefused
from tests.stack import employment_query, start_stack

RECORDS = 12


def jembatan(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A hub home whose log holds RECORDS records (the consent's grant, then exchanges), the
    hub stopped, a checkpoint signed."""
    root = tmp_path_factory.mktemp("pristine")
    stack = start_stack(root / "home")

    async def exchanges() -> None:
        # Releases and refusals alike: every third query carries no consent.
        nik = stack.people.employed
        token = ""
        async with stack.client() as client:
            for i in range(RECORDS - 1):
                if i == 1:  # the consent's grant is itself one of the records
                    token, _ = stack.consent(nik)
                with contextlib.suppress(QueryRefused):
                    await employment_query(client, nik, token if i % 3 else "")

    try:
        asyncio.run(exchanges())
    finally:
        stack.hub.stop()
        stack.sim.stop()
    home = root / "home"
    assert (
        jembatan(home, "audit", "checkpoint", "--out", str(root / "trusted.checkpoint")).returncode
        == 0
    )
    yield root


def _copy(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine / "home", tmp_path / "home")
    return tmp_path / "home"


def _tamper(home: Path, *statements: str) -> None:
    """What an attacker with write access to the database does: triggers are no obstacle."""
    with sqlite3.connect(home / "hub.db") as conn:
        for trigger in ("no_update", "no_delete"):
            for table in ("audit_log", "audit_nodes", "checkpoints"):
                conn.execute(f"DROP TRIGGER {table}_{trigger}")
        for statement in statements:
            conn.execute(statement)


def _verify(home: Path, pristine: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    export = home.parent / "export.jsonl"
    exported = jembatan(home, "audit", "export", "--out", str(export))
    assert exported.returncode == 0, exported.stderr
    return jembatan(
        home,
        "audit",
        "verify",
        str(export),
        "--checkpoint",
        str(pristine / "trusted.checkpoint"),
        "--key",
        f"@{home / 'hub' / 'log.vkey'}",
        *extra,
    )


def test_an_untouched_log_verifies_both_ways(pristine: Path, tmp_path: Path) -> None:
    home = _copy(pristine, tmp_path)
    verified = _verify(home, pristine)
    assert verified.returncode == 0, verified.stderr
    assert f"✓ {RECORDS} records verified" in verified.stdout
    checked = jembatan(home, "audit", "check")
    assert checked.returncode == 0, checked.stderr
    assert f"intact: {RECORDS} records" in checked.stdout


SWAP_2_3 = (
    "UPDATE audit_log SET idx = -1 WHERE idx = 2",
    "UPDATE audit_log SET idx = 2 WHERE idx = 3",
    "UPDATE audit_log SET idx = 3 WHERE idx = -1",
)
TAMPERS: dict[str, tuple[tuple[str, ...], str]] = {
    "changed": (
        ("UPDATE audit_log SET record = replace(record, 'RELEASED', 'REFUSED') WHERE idx = 5",),
        "record 5: changed",
    ),
    "deleted": (("DELETE FROM audit_log WHERE idx = 5",), "record 5: deleted"),
    "inserted": (
        (
            *(
                f"UPDATE audit_log SET idx = idx + 1 WHERE idx = {i}"
                for i in range(RECORDS - 1, 6, -1)
            ),
            "INSERT INTO audit_log SELECT 7, leaf_hash, record, time, client_id, service_id,"
            " decision, reason, subject FROM audit_log WHERE idx = 0",
        ),
        "record 7: changed, inserted or moved",
    ),
    "reordered": (SWAP_2_3, "record 2: changed, inserted or moved"),
    "truncated": (
        (
            f"DELETE FROM audit_log WHERE idx >= {RECORDS - 3}",
            f"DELETE FROM audit_nodes WHERE level = 0 AND idx >= {RECORDS - 3}",
        ),
        f"truncated: {RECORDS - 3} records exported",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERS))
def test_tampering_is_detected_and_the_first_bad_record_named(
    kind: str, pristine: Path, tmp_path: Path
) -> None:
    statements, message = TAMPERS[kind]
    home = _copy(pristine, tmp_path)
    _tamper(home, *statements)
    verified = _verify(home, pristine)
    assert verified.returncode == 1
    assert message in verified.stderr, verified.stderr
    assert verified.stderr.count("\n") == 1
    checked = jembatan(home, "audit", "check")
    assert checked.returncode == 1, checked.stdout


def test_a_forked_tree_head_is_detected(pristine: Path, tmp_path: Path) -> None:
    """A hub that rewrites its history and signs a new head is caught by anyone holding an
    earlier checkpoint: the new tree does not extend the old one."""
    home = _copy(pristine, tmp_path)
    earlier = pristine / "trusted.checkpoint"
    _tamper(
        home,
        "UPDATE audit_log SET record = replace(record, 'REFUSED', 'RELEASED') WHERE idx = 0",
        "DELETE FROM audit_nodes",
        "DELETE FROM checkpoints",
    )
    with sqlite3.connect(home / "hub.db") as conn:
        conn.execute(
            "UPDATE audit_log SET leaf_hash = (SELECT leaf_hash FROM audit_log WHERE idx = 0)"
            " WHERE idx = 0"
        )
    _rehash_leaves(home)
    SqliteAuditWriter(home / "hub.db").close()  # rebuilds the tree over the rewritten leaves
    fork = home.parent / "fork.checkpoint"
    assert jembatan(home, "audit", "checkpoint", "--out", str(fork)).returncode == 0
    export = home.parent / "export.jsonl"
    assert jembatan(home, "audit", "export", "--out", str(export)).returncode == 0
    key = f"@{home / 'hub' / 'log.vkey'}"
    alone = jembatan(home, "audit", "verify", str(export), "--checkpoint", str(fork), "--key", key)
    assert alone.returncode == 0  # self-consistent: only history shows the fork
    forked = jembatan(
        home,
        "audit",
        "verify",
        str(export),
        "--checkpoint",
        str(fork),
        "--key",
        key,
        "--earlier",
        str(earlier),
    )
    assert forked.returncode == 1 and "fork" in forked.stderr, forked.stderr


def _rehash_leaves(home: Path) -> None:
    from jembatan.audit.record import leaf_hash

    with sqlite3.connect(home / "hub.db") as conn:
        rows = conn.execute("SELECT idx, record FROM audit_log").fetchall()
        conn.executemany(
            "UPDATE audit_log SET leaf_hash = ? WHERE idx = ?",
            [
                (leaf_hash(record.encode() if isinstance(record, str) else record), idx)
                for idx, record in rows
            ],
        )
