"""A database an older hub made opens in this one, in place and with every row kept: an
unversioned SQLite file of any earlier shape, and a PostgreSQL schema at any earlier version,
end with the tables of a new database and the behaviour they carry."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hub.audit import tree
from hub.store import open_audit_writer, open_store
from hub.store.base import MemberCertificate, PendingEntry
from hub.store.schema import STEPS
from jembatan.audit.merkle import hash_leaf, root_of
from tests.postgres import fresh_schema
from tests.store import legacy
from tests.store.raw import Raw

T = "2026-11-23T00:00:00+00:00"
SERVICE = "ID/GOV/BPJSTK/wages/employment"
_OLD = MemberCertificate("0a", "ID/GOV/BPJSTK/wages", b"pem", "2027-01-01T00:00:00+00:00", None)
_RECORDS = [b'{"n":%d}' % n for n in range(3)]
_LEAVES = [hash_leaf(record) for record in _RECORDS]
_NODES = tree.MemoryNodes()
_NODES.put(tree.new_nodes(0, _LEAVES, _NODES.node))

# A row for each table an older hub may have, written wherever the shape has that table.
_ROWS: dict[str, list[dict[str, Any]]] = {
    "member_certificates": [
        {
            "serial": _OLD.serial,
            "member_id": _OLD.member_id,
            "cert_pem": _OLD.cert_pem,
            "not_after": _OLD.not_after,
        }
    ],
    "services": [
        {
            "service_id": SERVICE,
            "agency_id": "ID/GOV/BPJSTK",
            "endpoint": "127.0.0.1:7001",
            "catalogue": "[]",
            "enabled": True,
        }
    ],
    "consent_revocations": [{"consent_id": "c-0", "revoked_at": T}],
    "consents": [
        {
            "consent_id": "c-1",
            "subject": "pseudonym-1",
            "grantee": "ID/GOV/KEMENSOS/eligibility",
            "purpose": "bansos-eligibility",
            "purpose_text": "Verifikasi kelayakan bansos",
            "requested": json.dumps({SERVICE: ["employment_status"]}),
            "valid_for_s": 86400,
            "data_life_s": 3600,
            "requested_at": T,
            "respond_by": "2099-01-01T00:00:00+00:00",
            "status": "REQUESTED",
        }
    ],
    "consent_usage": [{"consent_id": "c-1", "uses": 2, "last_used": T}],
    "nonces": [{"issuer": "ID/GOV/KEMENSOS/eligibility", "nonce": "n-1", "expires_at": 4 << 30}],
    "audit_log": [
        {
            "idx": idx,
            "leaf_hash": _LEAVES[idx],
            "record": record,
            "time": T,
            "client_id": "ID/GOV/KEMENSOS/eligibility",
            "service_id": SERVICE,
            "decision": "RELEASED",
            "reason": "OK",
            "subject": "pseudonym-1",
        }
        for idx, record in enumerate(_RECORDS)
    ],
    "audit_nodes": [
        {"level": level, "idx": idx, "hash": _NODES.node(level, idx)}
        for level, idx in ((0, 0), (0, 1), (1, 0), (0, 2))
    ],
    "checkpoints": [{"size": 3, "root": root_of(_LEAVES), "note": "note-3", "signed_at": T}],
    "enrolments": [
        {
            "request_id": "e-1",
            "member_id": "ID/GOV/DUKCAPIL/nik",
            "roles": '["member"]',
            "csr_pem": b"csr",
            "submitter": "ID/GOV/DUKCAPIL/nik",
            "submitted_at": T,
            "state": "PENDING",
        }
    ],
    "connector_registrations": [
        {
            "registration_id": "r-1",
            "agency_id": "ID/GOV/BPJSTK",
            "endpoint": "127.0.0.1:7001",
            "services": "{}",
            "submitted_at": T,
            "state": "PENDING",
        }
    ],
    "service_catalogues": [
        {"service_id": SERVICE, "version": 1, "catalogue": "[]", "approved_at": T}
    ],
    "claims": [{"target": "enrolment:e-1", "token": "t-1", "expires_at": 4 << 30}],
}


@dataclasses.dataclass(frozen=True)
class Shape:
    engine: str
    scripts: tuple[str, ...]
    # Tables of a retired design that the steps leave alone, data and all.
    leftovers: frozenset[str] = frozenset()


def _postgresql_at(version: int, *scripts: str) -> Shape:
    recorded = "".join(
        f"INSERT INTO schema_version (version, description) VALUES ({v}, 'v{v}');"
        for v in range(1, version + 1)
    )
    return Shape("postgres", (legacy.POSTGRESQL_VERSION_TABLE, *scripts, recorded))


SHAPES = [
    pytest.param(
        Shape("sqlite", (legacy.SQLITE_FIRST_RELEASE,), frozenset({"consent_revocations"})),
        id="sqlite-first-release",
    ),
    pytest.param(Shape("sqlite", (legacy.SQLITE_BEFORE_RENEWALS,)), id="sqlite-before-renewals"),
    pytest.param(Shape("sqlite", (legacy.SQLITE_UNVERSIONED,)), id="sqlite-unversioned"),
    pytest.param(
        _postgresql_at(1, legacy.POSTGRESQL_1), id="postgresql-1", marks=pytest.mark.postgres
    ),
    pytest.param(
        _postgresql_at(2, legacy.POSTGRESQL_1, legacy.POSTGRESQL_2),
        id="postgresql-2",
        marks=pytest.mark.postgres,
    ),
]


_Columns = dict[str, dict[str, str]]
_Contents = dict[str, list[tuple[Any, ...]]]


@contextlib.contextmanager
def _place(engine: str, tmp_path: Path, name: str) -> Iterator[str | Path]:
    if engine == "sqlite":
        yield tmp_path / f"{name}.db"
    else:
        with fresh_schema() as dsn:
            yield dsn


def _build(location: str | Path, shape: Shape) -> tuple[_Columns, _Contents]:
    """The database in ``shape`` with a row in each of its tables: its columns and rows."""
    with Raw(location) as raw:
        for script in shape.scripts:
            raw.script(script)
        # Its own versions aside: recording the steps applied is what upgrading does.
        columns = {t: c for t, c in raw.schema().columns.items() if t != "schema_version"}
        for table, rows in _ROWS.items():
            for row in rows if table in columns else ():
                names = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                raw.rows(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))
        return columns, _contents(raw, columns)


def _contents(raw: Raw, columns: _Columns) -> _Contents:
    """The rows of each of ``columns``' tables, in those columns only."""
    contents = {}
    for table, names in columns.items():
        listed = ", ".join(names)
        contents[table] = raw.rows(f"SELECT {listed} FROM {table} ORDER BY {listed}")
    return contents


