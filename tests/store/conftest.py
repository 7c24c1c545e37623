"""Every store test runs against both engines: the SQLite file and a fresh PostgreSQL
schema, through the one function the hub opens its store with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store import open_audit_writer, open_store
from hub.store.base import AuditWriter, HubStore
from tests.postgres import fresh_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """Where a store lives: what ``hub.store.open_store`` is given."""
    if request.param == "sqlite":
        yield tmp_path / "hub.db"
    else:
        with fresh_schema() as dsn:
            yield dsn


@pytest.fixture
def store(location: str | Path) -> Iterator[HubStore]:
    opened = open_store(location)
    yield opened
    opened.close()


@pytest.fixture
def writer(location: str | Path) -> Iterator[AuditWriter]:
    opened = open_audit_writer(location)
    yield opened
    opened.close()


@pytest.fixture
def other_store(location: str | Path) -> Iterator[HubStore]:
    """A second connection to the same store: another process's view of it."""
    opened = open_store(location)
    yield opened
    opened.close()
