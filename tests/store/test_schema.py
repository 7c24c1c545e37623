"""One schema for both engines: the same versioned steps make the same tables, applied once
even when several processes open a new database at once, and a database newer than the hub
is refused untouched."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hub.store import open_audit_writer, open_store
from hub.store.base import StoreError
from hub.store.schema import POSTGRESQL, SQLITE, STEPS
from tests.postgres import fresh_schema
from tests.store.raw import Raw


def test_steps_are_numbered_from_one_without_gaps() -> None:
    assert [step.version for step in STEPS] == list(range(1, len(STEPS) + 1))


def test_every_step_is_spelled_for_both_engines() -> None:
    for dialect in (SQLITE, POSTGRESQL):
        for step in STEPS:
            for sql in (step.sql, step.sqlite, step.postgresql):
                dialect.render(sql)  # a spelling missing from either raises KeyError


@pytest.mark.postgres
def test_both_engines_end_with_the_same_tables_and_columns(tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    with fresh_schema() as dsn:
        for location in (database, dsn):
            open_store(location).close()
        with Raw(database) as sqlite, Raw(dsn) as postgresql:
            on_sqlite, on_postgresql = sqlite.schema(), postgresql.schema()
    assert on_sqlite.columns == on_postgresql.columns
    assert on_sqlite.indexes == on_postgresql.indexes
    # Trigger names differ (SQLite has one per event), the tables they guard do not.
    assert {table for table, _ in on_sqlite.triggers} == {
        table for table, _ in on_postgresql.triggers
    }


def test_processes_opening_a_new_database_at_once_migrate_it_once(
    location: str | Path,
) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start(index: int) -> None:
        try:
            barrier.wait()
            opened = open_store(location) if index % 2 else open_audit_writer(location)
            opened.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Raw(location) as raw:
        versions = raw.rows("SELECT version FROM schema_version ORDER BY version")
        assert versions == [(step.version,) for step in STEPS]
        assert raw.rows("SELECT count(*) FROM registry_generation") == [(1,)]


def test_a_newer_schema_is_refused_and_left_alone(location: str | Path) -> None:
    open_store(location).close()
    newer = STEPS[-1].version + 1
    with Raw(location) as raw:
        raw.rows("INSERT INTO schema_version (version, description) VALUES (?, 'future')", (newer,))
    with pytest.raises(StoreError, match=f"schema version {newer} is newer than this hub"):
        open_store(location)
    with Raw(location) as raw:
        assert raw.rows("SELECT count(*) FROM schema_version") == [(len(STEPS) + 1,)]
