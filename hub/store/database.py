"""The engine connection the shared storage logic runs on, and the base of its table groups.

Everything the shared logic sends is plain SQL that SQLite and PostgreSQL both accept
(``?`` placeholders, ``ON CONFLICT``, ``TRUE``); a ``Database`` is the engine's connection,
its transactions and its few differences (JSON search, sequencing lock, the signer lease).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from hub.store.base import Lease

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = TypeVar("Row", bound="DataclassInstance")


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """One engine connection as the shared logic uses it."""

    @property
    def json_clauses(self) -> Mapping[str, str]:
        """Clauses on the record's JSON: purpose, on_behalf_of, consent_id, request_digest
        and break_glass, each "… = ?"."""
        ...

    @property
    def count_uses_sql(self) -> str:
        """Upsert of (consent_id, uses, last_used) into consent_usage, keeping the later
        last use."""
        ...

    @property
    def shared(self) -> bool:
        """Other hub processes may use the same database."""
        ...

    @property
    def threads(self) -> int:
        """How many threads may call it at once, each waiting on the server without
        holding up the others (0: an embedded engine, called where the caller runs)."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction; committed on leaving, rolled back on an exception."""
        ...

    def sequencing(self) -> AbstractContextManager[None]:
        """A write transaction in which this process alone appends to the log."""
        ...

    def batched(self) -> AbstractContextManager[None]:
        """Writes inside a transaction that read nothing back, sent together; any of them
        failing raises by the end of the block."""
        ...

    def lease(self) -> Lease: ...

    def close(self) -> None: ...


def from_row(kind: type[Row], row: Sequence[Any], **convert: Callable[[Any], Any]) -> Row:
    """A ``kind`` from ``row``, whose columns are its fields in order (as the SELECT names
    them); ``convert`` turns a column's value into its field's (JSON text into a tuple, a
    BLOB into bytes), by the field's name."""
    values = (
        convert[f.name](value) if f.name in convert else value
        for f, value in zip(fields(kind), row, strict=True)
    )
    return kind(*values)


def to_row(record: DataclassInstance, **convert: Callable[[Any], Any]) -> tuple[Any, ...]:
    """``record``'s fields in order, as columns: ``from_row`` the other way round."""
    return tuple(
        convert[f.name](getattr(record, f.name)) if f.name in convert else getattr(record, f.name)
        for f in fields(record)
    )


class Tables:
    """One group of the store's tables (registry, consents, claims, audit log), read and
    written through the store's one ``Database``; ``SqlStore`` is all of them together."""

    def __init__(self, db: Database) -> None:
        self._db = db
