"""What an agency implements to join the hub: one async method that fetches fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from jembatan.catalogue import FieldSpec
from jembatan.errors import JembatanError
from jembatan.subject import is_nik
from jembatan.values import FieldValue


class AgencyUnavailable(JembatanError):
    """The agency could not give a trustworthy answer (refused, failed, timed out, garbled).

    Messages never carry a NIK or a value: they end up in logs."""


class InvalidSubject(JembatanError, ValueError):
    """The subject is not a 16-digit NIK, so no agency can hold a record for it."""


def select_fields(record: Mapping[str, FieldValue], fields: Sequence[str]) -> dict[str, FieldValue]:
    """The requested fields the record holds, and nothing else."""
    return {name: record[name] for name in fields if name in record}


def require_nik(subject: str) -> None:
    """Refuse a subject that is no NIK before anything is sent to the agency."""
    if not is_nik(subject):
        raise InvalidSubject("subject is not a 16-digit NIK")


class Agency(Protocol):
    """An agency's data source, as its connector sees it."""

    @property
    def catalogue(self) -> Sequence[FieldSpec]: ...

    async def fetch(self, subject: str, fields: Sequence[str]) -> Mapping[str, FieldValue] | None:
        """The subject's values for ``fields`` (a field it does not hold is left out);
        ``None`` when the agency has no record of the subject."""
        ...

    async def close(self) -> None: ...
