"""PostgreSQL engine: one database (or one schema of it) shared by several hub replicas.

What several replicas need from it, and how each is had:

- **One log.** The audit writer appends each batch in one transaction that first takes a
  transaction-level advisory lock (``pg_advisory_xact_lock``) and only then reads the log's
  size and the tree's right border. Whichever replica commits a batch is the sequencer for
  that batch: indices are never skipped, reused or lost, and a replica that dies mid-batch
  only rolls its own batch back (its lock goes with its transaction).
- **One replay window.** Nonces are claimed with one ``INSERT … ON CONFLICT`` before the
  query proceeds (``claim_nonce``), so a nonce used on one replica is a replay on all.
- **One registry.** Triggers bump ``registry_generation`` on every certificate or service
  change, so each replica's in-memory snapshot reloads on its next call (a revocation
  through one replica bites on the next call to any).
- **One checkpoint signer.** A session-level advisory lock (``pg_try_advisory_lock``),
  tried every interval on a connection of its own: when the signing replica dies its session
  ends, the lock is released, and another replica takes it on its next try.
- **Migrations** are versioned, applied in order in one transaction under an advisory lock
  and recorded in ``schema_version``, so replicas starting together apply each exactly once.

Advisory lock keys include a hash of the schema, so hubs in different schemas of one
database (the tests do that) never wait for each other. Every connection runs in
autocommit; multi-statement writes use explicit transactions. A connection the server has
dropped (a restart) fails the call in progress — fail closed — and is replaced on the next.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from hub.store.base import StoreError
from hub.store.sql import Cursor, SqlAuditWriter, SqlStore

log = logging.getLogger(__name__)

# First half of every advisory lock key: names Jembatan's locks; the second half is the
# schema's hash.
_MIGRATION_LOCK, _SEQUENCER_LOCK, _REGISTRY_LOCK, _SIGNER_LOCK = 74_601, 74_602, 74_603, 74_604
_CONNECT_TIMEOUT_S = 5
_LOCK_TIMEOUT_S = 5
_IDLE_IN_TRANSACTION_S = 30


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


# Times are RFC 3339 UTC text compared as text: COLLATE "C" keeps that byte order whatever
# the database's locale, as in SQLite.
_INITIAL_SCHEMA = """
CREATE TABLE member_certificates (
    serial TEXT COLLATE "C" PRIMARY KEY,
    member_id TEXT COLLATE "C" NOT NULL,
    cert_pem BYTEA NOT NULL,
    not_after TEXT COLLATE "C" NOT NULL,
    revoked_at TEXT COLLATE "C",
    revocation_reason TEXT
);
CREATE INDEX member_certificates_member ON member_certificates (member_id);
CREATE TABLE services (
    service_id TEXT COLLATE "C" PRIMARY KEY,
    agency_id TEXT COLLATE "C" NOT NULL,
    endpoint TEXT NOT NULL,
    catalogue TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE
);
-- subject is a keyed pseudonym and artefact_digest the SHA-256 of the signed artefact:
-- never the NIK, never the artefact.
CREATE TABLE consents (
    consent_id TEXT COLLATE "C" PRIMARY KEY,
    subject TEXT COLLATE "C" NOT NULL,
    grantee TEXT COLLATE "C" NOT NULL,
    purpose TEXT COLLATE "C" NOT NULL,
    purpose_text TEXT NOT NULL,
    requested TEXT NOT NULL,
    valid_for_s BIGINT NOT NULL,
    data_life_s BIGINT NOT NULL,
    requested_at TEXT COLLATE "C" NOT NULL,
    respond_by TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    granted TEXT NOT NULL DEFAULT '{}',
    artefact_digest TEXT COLLATE "C" NOT NULL DEFAULT '',
    decided_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    not_before TEXT COLLATE "C" NOT NULL DEFAULT '',
    expires_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    revoked_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_subject ON consents (subject);
CREATE TABLE consent_usage (
    consent_id TEXT COLLATE "C" PRIMARY KEY,
    uses BIGINT NOT NULL,
    last_used TEXT COLLATE "C" NOT NULL
);
CREATE TABLE nonces (
    issuer TEXT COLLATE "C" NOT NULL,
    nonce TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
CREATE INDEX nonces_expiry ON nonces (expires_at);
CREATE TABLE audit_log (
    idx BIGINT PRIMARY KEY,
    leaf_hash BYTEA NOT NULL,
    record BYTEA NOT NULL,
    time TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    service_id TEXT COLLATE "C" NOT NULL,
    decision TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL
);
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
-- Bumped by every change to certificates or services, from any replica, so each can keep
-- them in memory and still see a revocation on its very next call.
CREATE TABLE registry_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value BIGINT NOT NULL
);
INSERT INTO registry_generation VALUES (0, 0);
CREATE FUNCTION bump_registry_generation() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN UPDATE registry_generation SET value = value + 1; RETURN NULL; END $$;
CREATE TRIGGER certificates_changed AFTER INSERT OR UPDATE OR DELETE ON member_certificates
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE enrolments (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    member_id TEXT COLLATE "C" NOT NULL,
    roles TEXT NOT NULL,
    csr_pem BYTEA NOT NULL,
    submitter TEXT COLLATE "C" NOT NULL,
    submitted_at TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT ''
);
CREATE TABLE connector_registrations (
    registration_id TEXT COLLATE "C" PRIMARY KEY,
    agency_id TEXT COLLATE "C" NOT NULL,
    endpoint TEXT NOT NULL,
    services TEXT NOT NULL,
    submitted_at TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE service_catalogues (
    service_id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    catalogue TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (service_id, version)
);
"""

# Renewal chains (revoking a certificate revokes what was renewed from it; one successor
# each) and claims (who is deciding what: a decision is recorded before it is committed,
# and the claim keeps a second caller from recording a decision the first will make).
_RENEWALS_AND_CLAIMS = """
ALTER TABLE member_certificates ADD COLUMN renewed_from TEXT COLLATE "C";
CREATE UNIQUE INDEX member_certificates_renewed_from ON member_certificates (renewed_from);
CREATE TABLE claims (
    target TEXT COLLATE "C" PRIMARY KEY,
    token TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
"""

# The tree's nodes and the signed checkpoints are as append-only as the records they cover.
_APPEND_ONLY_TREE = """
CREATE TRIGGER audit_nodes_no_change BEFORE UPDATE OR DELETE ON audit_nodes
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""

# In order; a released migration is never edited, only followed by a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL_SCHEMA),
    Migration(2, "certificate renewal chains; claims", _RENEWALS_AND_CLAIMS),
    Migration(3, "append-only tree nodes and checkpoints", _APPEND_ONLY_TREE),
)


def is_dsn(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def describe(dsn: str) -> str:
    """host:port/database of ``dsn`` for messages: never its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise StoreError(f"not a PostgreSQL connection string: {exc}") from None
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _connect(dsn: str, role: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=_CONNECT_TIMEOUT_S,
            # Names the process, so an operator (or a test) can see which replica holds a lock.
            application_name=f"jembatan-{role}-{os.getpid()}",
            # A replica that vanishes without closing its socket must not hold the sequencing
            # lock (and every other replica's log) for the kernel's two-hour default.
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to PostgreSQL at {describe(dsn)}: {exc}") from exc


def _schema_key(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT current_schema(), hashtext(current_schema())").fetchone()
    if row is None or row[0] is None:
        raise StoreError("the connection's search_path names no schema that exists")
    return int(row[1])


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Bring the schema to the latest version; the version it is at. Safe when several
    replicas start at once: the advisory lock makes the others wait, then find it done."""
    key = _schema_key(conn)
    latest = MIGRATIONS[-1].version
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_MIGRATION_LOCK, key))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
            " description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        if current > latest:
            raise StoreError(
                f"database schema version {current} is newer than this hub knows ({latest})"
            )
        for migration in MIGRATIONS:
            if migration.version > current:
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                    (migration.version, migration.description),
                )
                log.info(
                    "schema migrated to version %d: %s", migration.version, migration.description
                )
    return latest


