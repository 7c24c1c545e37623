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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from hub.store.base import Lease, SoleLease, StoreError
from hub.store.sql import Cursor, SqlAuditWriter, SqlStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS member_certificates (
    serial TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    cert_pem BLOB NOT NULL,
    not_after TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    renewed_from TEXT
);
CREATE INDEX IF NOT EXISTS member_certificates_member ON member_certificates(member_id);
CREATE TABLE IF NOT EXISTS services (
    service_id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    catalogue TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
-- One row per consent from request to its end. subject is a keyed pseudonym and
-- artefact_digest the SHA-256 of the signed artefact: never the NIK, never the artefact.
-- Times are RFC 3339 UTC with whole seconds, so text order is time order.
CREATE TABLE IF NOT EXISTS consents (
    consent_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    grantee TEXT NOT NULL,
    purpose TEXT NOT NULL,
    purpose_text TEXT NOT NULL,
    requested TEXT NOT NULL,
    valid_for_s INTEGER NOT NULL,
    data_life_s INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    respond_by TEXT NOT NULL,
    status TEXT NOT NULL,
    granted TEXT NOT NULL DEFAULT '{}',
    artefact_digest TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    not_before TEXT NOT NULL DEFAULT '',
    expires_at TEXT NOT NULL DEFAULT '',
    revoked_at TEXT NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS consents_subject ON consents(subject);
-- Written by the audit writer in the batch that records the released exchanges.
CREATE TABLE IF NOT EXISTS consent_usage (
    consent_id TEXT PRIMARY KEY,
    uses INTEGER NOT NULL,
    last_used TEXT NOT NULL
);
-- Who is deciding what right now (an enrolment, a consent, a certificate's renewal): a
-- decision is recorded in the audit log before it is committed, and the claim keeps a
-- second caller from recording a decision the first one will make.
CREATE TABLE IF NOT EXISTS claims (
    target TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    issuer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
-- Pruning deletes by expiry inside the sequencer's write transaction: no full scan there.
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);
CREATE TABLE IF NOT EXISTS audit_log (
    idx INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    record BLOB NOT NULL,
    time TEXT NOT NULL,
    client_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    subject TEXT NOT NULL
);
-- The Merkle tree's complete nodes (hub.audit.tree): node (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level); written with the batch whose leaves complete it.
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
-- Bumped by every change to certificates or services, so a hub can keep them in memory and
-- still see a revocation on its very next call (one cheap read instead of several lookups).
CREATE TABLE IF NOT EXISTS registry_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO registry_generation VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS certificates_insert AFTER INSERT ON member_certificates
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS certificates_update AFTER UPDATE ON member_certificates
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS certificates_delete AFTER DELETE ON member_certificates
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS services_insert AFTER INSERT ON services
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS services_update AFTER UPDATE ON services
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS services_delete AFTER DELETE ON services
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
-- Enrolments and connector registrations wait here for an administrator's decision.
CREATE TABLE IF NOT EXISTS enrolments (
    request_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    csr_pem BLOB NOT NULL,
    submitter TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS connector_registrations (
    registration_id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    services TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL DEFAULT '{}'
);
-- Every catalogue a service has had; the services table holds the current one.
CREATE TABLE IF NOT EXISTS service_catalogues (
    service_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    catalogue TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (service_id, version)
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


# After the columns added since a file was first made (``_add_missing_columns``).
_INDEXES = """
-- One successor each: a certificate is renewed at most once.
CREATE UNIQUE INDEX IF NOT EXISTS member_certificates_renewed_from
    ON member_certificates(renewed_from);
"""
# Columns added to tables after their first release: (table, column, declaration).
_ADDED_COLUMNS = (("member_certificates", "renewed_from", "TEXT"),)


def _connect(path: Path) -> sqlite3.Connection:
    # check_same_thread=False: each connection is still used by one thread at a time.
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def initialise(path: Path) -> None:
    conn = _connect(path)
    try:
        conn.executescript(_SCHEMA)
        _add_missing_columns(conn)
        conn.executescript(_INDEXES)
    finally:
        conn.close()


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """CREATE TABLE IF NOT EXISTS leaves a file made by an older hub as it was: give its
    tables the columns added since (SQLite files are not versioned, PostgreSQL's are)."""
    for table, column, declaration in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column in present:
            continue
        try:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError as exc:
            # Another process opening the same file added it first.
            if "duplicate column" not in str(exc):
                raise


class SqliteDatabase:
    """One connection to the hub's SQLite file (``hub.store.sql.Database``)."""

    json_clauses = {
        "purpose": "json_extract(record, '$.purpose') = ?",
        "on_behalf_of": "json_extract(record, '$.on_behalf_of') = ?",
        # "1": break-glass only (JSON true reads back as the integer 1).
        "break_glass": "json_extract(record, '$.break_glass') = CAST(? AS INTEGER)",
    }
    count_uses_sql = (
        "INSERT INTO consent_usage VALUES (?, ?, ?) ON CONFLICT (consent_id) DO UPDATE"
        " SET uses = uses + excluded.uses, last_used = max(last_used, excluded.last_used)"
    )
    shared = False

    def __init__(self, path: Path) -> None:
        initialise(path)
        self._conn = _connect(path)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

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
