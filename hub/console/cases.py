"""Case files: an officer pins records to a named case and keeps notes on it.

A case is the officers' working file, not evidence: the evidence is the records themselves,
proven against the log whenever the case is opened or exported. So cases live in the
console's own state under the hub home (``HOME/console/cases.sqlite3``, mode 0600), not in
the append-only log — notes get written while an investigation is still a hunch, and a hunch
about a citizen does not belong in a log every auditor and the citizen's own portal read. The
log does record what leaves the console: every export of a case goes through the officers'
trail. SQLite (the standard library's) rather than a JSON file: several officers write at once,
each write is one transaction, and a crash mid-write leaves the last committed state.

Cases are shared by the console's officers (an investigation is a team's); every case, pin and
note names the officer who made it and when. No text may hold a NIK (``free_text_problem``),
and a pin keeps a summary of its record (time, client, service, decision, reason — pseudonyms
only, as the log holds them) so the case page lists its records without asking the hub for
each one again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hub.home import HubHome
from jembatan.subject import free_text_problem

MAX_NAME = 100
MAX_NOTE = 1000
SUMMARY_FIELDS = ("time", "client_id", "service_id", "purpose", "decision", "reason")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    author TEXT NOT NULL,
    written_at REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pins (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    record_index INTEGER NOT NULL,
    pinned_by TEXT NOT NULL,
    pinned_at REAL NOT NULL,
    note TEXT NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (case_id, record_index)
);
"""


class CaseProblem(ValueError):
    """What is wrong with a case, pin or note; the message is a catalogue msgid."""


@dataclass(frozen=True, slots=True)
class Case:
    id: int
    name: str
    created_by: str
    created_at: float
    pins: int
    notes: int


@dataclass(frozen=True, slots=True)
class Note:
    author: str
    written_at: float
    text: str


@dataclass(frozen=True, slots=True)
class Pin:
    index: int
    pinned_by: str
    pinned_at: float
    note: str
    summary: dict[str, object]


def cases_file(home: HubHome) -> Path:
    """Where the console of ``home`` keeps its case files (beside its officers' file)."""
    return home.root / "console" / "cases.sqlite3"


class CaseFiles:
    """The case files in one SQLite database (opened per operation: cheap, and no connection
    is shared between the event loop's requests)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Created readable by the console's user only, before any case is written to it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=5)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:  # one transaction: committed whole or rolled back
                yield db
        finally:
            db.close()

    def create(self, name: str, officer: str, note: str = "") -> int:
        """A new case named ``name`` (unique), with a first note if given; its id."""
        name = name.strip()
        if free_text_problem(name, MAX_NAME):
            raise CaseProblem("A case name is 1 to 100 printable characters and holds no NIK.")
        if note.strip():
            _check_note(note)
        with self._db() as db:
            try:
                cursor = db.execute(
                    "INSERT INTO cases (name, created_by, created_at) VALUES (?, ?, ?)",
                    (name, officer, time.time()),
                )
            except sqlite3.IntegrityError as exc:
                raise CaseProblem("A case with that name already exists.") from exc
            case_id = int(cursor.lastrowid or 0)
            if note.strip():
                _insert_note(db, case_id, officer, note)
        return case_id

    def all(self) -> list[Case]:
        """Every case, the most recently created first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT c.id, c.name, c.created_by, c.created_at,"
                " (SELECT COUNT(*) FROM pins p WHERE p.case_id = c.id),"
                " (SELECT COUNT(*) FROM notes n WHERE n.case_id = c.id)"
                " FROM cases c ORDER BY c.created_at DESC, c.id DESC"
            ).fetchall()
        return [Case(*row) for row in rows]

    def get(self, case_id: int) -> Case | None:
        return next((case for case in self.all() if case.id == case_id), None)

    def notes(self, case_id: int) -> list[Note]:
        with self._db() as db:
            rows = db.execute(
                "SELECT author, written_at, text FROM notes WHERE case_id = ? ORDER BY id",
                (case_id,),
            ).fetchall()
        return [Note(*row) for row in rows]

    def pins(self, case_id: int) -> list[Pin]:
        """The case's records, in the order they were pinned."""
        with self._db() as db:
            rows = db.execute(
                "SELECT record_index, pinned_by, pinned_at, note, summary FROM pins"
                " WHERE case_id = ? ORDER BY pinned_at, record_index",
                (case_id,),
            ).fetchall()
        return [Pin(i, by, at, note, json.loads(summary)) for i, by, at, note, summary in rows]

    def add_note(self, case_id: int, officer: str, text: str) -> None:
        _check_note(text)
        with self._db() as db:
            _require(db, case_id)
            _insert_note(db, case_id, officer, text)

    def pin(
        self, case_id: int, index: int, officer: str, note: str, record: dict[str, object]
    ) -> None:
        """Pin record ``index`` (whose fields are ``record``) to the case, with a note
        (may be empty); pinning it again replaces the note."""
        if note.strip():
            _check_note(note)
        summary = {name: record[name] for name in SUMMARY_FIELDS if name in record}
        with self._db() as db:
            _require(db, case_id)
            db.execute(
                "INSERT INTO pins (case_id, record_index, pinned_by, pinned_at, note, summary)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, record_index) DO UPDATE SET"
                " note = excluded.note, pinned_by = excluded.pinned_by",
                (case_id, index, officer, time.time(), _lines(note), json.dumps(summary)),
            )

    def unpin(self, case_id: int, index: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM pins WHERE case_id = ? AND record_index = ?", (case_id, index))


def _lines(text: str) -> str:
    """A note as kept: its lines (a browser sends CRLF) joined by LF, ends trimmed."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _check_note(text: str) -> None:
    # Checked as one line: a NIK broken over two lines is still a NIK.
    if free_text_problem(_lines(text).replace("\n", " "), MAX_NOTE):
        raise CaseProblem("A note is 1 to 1000 printable characters and holds no NIK.")


def _insert_note(db: sqlite3.Connection, case_id: int, officer: str, text: str) -> None:
    db.execute(
        "INSERT INTO notes (case_id, author, written_at, text) VALUES (?, ?, ?, ?)",
        (case_id, officer, time.time(), _lines(text)),
    )


def _require(db: sqlite3.Connection, case_id: int) -> None:
    if db.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
        raise CaseProblem("There is no such case.")