@functools.lru_cache(maxsize=1024)
def _pg(sql: str) -> str:
    """The shared SQL's ``?`` placeholders as psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


class AdvisoryLease:
    """A session-level advisory lock on a connection of its own (``Lease``): held while
    that session lives, so a replica that dies or loses its connection lets it go."""

    def __init__(self, dsn: str, key: int) -> None:
        self._dsn = dsn
        self._key = key
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False

    def held(self) -> bool:
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._held = False
                self._conn = _connect(self._dsn, "signer")
            if self._held:
                # The lock lives as long as the session: a live session still holds it.
                self._conn.execute("SELECT 1")
            else:
                row = self._conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (_SIGNER_LOCK, self._key)
                ).fetchone()
                self._held = bool(row and row[0])
                if self._held:
                    log.info("this replica now signs the scheduled checkpoints")
        except (psycopg.Error, StoreError) as exc:
            log.warning("checkpoint signer lease lost: %s", exc)
            self.close()
        return self._held

    def close(self) -> None:
        self._held = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PostgresDatabase:
    """One PostgreSQL session for the shared logic (``hub.store.sql.Database``),
    replaced when the server has dropped it."""

    json_clauses = {
        "purpose": "convert_from(record, 'UTF8')::jsonb ->> 'purpose' = ?",
        "on_behalf_of": "convert_from(record, 'UTF8')::jsonb ->> 'on_behalf_of' = ?",
        "break_glass": (
            "(convert_from(record, 'UTF8')::jsonb ->> 'break_glass')::boolean = (?::int = 1)"
        ),
    }
    count_uses_sql = (
        "INSERT INTO consent_usage AS u VALUES (?, ?, ?) ON CONFLICT (consent_id) DO UPDATE"
        " SET uses = u.uses + excluded.uses,"
        " last_used = GREATEST(u.last_used, excluded.last_used)"
    )
    shared = True

    def __init__(self, dsn: str, role: str) -> None:
        self._dsn = dsn
        self._role = role
        self._in_transaction = False
        self._conn = _connect(dsn, role)
        try:
            migrate(self._conn)
            self._key = _schema_key(self._conn)
            self._prepare(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        # Whatever the server's or role's defaults say:
        # - durable before acknowledged (a revocation too, not only the audit log);
        # - READ COMMITTED, so the size read after taking the sequencing lock sees the
        #   batches committed before it (a snapshot taken before the lock would be stale);
        # - a lock waited for, or a transaction left open, this long means a stuck replica:
        #   fail (closed) rather than stall every replica behind it.
        conn.execute("SET synchronous_commit = on")
        conn.execute("SET default_transaction_isolation = 'read committed'")
        conn.execute(f"SET lock_timeout = '{_LOCK_TIMEOUT_S}s'")
        conn.execute(f"SET idle_in_transaction_session_timeout = '{_IDLE_IN_TRANSACTION_S}s'")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn.closed or self._conn.broken:
            if self._in_transaction:
                # A new session would run the rest of the transaction outside it (and
                # outside its lock): fail the transaction instead.
                raise StoreError(f"lost the connection to {describe(self._dsn)} mid-transaction")
            conn = _connect(self._dsn, self._role)
            self._prepare(conn)
            self._conn = conn
            log.warning("reconnected to PostgreSQL at %s", describe(self._dsn))
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        conn = self._connection()
        try:
            return conn.execute(_pg(sql), params)
        except psycopg.OperationalError:
            # A read outside a transaction on a session the server dropped (a restart) is
            # tried once more on a new one; a write is not — it may have committed.
            if not (conn.broken and sql.startswith("SELECT") and not self._in_transaction):
                raise
            return self._connection().execute(_pg(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if batch:
            with self._connection().cursor() as cursor:
                cursor.executemany(_pg(sql), batch)

    @contextlib.contextmanager
    def _locked(self, lock: int) -> Iterator[None]:
        conn = self._connection()
        with conn.transaction():
            self._in_transaction = True
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (lock, self._key))
                yield
            finally:
                self._in_transaction = False

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        # Registry writes of several statements run one at a time across replicas, as
        # SQLite's BEGIN IMMEDIATE runs them, so read-then-write steps cannot interleave.
        return self._locked(_REGISTRY_LOCK)

    def sequencing(self) -> contextlib.AbstractContextManager[None]:
        return self._locked(_SEQUENCER_LOCK)

    def lease(self) -> AdvisoryLease:
        return AdvisoryLease(self._dsn, self._key)

    def close(self) -> None:
        self._conn.close()


class PostgresStore(SqlStore):
    """The hub's store (``HubStore``) in the PostgreSQL database named by ``dsn``."""

    def __init__(self, dsn: str) -> None:
        super().__init__(PostgresDatabase(dsn, "registry"))


class PostgresAuditWriter(SqlAuditWriter):
    """AuditWriter on PostgreSQL: a batch is committed (synchronous_commit on) before any
    exchange in it is answered; the sequencing lock makes one log of all replicas' batches."""

    def __init__(self, dsn: str) -> None:
        super().__init__(PostgresDatabase(dsn, "sequencer"))
