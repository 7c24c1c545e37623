"""A store made by an older hub opens in this one: the SQLite file gets the columns added
since (it has no versions), PostgreSQL the migrations after its version."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import psycopg
import pytest

from hub.store import open_store
from hub.store.base import MemberCertificate
from hub.store.postgres import MIGRATIONS
from tests.postgres import fresh_schema

_OLD = MemberCertificate("0a", "ID/GOV/BPJSTK/wages", b"pem", "2027-01-01T00:00:00+00:00", None)


def _renewal_works(location: str | Path) -> None:
    store = open_store(location)
    try:
        assert store.member_certificate("0a") == _OLD
        assert store.add_renewal(dataclasses.replace(_OLD, serial="0b", renewed_from="0a"))
        assert store.revoke_certificate("0a", "2026-11-23T00:00:00+00:00", "test") == ["0a", "0b"]
    finally:
        store.close()


def test_an_sqlite_file_without_renewal_chains_gets_them(tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    with sqlite3.connect(database) as conn:  # member_certificates as the first release made it
        conn.execute(
            "CREATE TABLE member_certificates (serial TEXT PRIMARY KEY, member_id TEXT NOT NULL,"
            " cert_pem BLOB NOT NULL, not_after TEXT NOT NULL, revoked_at TEXT,"
            " revocation_reason TEXT)"
        )
        conn.execute(
            "INSERT INTO member_certificates VALUES (?, ?, ?, ?, NULL, NULL)",
            (_OLD.serial, _OLD.member_id, _OLD.cert_pem, _OLD.not_after),
        )
    conn.close()
    _renewal_works(database)
    reopened = open_store(database)  # the column is there now, and kept
    try:
        renewal = reopened.member_certificate("0b")
        assert renewal is not None and renewal.renewed_from == "0a"
    finally:
        reopened.close()


@pytest.mark.postgres
def test_a_postgresql_schema_at_version_1_is_migrated() -> None:
    with fresh_schema() as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                " description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            conn.execute(MIGRATIONS[0].sql.encode())
            conn.execute("INSERT INTO schema_version (version, description) VALUES (1, 'v1')")
            conn.execute(
                "INSERT INTO member_certificates (serial, member_id, cert_pem, not_after)"
                " VALUES (%s, %s, %s, %s)",
                (_OLD.serial, _OLD.member_id, _OLD.cert_pem, _OLD.not_after),
            )
        _renewal_works(dsn)
        with psycopg.connect(dsn) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_version")]
        assert versions == [m.version for m in MIGRATIONS]
