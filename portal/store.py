"""The portal's own state: accounts, sign-in codes, sessions, staff, applications, cases
and their histories, the inbox and the simulated SMS gateway's outbox.

SQLite by default (one file in the portal's state directory), PostgreSQL when given a DSN,
migrated by the scheme the hub uses (``jembatan.migrations``) with the portal's own steps
(``portal.schema``) and version table, so the portal may share a PostgreSQL database with
the hub without touching its tables (every table here is ``portal_…``).

What is never kept in clear: a NIK (accounts are found by a keyed hash of it; the NIK
itself is sealed, for the calls the portal makes to the hub on the citizen's behalf), a
sign-in code or a session token (hashes only), and what an agency released about a citizen
(the decision with its evidence is sealed). Only the SMS outbox holds a code in clear: it
stands for the phone network, and tests and the demo read it.

Calls are synchronous and short; the application runs them on one worker thread
(``PortalStore.run``), so the event loop never waits on the disk or the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from jembatan.errors import JembatanError
from jembatan.migrations import POSTGRESQL, SQLITE, Cursor, Dialect, SchemaTooNew, upgrade
from jembatan.subject import may_hold_nik
from portal.schema import STEPS

T = TypeVar("T")

__all__ = [
    "STEPS",
    "Account",
    "Application",
    "Case",
    "CaseEntry",
    "Challenge",
    "InboxMessage",
    "PortalStore",
    "PortalStoreError",
    "Session",
    "Sms",
    "StaffMember",
    "opaque_id",
    "open_portal_store",
]


class PortalStoreError(JembatanError):
    """The portal's store cannot be opened or used as configured; the message says why."""


_VERSION_TABLE = "portal_schema_version"


# --- rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    nik_key: str
    nik_sealed: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    nik_key: str
    nik_sealed: bytes
    code_hash: str
    created_at: int
    expires_at: int
    attempts: int
    used: int
    # What the code is for: "citizen" (sign-in by NIK; ``nik_key``/``nik_sealed`` are the
    # NIK's), "staff" (a staff sign-in: the staff id's), "confirm" (a staff member confirming
    # an act: ``nik_sealed`` holds what the code confirms). A code of one kind never
    # answers another's form.
    kind: str = "citizen"


@dataclass(frozen=True, slots=True)
class Session:
    token_hash: str
    csrf: str
    account_id: str | None
    challenge_id: str | None
    created_at: int
    expires_at: int
    staff_id: str | None = None  # a staff member's session (then ``account_id`` is None)


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str  # the login id, typed at /petugas/masuk: "ptg-" and six letters or digits
    name: str
    role: str  # "pendamping", "perangkat_desa" or "dinsos"
    village: str  # "kemiren", "lateng", or "all" (a Dinsos officer may see both)
    phone: str
    created_at: int
    active: int


@dataclass(frozen=True, slots=True)
class Application:
    id: str
    account_id: str
    status: str
    household: str  # JSON: the family card as shown (names, relationships; no NIK)
    offer: str  # JSON: the consent offer (``portal.consent.ConsentOffer``), or ""
    consent_id: str
    decision_sealed: bytes | None
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class InboxMessage:
    id: str
    account_id: str
    at: int
    kind: str
    application_id: str


@dataclass(frozen=True, slots=True)
class Sms:
    id: str
    at_ns: int
    phone: str
    body: str


@dataclass(frozen=True, slots=True)
class Case:
    """A case (``portal.cases``) as stored, with the signed head of its history."""

    id: str
    kind: str
    village: str
    application_id: str
    account_id: str
    status: str
    assigned_to: str
    outcome: str
    created_at: int
    updated_at: int
    head_length: int
    head_hash: str
    head_signature: str


@dataclass(frozen=True, slots=True)
class CaseEntry:
    """One entry of a case's history; ``details`` is its canonical JSON text."""

    case_id: str
    seq: int
    at: int
    actor: str
    on_behalf_of: str
    action: str
    details: str
    prev_hash: str
    hash: str


class _Moved(Exception):
    """A conditional write found the row changed: the transaction is rolled back."""


def opaque_id() -> str:
    """A random id for URLs and log lines, never one that could be read as a NIK (a random
    UUID has sixteen decimal digits in a row about once in a hundred)."""
    while True:
        candidate = str(uuid.uuid4())
        if not may_hold_nik(candidate):
            return candidate


def _row(kind: type[T], row: Sequence[Any] | None) -> T | None:
    if row is None:
        return None
    values = [bytes(v) if isinstance(v, memoryview) else v for v in row]
    return kind(*values)