@pytest.mark.parametrize("shape", SHAPES)
def test_an_older_database_is_upgraded_in_place(shape: Shape, tmp_path: Path) -> None:
    with _place(shape.engine, tmp_path, "old") as old, _place(shape.engine, tmp_path, "new") as new:
        columns, before = _build(old, shape)
        open_store(old).close()
        open_store(new).close()
        with Raw(old) as raw_old, Raw(new) as raw_new:
            assert _contents(raw_old, columns) == before
            upgraded, fresh = raw_old.schema(), raw_new.schema()
            versions = raw_old.rows("SELECT version FROM schema_version ORDER BY version")
        assert versions == [(step.version,) for step in STEPS]
        assert set(upgraded.columns) - set(fresh.columns) == shape.leftovers
        assert {t: c for t, c in upgraded.columns.items() if t not in shape.leftovers} == (
            fresh.columns
        )
        assert upgraded.indexes == fresh.indexes
        assert upgraded.triggers == fresh.triggers
        _still_works(old)


def _still_works(location: str | Path) -> None:
    """What the upgraded tables carry: renewal chains, the registry generation, the tree
    over the old records, the log appended after them, and append-only audit tables."""
    store = open_store(location)
    writer = open_audit_writer(location)  # builds the tree of a log older than the tree
    try:
        assert store.member_certificate("0a") == _OLD
        assert store.add_renewal(dataclasses.replace(_OLD, serial="0b", renewed_from="0a"))
        assert store.revoke_certificate("0a", T, "test") == ["0a", "0b"]
        generation = store.generation()
        assert store.set_service_enabled(SERVICE, False)
        assert store.generation() > generation
        assert store.tree_size() == 3
        assert store.tree_root(3) == root_of(_LEAVES)
        record = b'{"n":3}'
        entry = PendingEntry(record, hash_leaf(record), T, "c", SERVICE, "RELEASED", "OK", "s")
        assert writer.append([entry]) == 3
        assert store.tree_root(4) == root_of([*_LEAVES, hash_leaf(record)])
        store.add_checkpoint(4, store.tree_root(4), "note-4", T)
        assert store.latest_checkpoint() == (4, "note-4")
    finally:
        writer.close()
        store.close()
    with Raw(location) as raw:
        for statement in (
            "UPDATE audit_log SET decision = 'REFUSED'",
            "DELETE FROM audit_nodes",
            "UPDATE checkpoints SET note = 'forged'",
        ):
            with pytest.raises((sqlite3.DatabaseError, psycopg.Error), match="append-only"):
                raw.rows(statement)


def test_an_upgraded_sqlite_file_is_not_upgraded_again(tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    _build(database, Shape("sqlite", (legacy.SQLITE_UNVERSIONED,)))
    open_store(database).close()
    with Raw(database) as raw:
        applied = raw.rows("SELECT version, applied_at FROM schema_version ORDER BY version")
    open_store(database).close()
    with Raw(database) as raw:
        assert raw.rows("SELECT version, applied_at FROM schema_version ORDER BY version") == (
            applied
        )
