"""What the hub keeps: member certificates, service routes, consents, replay nonces and
the audit log. ``base`` names the interfaces, ``schema`` the tables, ``sql`` holds the logic
both engines share, ``sqlite`` is the embedded default and ``postgres`` the engine for
several replicas (docs/storage.md).

``open_store`` and ``open_audit_writer`` open whichever engine the home is configured with:
its ``database_url`` (``jembatan --database postgresql://…`` or ``$JEMBATAN_DATABASE``),
else the SQLite file in the home.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hub.home import HubHome
from hub.store.base import AuditWriter, HubStore, StoreError

T = TypeVar("T")


def _location(where: HubHome | str | Path) -> str | Path:
    if isinstance(where, HubHome):
        return where.database_url or where.database
    return where


def _dsn(location: str | Path) -> str | None:
    from hub.store.postgres import is_dsn

    if isinstance(location, str) and "://" in location:
        if not is_dsn(location):
            raise StoreError(
                f"database {location.split('://')[0]}://…: expected a postgresql:// DSN"
                " (or no --database, for the home's SQLite file)"
            )
        return location
    return None


def _open(
    where: HubHome | str | Path, postgres: Callable[[str], T], sqlite: Callable[[Path], T]
) -> T:
    """``postgres`` of the DSN ``where`` names, else ``sqlite`` of its SQLite file."""
    location = _location(where)
    dsn = _dsn(location)
    return postgres(dsn) if dsn is not None else sqlite(Path(location))


def open_store(where: HubHome | str | Path) -> HubStore:
    """The hub's store: a home (its configured engine), a PostgreSQL DSN or a SQLite path."""
    from hub.store.postgres import PostgresStore
    from hub.store.sqlite import SqliteRegistry

    return _open(where, PostgresStore, SqliteRegistry)


def open_audit_writer(where: HubHome | str | Path) -> AuditWriter:
    """The audit log's writer on the same engine as ``open_store``."""
    from hub.store.postgres import PostgresAuditWriter
    from hub.store.sqlite import SqliteAuditWriter

    return _open(where, PostgresAuditWriter, SqliteAuditWriter)


__all__ = ["AuditWriter", "HubStore", "StoreError", "open_audit_writer", "open_store"]
