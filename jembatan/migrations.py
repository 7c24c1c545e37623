"""The migration scheme every Jembatan store uses: one list of versioned steps, once for
both engines.

Each step is written once. Where SQLite and PostgreSQL spell a thing differently the SQL
names the difference in braces (``{blob}``, ``{int64}``…) and each engine's ``Dialect``
fills it in; what only one engine has words for (PostgreSQL's trigger functions, SQLite's
one-trigger-per-event bodies) is that engine's part of the step. A store records the steps
it has applied in its own version table, and applies the missing ones in order, in one
transaction that only one process at a time may run (SQLite's write lock, PostgreSQL's
advisory lock): processes starting together apply each step once.

The hub's steps are in ``hub.store.schema``, the citizens' portal's in ``portal.store``;
both come here, so the two stores migrate the same way (docs/storage.md). A released step
is never edited, only followed by a new one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from jembatan.errors import JembatanError

log = logging.getLogger(__name__)


class SchemaTooNew(JembatanError):
    """The database was migrated by a newer program than this one; it is left untouched."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


@dataclass(frozen=True)
class Dialect:
    """How one engine spells what the steps leave in braces."""

    spellings: Mapping[str, str]
    # The names of the columns of table ``?`` in the schema in use.
    columns_sql: str

    def render(self, sql: str) -> str:
        # Only {word}: the JSON default '{}' is SQL, not a spelling.
        return re.sub(r"\{(\w+)\}", lambda name: self.spellings[name[1]], sql)


SQLITE = Dialect(
    {
        # SQLite compares TEXT byte by byte already.
        "ctext": "TEXT",
        "blob": "BLOB",
        # INTEGER is 64-bit, and INTEGER PRIMARY KEY is the table's rowid.
        "int64": "INTEGER",
        "bool": "INTEGER",
        "true": "1",
        "without_rowid": " WITHOUT ROWID",
        # Times are RFC 3339 UTC text, as everywhere in Jembatan's tables.
        "timestamp": "TEXT",
        "now": "(strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
    },
    "SELECT name FROM pragma_table_info(?)",
)

POSTGRESQL = Dialect(
    {
        # Times are RFC 3339 UTC text compared as text: COLLATE "C" keeps that byte order
        # whatever the database's locale, as in SQLite.
        "ctext": 'TEXT COLLATE "C"',
        "blob": "BYTEA",
        "int64": "BIGINT",
        "bool": "BOOLEAN",
        "true": "TRUE",
        "without_rowid": "",
        "timestamp": "TIMESTAMPTZ",
        "now": "now()",
    },
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = ?",
)


class Migrating(Protocol):
    """An engine's connection as the steps are applied through it."""

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def script(self, sql: str) -> None:
        """Run several ``;``-separated statements in the current transaction."""
        ...

    def migrating(self) -> AbstractContextManager[None]:
        """A write transaction in which this process alone changes the schema."""
        ...


@dataclass(frozen=True)
class Column:
    """A column added to a table after its first release."""

    table: str
    name: str
    declaration: str


@dataclass(frozen=True)
class Step:
    """One version of the schema: its added columns first, then the SQL both engines run,
    then the engine's own."""

    version: int
    description: str
    columns: tuple[Column, ...] = ()
    sql: str = ""
    sqlite: str = ""
    postgresql: str = ""

    def apply(self, db: Migrating) -> None:
        dialect = db.dialect
        for column in self.columns:
            # SQLite has no ADD COLUMN IF NOT EXISTS, and an unversioned file may have it.
            present = {row[0] for row in db.execute(dialect.columns_sql, (column.table,))}
            if column.name not in present:
                db.script(
                    f"ALTER TABLE {column.table} ADD COLUMN {column.name}"
                    f" {dialect.render(column.declaration)}"
                )
        own = self.sqlite if dialect is SQLITE else self.postgresql
        for sql in (self.sql, own):
            if sql.strip():
                db.script(dialect.render(sql))


def upgrade(db: Migrating, steps: Sequence[Step], *, table: str, owner: str) -> int:
    """Apply the ``steps`` that ``db`` lacks, in order, recording each in ``table``; the
    version it is at now. A database newer than ``steps`` is refused (``SchemaTooNew``),
    untouched: its tables may mean what this ``owner`` cannot know."""
    if [step.version for step in steps] != list(range(1, len(steps) + 1)):
        raise ValueError("steps are numbered from 1 without gaps")
    latest = len(steps)
    with db.migrating():
        db.script(
            db.dialect.render(
                f"CREATE TABLE IF NOT EXISTS {table} (\n"
                "    version INTEGER PRIMARY KEY,\n"
                "    description TEXT NOT NULL,\n"
                "    applied_at {timestamp} NOT NULL DEFAULT {now}\n"
                ")"
            )
        )
        row = db.execute(f"SELECT COALESCE(MAX(version), 0) FROM {table}").fetchone()
        current = int(row[0])
        if current > latest:
            raise SchemaTooNew(
                f"database schema version {current} is newer than this {owner} knows ({latest})"
            )
        for step in steps[current:]:
            step.apply(db)
            db.execute(
                f"INSERT INTO {table} (version, description) VALUES (?, ?)",
                (step.version, step.description),
            )
            log.info("%s schema migrated to version %d: %s", owner, step.version, step.description)
    return latest
