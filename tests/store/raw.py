"""A store's database opened beside the hub's code, as an operator's SQL client would: to
build a database in an older shape, and to see which tables, columns, indexes and triggers
an engine ended with."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

# Column kinds, loosely: what a value reads back as, whatever the engine calls the type.
_KINDS = {
    "text": "text",
    "blob": "bytes",
    "bytea": "bytes",
    "integer": "integer",
    "bigint": "integer",
    # SQLite has no boolean type: a boolean is stored as the integer 0 or 1.
    "boolean": "integer",
    # SQLite keeps times as text.
    "timestamp with time zone": "text",
}


@dataclass(frozen=True)
class Schema:
    columns: dict[str, dict[str, str]]  # table -> column -> kind
    indexes: frozenset[str]  # those created by name, not a primary key's
    triggers: frozenset[tuple[str, str]]  # (table, trigger)


class Raw:
    """Plain SQL on either engine, ``?`` placeholders on both; autocommit."""

    def __init__(self, location: str | Path) -> None:
        self.postgres = isinstance(location, str) and "://" in location
        self._conn: Any = (
            psycopg.connect(str(location), autocommit=True)
            if self.postgres
            else sqlite3.connect(location, isolation_level=None)
        )

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cursor = self._conn.execute(sql.replace("?", "%s") if self.postgres else sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def script(self, sql: str) -> None:
        if self.postgres:
            self._conn.execute(sql.encode())
        else:
            self._conn.executescript(sql)

    def schema(self) -> Schema:
        if self.postgres:
            columns = self.rows(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema()"
            )
            indexes = self.rows(
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                " WHERE i.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary"
            )
            triggers = self.rows(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
            )
        else:
            tables = [
                t for (t,) in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            columns = [
                (table, name, kind)
                for table in tables
                for _, name, kind, *_ in self.rows(f"PRAGMA table_info({table})")
            ]
            indexes = self.rows(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
            triggers = self.rows("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        described: dict[str, dict[str, str]] = {}
        for table, column, kind in columns:
            described.setdefault(table, {})[column] = _KINDS[kind.lower()]
        return Schema(
            described,
            frozenset(name for (name,) in indexes),
            frozenset((table, name) for table, name in triggers),
        )
