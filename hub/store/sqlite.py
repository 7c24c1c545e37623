"""SQLite engine: the embedded default, one file, zero set-up.

WAL mode lets the pipeline read while the audit sequencer writes. Connections run with
``synchronous=FULL`` so that a committed batch is on disk before any exchange in it is
answered. One hub process per file: the audit writer's ``BEGIN IMMEDIATE`` is its
sequencing lock, and the checkpoint signer's lease is always held.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from hub.store import schema
from hub.store.base import Lease, SoleLease, StoreError
from hub.store.sql import Cursor, SqlAuditWriter, SqlStore


def _connect(path: Path) -> sqlite3.Connection:
    # check_same_thread=False: each connection is still used by one thread at a time.
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    _write_ahead_log(conn)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


# Switching a new file to WAL takes an exclusive lock that SQLite does not wait for (no busy
# handler here): processes opening one new file at once retry, for at most ~5 s.
_WAL_RETRIES, _WAL_PAUSE_S = 250, 0.02


def _write_ahead_log(conn: sqlite3.Connection) -> None:
    for attempt in range(_WAL_RETRIES):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_RETRIES - 1:
                raise
            time.sleep(_WAL_PAUSE_S)


class SqliteDatabase:
    """One connection to the hub's SQLite file (``hub.store.sql.Database``)."""

    json_clauses = {
        "purpose": "json_extract(record, '$.purpose') = ?",
        "on_behalf_of": "json_extract(record, '$.on_behalf_of') = ?",
        "consent_id": "json_extract(record, '$.consent_id') = ?",
        "request_digest": "json_extract(record, '$.request_digest') = ?",
        # "1": break-glass only (JSON true reads back as the integer 1).
        "break_glass": "json_extract(record, '$.break_glass') = CAST(? AS INTEGER)",
        # Version 5's kinds (jembatan.audit.record.KINDS): which object, if any, is set.
        "kind": (
            "(CASE WHEN json_type(record, '$.review') = 'object' THEN 'break-glass-review'"
            " WHEN json_type(record, '$.officer_event') = 'object' THEN 'officer-event'"
            " ELSE 'call' END) = ?"
        ),
        "officer": "json_extract(record, '$.officer_event.officer') = ?",
        "officer_event": "json_extract(record, '$.officer_event.event') = ?",
        "reviewed_index": ("json_extract(record, '$.review.reviewed_index') = CAST(? AS INTEGER)"),
    }
    count_uses_sql = (
        "INSERT INTO consent_usage VALUES (?, ?, ?) ON CONFLICT (consent_id) DO UPDATE"
        " SET uses = uses + excluded.uses, last_used = max(last_used, excluded.last_used)"
    )
    shared = False
    # In-process: a call takes microseconds, less than handing it to a thread would.
    threads = 0
    dialect = schema.SQLITE

    def __init__(self, path: Path) -> None:
        self._conn = _connect(path)
        try:
            schema.upgrade(self)
        except BaseException:
            self._conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def script(self, sql: str) -> None:
        # Not executescript: it commits the transaction it is called in.
        statement = ""
        for part in sql.split(";"):
            statement += part + ";"
            if sqlite3.complete_statement(statement):
                self._conn.execute(statement)
                statement = ""
        if statement[:-1].strip():
            raise ValueError(f"incomplete SQL statement: {statement[:-1].strip()[:80]}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            # Also when COMMIT itself fails (disk full): a transaction left open would make
            # every later BEGIN fail and stall the sequencer for good.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def sequencing(self) -> contextlib.AbstractContextManager[None]:
        # BEGIN IMMEDIATE takes the file's write lock: nobody else appends meanwhile.
        return self.transaction()

    def migrating(self) -> contextlib.AbstractContextManager[None]:
        # The same write lock: a second process opening the file waits, then finds it done.
        return self.transaction()

    def batched(self) -> contextlib.AbstractContextManager[None]:
        # In the process: nothing to save.
        return contextlib.nullcontext()

    def lease(self) -> Lease:
        return SoleLease()

    def close(self) -> None:
        self._conn.close()


class SqliteRegistry(SqlStore):
    """The hub's store (``HubStore``) in the SQLite file at ``path``."""

    def __init__(self, path: Path) -> None:
        super().__init__(SqliteDatabase(path))


class SqliteAuditWriter(SqlAuditWriter):
    """AuditWriter on SQLite: one transaction per batch, fsynced before it returns."""

    def __init__(self, path: Path) -> None:
        super().__init__(SqliteDatabase(path))
        self.catch_up_tree()


def claim_sole_hub(database: Path) -> BinaryIO:
    """Hold, for as long as the returned file stays open, the claim to be the one hub
    process serving this SQLite file. Its replay guard lives in memory, so a second process
    on the same file (a restart overlapping the old one; gRPC would even share its port)
    would answer a request the first already answered. Several replicas share PostgreSQL."""
    claim = database.with_name(database.name + ".hub-lock").open("ab")
    try:
        fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        claim.close()
        raise StoreError(
            f"another hub process serves {database}: one process per SQLite home "
            "(several replicas need a PostgreSQL --database)"
        ) from None
    return claim