def _columns(kind: type[Any]) -> str:
    return ", ".join(kind.__dataclass_fields__)


# --- engines ----------------------------------------------------------------------------


class _Sqlite:
    dialect: Dialect = SQLITE

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql, params)

    def script(self, sql: str) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                self._conn.execute(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def migrating(self) -> contextlib.AbstractContextManager[None]:
        return self.transaction()

    def close(self) -> None:
        self._conn.close()


# Advisory lock keys of the portal's own (the hub's are its own numbers: no clash).
_PORTAL_MIGRATION_LOCK = 0x504F5254  # "PORT"


class _Postgres:
    dialect: Dialect = POSTGRESQL

    def __init__(self, dsn: str) -> None:
        import psycopg

        try:
            self._conn = psycopg.connect(dsn, autocommit=True, application_name="jembatan-portal")
        except psycopg.Error as exc:
            raise PortalStoreError(f"cannot connect to the portal's PostgreSQL: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self._conn.execute(sql.replace("?", "%s"), params)

    def script(self, sql: str) -> None:
        self._conn.execute(sql.encode())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._conn.transaction():
            yield

    @contextlib.contextmanager
    def migrating(self) -> Iterator[None]:
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PORTAL_MIGRATION_LOCK,))
            yield

    def close(self) -> None:
        self._conn.close()


# --- the store --------------------------------------------------------------------------


