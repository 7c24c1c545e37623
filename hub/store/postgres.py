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
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.store import schema
from hub.store.base import StoreError
from hub.store.offloop import OPERATIONS_THREADS
from hub.store.sql import Cursor, SqlAuditWriter, SqlStore

log = logging.getLogger(__name__)

# First half of every advisory lock key: names Jembatan's locks; the second half is the
# schema's hash.
_MIGRATION_LOCK, _SEQUENCER_LOCK, _REGISTRY_LOCK, _SIGNER_LOCK = 74_601, 74_602, 74_603, 74_604
_CONNECT_TIMEOUT_S = 5
_LOCK_TIMEOUT_S = 5
_IDLE_IN_TRANSACTION_S = 30
# Sessions (and worker threads) of one hub's store, beyond the sequencer's own session:
# storage calls of 8 queries wait on the server at once, and 2 sessions are kept for the
# hub's own operations (hub.store.offloop.lanes). The hot path's statements take well under
# a millisecond, so a few keep up with every query one process can drive.
_SESSIONS = 8 + OPERATIONS_THREADS


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
        return psycopg.connect(dsn, **_connect_kwargs(role))
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
        # Asked from worker threads: a round still running when the lease is closed (the
        # hub stopping) must not share its session with the close.
        self._lock = threading.Lock()

    def held(self) -> bool:
        with self._lock:
            return self._try()

    def _try(self) -> bool:
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
            self._close()
        return self._held

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        # Unlock before closing: the server frees a closed session's locks only when its
        # backend has exited, a moment later, and until then no other replica could sign.
        if self._held and self._conn is not None and not self._conn.broken:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (_SIGNER_LOCK, self._key))
        self._held = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Rows:
    """A statement's result, read whole before its connection goes back to the pool (a
    ``Cursor`` for the shared logic)."""

    __slots__ = ("_next", "_rows", "rowcount")

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self.rowcount = cursor.rowcount
        self._rows: list[Any] = cursor.fetchall() if cursor.description is not None else []
        self._next = 0

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def _connect_kwargs(role: str) -> dict[str, Any]:
    return {
        "autocommit": True,
        "connect_timeout": _CONNECT_TIMEOUT_S,
        # Names the process, so an operator (or a test) can see which replica holds a lock.
        "application_name": f"jembatan-{role}-{os.getpid()}",
        # A replica that vanishes without closing its socket must not hold the sequencing
        # lock (and every other replica's log) for the kernel's two-hour default.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


class PostgresDatabase:
    """PostgreSQL sessions for the shared logic (``hub.store.sql.Database``): a pool of
    ``sessions``, so calls from several threads at once each run on a session of their own.
    A transaction keeps the one session it began on (the thread's) until it ends; a session
    the server has dropped is discarded by the pool and replaced."""

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

    def __init__(self, dsn: str, role: str, sessions: int = 1) -> None:
        self._dsn = dsn
        self._role = role
        self.threads = sessions
        # The session a transaction runs on, per thread (None: outside a transaction).
        self._local = threading.local()
        conn = _connect(dsn, role)
        try:
            self._key = _schema_key(conn)
            # On a session of its own, before the pool's settings: a replica waits for
            # another's migration as long as it takes, not lock_timeout.
            self._local.conn = conn
            schema.upgrade(self)
        finally:
            self._local.conn = None
            conn.close()
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            dsn,
            kwargs=_connect_kwargs(role),
            min_size=1,
            max_size=sessions,
            configure=self._prepare,
            name=f"jembatan-{role}",
            # Waiting this long for a session means the server is away: fail (closed).
            timeout=_CONNECT_TIMEOUT_S,
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreError(f"cannot connect to PostgreSQL at {describe(dsn)}: {exc}") from exc

    @staticmethod
    def _prepare(conn: psycopg.Connection[Any]) -> None:
        # Whatever the server's or role's defaults say:
        # - durable before acknowledged (a revocation too, not only the audit log);
        # - READ COMMITTED, so the size read after taking the sequencing lock sees the
        #   batches committed before it (a snapshot taken before the lock would be stale);
        # - a lock waited for, or a transaction left open, this long means a stuck replica:
        #   fail (closed) rather than stall every replica behind it.
        conn.execute(
            "SET synchronous_commit = on;"
            " SET default_transaction_isolation = 'read committed';"
            f" SET lock_timeout = '{_LOCK_TIMEOUT_S}s';"
            f" SET idle_in_transaction_session_timeout = '{_IDLE_IN_TRANSACTION_S}s'"
        )

    def _in_transaction(self) -> psycopg.Connection[Any] | None:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        return conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        pinned = self._in_transaction()
        if pinned is not None:
            # A lost session fails the transaction: a new one would run the rest of it
            # outside it (and outside its lock).
            return _Rows(pinned.execute(_pg(sql), params))
        try:
            with self._pool.connection() as conn:
                return _Rows(conn.execute(_pg(sql), params))
        except psycopg.OperationalError as exc:
            # A read outside a transaction on a session the server dropped (a restart) is
            # tried once more on a sound one; a write is not — it may have committed.
            if isinstance(exc, PoolTimeout) or not sql.startswith("SELECT"):
                raise
            # Every idle session may have been dropped with it: the pool checks them all.
            self._pool.check()
            with self._pool.connection() as conn:
                return _Rows(conn.execute(_pg(sql), params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if not batch:
            return
        pinned = self._in_transaction()
        with contextlib.ExitStack() as stack:
            conn = pinned or stack.enter_context(self._pool.connection())
            with conn.cursor() as cursor:
                cursor.executemany(_pg(sql), batch)

    def script(self, sql: str) -> None:
        # Without parameters psycopg sends it as one simple query, statements and all.
        pinned = self._in_transaction()
        with contextlib.ExitStack() as stack:
            conn = pinned or stack.enter_context(self._pool.connection())
            conn.execute(sql.encode())

    @contextlib.contextmanager
    def _locked(self, lock: int) -> Iterator[None]:
        if self._in_transaction() is not None:
            raise StoreError("a transaction within a transaction")
        with self._pool.connection() as conn:
            try:
                # BEGIN and the lock in one round trip: one simple query of two statements
                # (the keys are integers of ours, not input).
                conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({lock:d}, {self._key:d})")
                self._local.conn = conn
                yield
            except BaseException:
                # Not on a session the server dropped: its transaction went with it.
                if not conn.broken:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("ROLLBACK")
                raise
            else:
                # A COMMIT that fails raises here: the batch is not durable, fail closed.
                conn.execute("COMMIT")
            finally:
                self._local.conn = None

    @contextlib.contextmanager
    def migrating(self) -> Iterator[None]:
        # On the session __init__ opened for it (the pool is not open yet).
        conn = self._in_transaction()
        assert conn is not None, "migrations run while the database is opened"
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_MIGRATION_LOCK, self._key))
            yield

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        # Registry writes of several statements run one at a time across replicas, as
        # SQLite's BEGIN IMMEDIATE runs them, so read-then-write steps cannot interleave.
        return self._locked(_REGISTRY_LOCK)

    def sequencing(self) -> contextlib.AbstractContextManager[None]:
        return self._locked(_SEQUENCER_LOCK)

    def batched(self) -> contextlib.AbstractContextManager[Any]:
        # Pipeline mode: the statements go out together, and their results (errors included)
        # are read once, at the end of the block.
        conn = self._in_transaction()
        if conn is None:
            raise StoreError("batched writes belong in a transaction")
        return conn.pipeline()

    def lease(self) -> AdvisoryLease:
        return AdvisoryLease(self._dsn, self._key)

    def close(self) -> None:
        self._pool.close()


class PostgresStore(SqlStore):
    """The hub's store (``HubStore``) in the PostgreSQL database named by ``dsn``: up to
    ``_SESSIONS`` calls at once, each from a worker thread on a pooled session."""

    def __init__(self, dsn: str) -> None:
        super().__init__(PostgresDatabase(dsn, "registry", sessions=_SESSIONS))


class PostgresAuditWriter(SqlAuditWriter):
    """AuditWriter on PostgreSQL: a batch is committed (synchronous_commit on) before any
    exchange in it is answered; the sequencing lock makes one log of all replicas' batches."""

    def __init__(self, dsn: str) -> None:
        super().__init__(PostgresDatabase(dsn, "sequencer"))
