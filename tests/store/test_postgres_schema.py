"""PostgreSQL schema migrations: versioned, applied once even when replicas start together,
and a database the hub does not understand is refused with a precise error."""

from __future__ import annotations

import threading

import psycopg
import pytest

from hub.store import open_audit_writer, open_store
from hub.store.base import StoreError
from hub.store.postgres import MIGRATIONS
from tests.postgres import fresh_schema, schema_dsn

pytestmark = pytest.mark.postgres


def test_replicas_starting_at_once_migrate_once() -> None:
    with fresh_schema() as dsn:
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def start(index: int) -> None:
            try:
                barrier.wait()
                opened = open_store(dsn) if index % 2 else open_audit_writer(dsn)
                opened.close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with psycopg.connect(dsn) as conn:
            versions = conn.execute("SELECT version FROM schema_version ORDER BY version")
            assert [v for (v,) in versions] == [m.version for m in MIGRATIONS]
            (generation,) = conn.execute("SELECT count(*) FROM registry_generation").fetchone()
            assert generation == 1


def test_a_newer_schema_is_refused_and_left_alone() -> None:
    with fresh_schema() as dsn:
        open_store(dsn).close()
        newer = MIGRATIONS[-1].version + 1
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO schema_version (version, description) VALUES (%s, 'future')", (newer,)
            )
        with pytest.raises(StoreError, match=f"schema version {newer} is newer than this hub"):
            open_store(dsn)
        with psycopg.connect(dsn) as conn:
            (count,) = conn.execute("SELECT count(*) FROM schema_version").fetchone()
        assert count == len(MIGRATIONS) + 1


def test_a_missing_schema_is_refused() -> None:
    with pytest.raises(StoreError, match="search_path names no schema that exists"):
        open_store(schema_dsn("jt_no_such_schema"))


def test_connection_errors_name_the_server_but_never_the_password() -> None:
    with pytest.raises(StoreError) as error:
        open_store("postgresql://hub:s3cr3t-pw@127.0.0.1:1/jembatan")
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/jembatan" in str(error.value)
    assert "s3cr3t-pw" not in str(error.value)


def test_only_postgresql_urls_are_taken() -> None:
    with pytest.raises(StoreError, match=r"mysql://…: expected a postgresql:// DSN"):
        open_store("mysql://root@localhost/hub")
