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
- **Migrations** (``hub.store.schema``) are applied in order in one transaction under an
  advisory lock and recorded in ``schema_version``, so replicas starting together apply
  each exactly once.

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
from typing import Any

import psycopg

from hub.store import schema
from hub.store.base import StoreError
from hub.store.sql import Cursor, SqlAuditWriter, SqlStore

log = logging.getLogger(__name__)

# First half of every advisory lock key: names Jembatan's locks; the second half is the
# schema's hash.
_MIGRATION_LOCK, _SEQUENCER_LOCK, _REGISTRY_LOCK, _SIGNER_LOCK = 74_601, 74_602, 74_603, 74_604
_CONNECT_TIMEOUT_S = 5
_LOCK_TIMEOUT_S = 5
_IDLE_IN_TRANSACTION_S = 30


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
        # Unlock before closing: the server frees a closed session's locks only when its
        # backend has exited, a moment later, and until then no other replica could sign.
        if self._held and self._conn is not None and not self._conn.broken:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_SIGNER_LOCK, self._key))
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
        "consent_id": "convert_from(record, 'UTF8')::jsonb ->> 'consent_id' = ?",
        "request_digest": "convert_from(record, 'UTF8')::jsonb ->> 'request_digest' = ?",
        "break_glass": (
            "(convert_from(record, 'UTF8')::jsonb ->> 'break_glass')::boolean = (?::int = 1)"
        ),
        # Version 5's kinds (jembatan.audit.record.KINDS): which object, if any, is set.
        "kind": (
            "(SELECT CASE WHEN jsonb_typeof(r -> 'review') = 'object' THEN 'break-glass-review'"
            " WHEN jsonb_typeof(r -> 'officer_event') = 'object' THEN 'officer-event'"
            " ELSE 'call' END FROM (SELECT convert_from(record, 'UTF8')::jsonb AS r) AS j) = ?"
        ),
        "officer": "convert_from(record, 'UTF8')::jsonb #>> '{officer_event,officer}' = ?",
        "officer_event": "convert_from(record, 'UTF8')::jsonb #>> '{officer_event,event}' = ?",
        "reviewed_index": (
            "(convert_from(record, 'UTF8')::jsonb #>> '{review,reviewed_index}')::bigint"
            " = ?::bigint"
        ),
    }
    count_uses_sql = (
        "INSERT INTO consent_usage AS u VALUES (?, ?, ?) ON CONFLICT (consent_id) DO UPDATE"
        " SET uses = u.uses + excluded.uses,"
        " last_used = GREATEST(u.last_used, excluded.last_used)"
    )
    shared = True
    dialect = schema.POSTGRESQL

    def __init__(self, dsn: str, role: str) -> None:
        self._dsn = dsn
        self._role = role
        self._in_transaction = False
        self._conn = _connect(dsn, role)
        try:
            self._key = _schema_key(self._conn)
            # Before the session's settings: a replica waits for another's migration as long
            # as it takes, not lock_timeout.
            schema.upgrade(self)
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

    def script(self, sql: str) -> None:
        # Without parameters psycopg sends it as one simple query, statements and all.
        self._connection().execute(sql.encode())

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

    def migrating(self) -> contextlib.AbstractContextManager[None]:
        return self._locked(_MIGRATION_LOCK)

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
