"""Records as the insights read them: with their log index and their time as a number.

Whoever holds the log (an export, ``jembatan audit fetch``, the Audit API's stream) can make
these from ``(index, record JSON)`` pairs, so every figure and flag can be recomputed from the
log alone.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Protocol

from jembatan.audit.record import AuditRecord

# Calls to the hub's own services are named by their gRPC method ("jembatan.v1.Audit/Search");
# an exchange names the service it asked an agency for (``jembatan.ids``' service id).
_HUB_METHOD_PREFIX = "jembatan.v1."
_OFFICERS_SERVICE = "jembatan.v1.Audit/"
# The purpose the Audit service records its officers' calls under (``hub.services.audit``);
# a citizen's own look at their accesses has another.
OFFICER_PURPOSE = "audit"


@dataclass(frozen=True, slots=True)
class Entry:
    index: int
    # Unix seconds.
    at: float
    record: AuditRecord

    @property
    def is_exchange(self) -> bool:
        """A query for an agency's data, not a call to the hub's own services."""
        return not self.record.service_id.startswith(_HUB_METHOD_PREFIX)

    @property
    def is_officer_lookup(self) -> bool:
        """An officer's search of the log for one citizen (the subject pseudonym)."""
        record = self.record
        return (
            record.service_id.startswith(_OFFICERS_SERVICE)
            and record.purpose == OFFICER_PURPOSE
            and bool(record.subject)
        )

    @property
    def officer(self) -> str:
        """Who an officer's call was for: the officer named by the console, else the
        officer's own member."""
        return self.record.on_behalf_of or self.record.client_id


def moment(time: str) -> float:
    """A record's time (RFC 3339, UTC) as Unix seconds."""
    return datetime.datetime.fromisoformat(time).timestamp()


def entry(index: int, record: AuditRecord) -> Entry:
    return Entry(index, moment(record.time), record)


def entries_of(rows: Iterable[tuple[int, bytes]]) -> list[Entry]:
    """Entries from (index, canonical record JSON) pairs, in log order."""
    return sorted(
        (entry(index, AuditRecord.from_json(data)) for index, data in rows),
        key=lambda e: e.index,
    )


def utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


class Logged(Protocol):
    """A record as the Audit API sends it (``jembatan.v1.AuditEntry``)."""

    @property
    def index(self) -> int: ...

    @property
    def record_json(self) -> bytes: ...


async def entries_until(stream: AsyncIterator[Logged], end: float) -> list[Entry]:
    """The records of ``stream`` (the Audit API's StreamRecords, in log order) up to the
    first logged at or after ``end`` (Unix seconds, not in the future): the stream follows
    the log for ever, so it is closed there. The call that opens it is itself logged after
    ``end``, so the stream always reaches such a record."""
    read: list[Entry] = []
    try:
        async for logged in stream:
            e = entry(logged.index, AuditRecord.from_json(logged.record_json))
            if e.at >= end:
                break
            read.append(e)
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    return read