class PortalStore:
    """The portal's tables on one engine connection; ``run`` calls a method off the loop."""

    def __init__(self, db: _Sqlite | _Postgres) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-store")
        try:
            upgrade(db, STEPS, table=_VERSION_TABLE, owner="portal")
        except SchemaTooNew as exc:
            db.close()
            raise PortalStoreError(str(exc)) from None

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, call, *args)

    def close(self) -> None:
        self._worker.shutdown(wait=True)
        self._db.close()

    def _one(self, kind: type[T], sql: str, params: Sequence[Any]) -> T | None:
        with self._lock:
            return _row(kind, self._db.execute(sql, params).fetchone())

    def _insert(self, table: str, row: Any) -> None:
        names = list(type(row).__dataclass_fields__)
        marks = ", ".join("?" * len(names))
        values = [getattr(row, name) for name in names]
        self._write(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", values)

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        with self._lock:
            return self._db.execute(sql, params).rowcount

    # accounts

    def account_by_nik_key(self, nik_key: str) -> Account | None:
        sql = f"SELECT {_columns(Account)} FROM portal_accounts WHERE nik_key = ?"
        return self._one(Account, sql, (nik_key,))

    def account(self, account_id: str) -> Account | None:
        sql = f"SELECT {_columns(Account)} FROM portal_accounts WHERE id = ?"
        return self._one(Account, sql, (account_id,))

    def add_account(self, account: Account) -> Account:
        """``account``, or the one already holding its NIK (two sign-ins racing)."""
        self._write(
            "INSERT INTO portal_accounts VALUES (?, ?, ?, ?) ON CONFLICT (nik_key) DO NOTHING",
            (account.id, account.nik_key, account.nik_sealed, account.created_at),
        )
        stored = self.account_by_nik_key(account.nik_key)
        assert stored is not None
        return stored

    # staff

    def add_staff(self, member: StaffMember) -> None:
        self._insert("portal_staff", member)

    def staff_member(self, staff_id: str) -> StaffMember | None:
        sql = f"SELECT {_columns(StaffMember)} FROM portal_staff WHERE id = ?"
        return self._one(StaffMember, sql, (staff_id,))

    def staff(self) -> list[StaffMember]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_columns(StaffMember)} FROM portal_staff ORDER BY village, role, name, id"
            ).fetchall()
        return [m for m in (_row(StaffMember, r) for r in rows) if m is not None]

    # sign-in codes

    def add_challenge(self, challenge: Challenge) -> None:
        self._insert("portal_challenges", challenge)

    def challenges_since(self, nik_key: str, since: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM portal_challenges WHERE nik_key = ? AND created_at >= ?",
                (nik_key, since),
            ).fetchone()
        return int(row[0])

    def challenge(self, challenge_id: str) -> Challenge | None:
        sql = f"SELECT {_columns(Challenge)} FROM portal_challenges WHERE id = ?"
        return self._one(Challenge, sql, (challenge_id,))

    def count_attempt(self, challenge_id: str, limit: int) -> bool:
        """Count one try at the code; False once ``limit`` tries were made (or it was used)."""
        changed = self._write(
            "UPDATE portal_challenges SET attempts = attempts + 1"
            " WHERE id = ? AND attempts < ? AND used = 0",
            (challenge_id, limit),
        )
        return changed == 1

    def use_challenge(self, challenge_id: str) -> bool:
        """Spend the code once: False if it was spent already."""
        return (
            self._write(
                "UPDATE portal_challenges SET used = 1 WHERE id = ? AND used = 0", (challenge_id,)
            )
            == 1
        )

    # sessions

    def add_session(self, session: Session) -> None:
        self._insert("portal_sessions", session)

    def session(self, token_hash: str, now: int) -> Session | None:
        sql = (
            f"SELECT {_columns(Session)} FROM portal_sessions"
            " WHERE token_hash = ? AND expires_at > ?"
        )
        return self._one(Session, sql, (token_hash, now))

    def set_challenge(self, token_hash: str, challenge_id: str) -> None:
        self._write(
            "UPDATE portal_sessions SET challenge_id = ? WHERE token_hash = ?",
            (challenge_id, token_hash),
        )

    def touch_session(self, token_hash: str, expires_at: int) -> None:
        self._write(
            "UPDATE portal_sessions SET expires_at = ? WHERE token_hash = ?",
            (expires_at, token_hash),
        )

    def end_session(self, token_hash: str) -> None:
        self._write("DELETE FROM portal_sessions WHERE token_hash = ?", (token_hash,))

    def forget_expired(self, now: int, challenges_before: int) -> None:
        """Drop ended sessions, and codes that can neither be used nor count any more."""
        self._write("DELETE FROM portal_sessions WHERE expires_at <= ?", (now,))
        self._write(
            "DELETE FROM portal_challenges WHERE expires_at <= ? AND created_at < ?",
            (now, challenges_before),
        )

    # applications

    def add_application(self, application: Application) -> None:
        self._insert("portal_applications", application)

    def application(self, application_id: str, account_id: str) -> Application | None:
        """The application, only if it is ``account_id``'s: another's is no application."""
        sql = (
            f"SELECT {_columns(Application)} FROM portal_applications"
            " WHERE id = ? AND account_id = ?"
        )
        return self._one(Application, sql, (application_id, account_id))

    def applications_of(self, account_id: str) -> list[Application]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_columns(Application)} FROM portal_applications"
                " WHERE account_id = ? ORDER BY created_at DESC, id",
                (account_id,),
            ).fetchall()
        return [a for a in (_row(Application, r) for r in rows) if a is not None]

    def move_application(
        self,
        application_id: str,
        *,
        was: str,
        status: str,
        now: int,
        offer: str | None = None,
        consent_id: str | None = None,
        decision_sealed: bytes | None = None,
    ) -> bool:
        """Move an application from status ``was`` to ``status`` (one conditional write: two
        racing answers cannot both win); False if it was not at ``was``."""
        sets, params = ["status = ?", "updated_at = ?"], [status, now]
        for column, value in (
            ("offer", offer),
            ("consent_id", consent_id),
            ("decision_sealed", decision_sealed),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        sql = f"UPDATE portal_applications SET {', '.join(sets)} WHERE id = ? AND status = ?"
        return self._write(sql, (*params, application_id, was)) == 1

    # inbox

    def add_message(self, message: InboxMessage) -> None:
        self._insert("portal_inbox", message)

    def inbox(self, account_id: str) -> list[InboxMessage]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_columns(InboxMessage)} FROM portal_inbox WHERE account_id = ?"
                " ORDER BY at DESC, id",
                (account_id,),
            ).fetchall()
        return [m for m in (_row(InboxMessage, r) for r in rows) if m is not None]

    # cases

    def add_case(self, case: Case, first: CaseEntry) -> None:
        """A new case with the first entry of its history, in one transaction."""
        with self._lock, self._db.transaction():
            for table, row in (("portal_cases", case), ("portal_case_entries", first)):
                names = list(type(row).__dataclass_fields__)
                marks = ", ".join("?" * len(names))
                self._db.execute(
                    f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})",
                    [getattr(row, name) for name in names],
                )

    def append_case_entry(
        self,
        entry: CaseEntry,
        *,
        head_signature: str,
        was_length: int,
        was_status: Sequence[str] = (),
        status: str | None = None,
        assigned_to: str | None = None,
        outcome: str | None = None,
    ) -> bool:
        """Add ``entry`` and move the case's head to it, only if the head is still at
        ``was_length`` (and the status one of ``was_status``, if given): one transaction,
        so two racing appends cannot both win, nor fork the history. False if it moved."""
        sets = ["head_length = ?", "head_hash = ?", "head_signature = ?", "updated_at = ?"]
        params: list[Any] = [entry.seq, entry.hash, head_signature, entry.at]
        for column, value in (
            ("status", status),
            ("assigned_to", assigned_to),
            ("outcome", outcome),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        where = "id = ? AND head_length = ?"
        params += [entry.case_id, was_length]
        if was_status:
            where += f" AND status IN ({', '.join('?' * len(was_status))})"
            params += list(was_status)
        names = list(CaseEntry.__dataclass_fields__)
        try:
            with self._lock, self._db.transaction():
                moved = self._db.execute(
                    f"UPDATE portal_cases SET {', '.join(sets)} WHERE {where}", params
                ).rowcount
                if moved != 1:
                    raise _Moved
                self._db.execute(
                    f"INSERT INTO portal_case_entries ({', '.join(names)})"
                    f" VALUES ({', '.join('?' * len(names))})",
                    [getattr(entry, name) for name in names],
                )
        except _Moved:
            return False
        return True

    def case(self, case_id: str) -> Case | None:
        return self._one(
            Case, f"SELECT {_columns(Case)} FROM portal_cases WHERE id = ?", (case_id,)
        )

    def _cases(self, where: str, params: Sequence[Any]) -> list[Case]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_columns(Case)} FROM portal_cases {where} ORDER BY created_at, id",
                params,
            ).fetchall()
        return [c for c in (_row(Case, r) for r in rows) if c is not None]

    def cases(self, village: str | None = None) -> list[Case]:
        """Every case (of ``village``, if given), oldest first."""
        if village is None:
            return self._cases("", ())
        return self._cases("WHERE village = ?", (village,))

    def cases_of(self, account_id: str) -> list[Case]:
        return self._cases("WHERE account_id = ?", (account_id,))

    def cases_of_application(self, application_id: str) -> list[Case]:
        return self._cases("WHERE application_id = ?", (application_id,))

    def case_entries(self, case_id: str) -> list[CaseEntry]:
        """A case's history as stored, in the order of its sequence numbers."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_columns(CaseEntry)} FROM portal_case_entries WHERE case_id = ?"
                " ORDER BY seq",
                (case_id,),
            ).fetchall()
        return [e for e in (_row(CaseEntry, r) for r in rows) if e is not None]

    # who accessed the citizen's data: how far they were told

    def data_seen(self, account_id: str) -> int | None:
        """The log index of the newest access ``account_id`` was told about (None: never
        looked for)."""
        with self._lock:
            row = self._db.execute(
                "SELECT seen_index FROM portal_data_seen WHERE account_id = ?", (account_id,)
            ).fetchone()
        return None if row is None else int(row[0])

    def advance_data_seen(self, account_id: str, was: int | None, to: int, now: int) -> bool:
        """Move the cursor from ``was`` to ``to`` (one conditional write: of two looks racing
        over the same accesses, one tells the citizen); False if it was not at ``was``."""
        if was is None:
            sql = (
                "INSERT INTO portal_data_seen (account_id, seen_index, checked_at)"
                " VALUES (?, ?, ?) ON CONFLICT (account_id) DO NOTHING"
            )
            return self._write(sql, (account_id, to, now)) == 1
        sql = (
            "UPDATE portal_data_seen SET seen_index = ?, checked_at = ?"
            " WHERE account_id = ? AND seen_index = ?"
        )
        return self._write(sql, (to, now, account_id, was)) == 1

    def accounts_by_last_check(self, limit: int) -> list[str]:
        """Up to ``limit`` account ids, those never looked for first, then the longest ago."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.id FROM portal_accounts a"
                " LEFT JOIN portal_data_seen s ON s.account_id = a.id"
                " ORDER BY COALESCE(s.checked_at, -1), a.id LIMIT ?",
                (limit,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    # the simulated SMS gateway

    def send_sms(self, sms: Sms) -> None:
        self._insert("portal_sms_outbox", sms)

    def outbox(self, phone: str | None = None) -> list[Sms]:
        """Messages sent, oldest first (to ``phone`` only, if given)."""
        where, params = ("WHERE phone = ?", (phone,)) if phone else ("", ())
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_columns(Sms)} FROM portal_sms_outbox {where} ORDER BY at_ns, id",
                params,
            ).fetchall()
        return [s for s in (_row(Sms, r) for r in rows) if s is not None]


def open_portal_store(location: str | Path) -> PortalStore:
    """The store at ``location``: a PostgreSQL DSN (``postgresql://…``), else a SQLite file."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PortalStore(_Postgres(text))
    try:
        return PortalStore(_Sqlite(Path(text)))
    except sqlite3.Error as exc:
        raise PortalStoreError(f"cannot open the portal's store {text}: {exc}") from None
