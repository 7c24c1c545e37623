"""The dashboard's figures, from the records of one time window.

Exchanges (queries for an agency's data) are counted by decision in three kinds an officer
tells apart: *released*; *denied*, where the hub judged the request and said no on consent,
policy, role or legal basis (status PERMISSION_DENIED); and *refused* for any other reason
(a malformed or unauthenticated request, an agency that did not answer, a member over its
rate). Counts are of calls (``AuditRecord.count``).

The log does not record how long an agency took to answer, so an agency's health here is
what the log shows: the share of its exchanges that failed at the agency (unreachable,
timed out, a bad signature or answer). Latency is the hub's Prometheus histogram
``jembatan_connector_request_duration_seconds`` (docs/operations.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jembatan.insights.entries import Entry

RELEASED, DENIED, REFUSED = "released", "denied", "refused"
KINDS = (RELEASED, DENIED, REFUSED)
HOUR_S = 3600
# Refusals that say the agency, not the caller or the hub's rules, failed the exchange.
AGENCY_FAILURES = frozenset(
    {
        "CONNECTOR_UNAVAILABLE",
        "CONNECTOR_TIMEOUT",
        "AGENCY_SIGNATURE_INVALID",
        "AGENCY_RESPONSE_INVALID",
    }
)
# Refusals of a break-glass query for what its legal basis lacked.
BREAK_GLASS_REFUSALS = frozenset(
    {
        "LEGAL_BASIS_REQUIRED",
        "LEGAL_BASIS_MISMATCH",
        "JUSTIFICATION_REQUIRED",
        "APPROVAL_REQUIRED",
        "APPROVAL_INVALID",
    }
)


@dataclass(frozen=True, slots=True)
class Hour:
    # Unix seconds of the hour's start (UTC; WIB hours start at the same instants).
    start: float
    released: int
    denied: int
    refused: int


@dataclass(frozen=True, slots=True)
class AgencyHealth:
    # The agency's organisation: the first three parts of its services' ids (ID/GOV/BPJSTK).
    agency: str
    exchanges: int
    released: int
    agency_failures: int

    @property
    def failure_share(self) -> float:
        return self.agency_failures / self.exchanges if self.exchanges else 0.0


@dataclass(frozen=True, slots=True)
class BreakGlass:
    attempts: int
    released: int
    refused: int
    # Log indexes of the attempts, for the officers' review.
    records: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CheckpointLag:
    """How far the latest signed checkpoint trails the log."""

    checkpoint_size: int
    log_size: int
    # Seconds the oldest record not yet under a checkpoint has waited; 0 when none waits
    # (or its record was not among those read).
    oldest_uncovered_s: float

    @property
    def uncovered(self) -> int:
        return self.log_size - self.checkpoint_size


@dataclass(frozen=True, slots=True)
class Summary:
    start: float
    end: float
    exchanges: int
    hours: tuple[Hour, ...]
    refusals_by_reason: tuple[tuple[str, int], ...]
    top_clients: tuple[tuple[str, int], ...]
    top_services: tuple[tuple[str, int], ...]
    agencies: tuple[AgencyHealth, ...]
    break_glass: BreakGlass


def kind(entry: Entry) -> str:
    """released, denied or refused (see the module's docstring)."""
    record = entry.record
    if record.decision == "RELEASED":
        return RELEASED
    return DENIED if record.status == "PERMISSION_DENIED" else REFUSED


def agency_of(service_id: str) -> str:
    return "/".join(service_id.split("/")[:3])


def summarise(entries: Iterable[Entry], *, start: float, end: float, top: int = 10) -> Summary:
    """The figures of the exchanges logged in [``start``, ``end``) (Unix seconds): one
    pass, so a week of a busy hub (~100k records) takes a fraction of a second."""
    first_hour = int(start // HOUR_S)
    hours = int(-(-end // HOUR_S)) - first_hour
    per_hour = [[0, 0, 0] for _ in range(max(hours, 0))]
    reasons: Counter[str] = Counter()
    clients: Counter[str] = Counter()
    services: Counter[str] = Counter()
    agencies: dict[str, list[int]] = {}
    break_glass: list[Entry] = []
    exchanges = 0
    for e in entries:
        if not (start <= e.at < end) or not e.is_exchange:
            continue
        record, calls = e.record, e.record.count
        exchanges += calls
        which = kind(e)
        per_hour[int(e.at // HOUR_S) - first_hour][KINDS.index(which)] += calls
        if record.reason:
            reasons[record.reason] += calls
        clients[record.client_id] += calls
        services[record.service_id] += calls
        figures = agencies.setdefault(agency_of(record.service_id), [0, 0, 0])
        figures[0] += calls
        figures[1] += calls if which == RELEASED else 0
        figures[2] += calls if record.reason in AGENCY_FAILURES else 0
        if record.break_glass or record.reason in BREAK_GLASS_REFUSALS:
            break_glass.append(e)
    return Summary(
        start=start,
        end=end,
        exchanges=exchanges,
        hours=tuple(Hour((first_hour + i) * HOUR_S, *counts) for i, counts in enumerate(per_hour)),
        refusals_by_reason=_ranked(reasons),
        top_clients=_ranked(clients, top),
        top_services=_ranked(services, top),
        agencies=tuple(AgencyHealth(name, *figures) for name, figures in sorted(agencies.items())),
        break_glass=BreakGlass(
            attempts=sum(e.record.count for e in break_glass),
            released=sum(e.record.count for e in break_glass if kind(e) == RELEASED),
            refused=sum(e.record.count for e in break_glass if kind(e) != RELEASED),
            records=tuple(e.index for e in break_glass),
        ),
    )


def _ranked(counts: Counter[str], top: int | None = None) -> tuple[tuple[str, int], ...]:
    """Most first; ties by name, so the order is the same for everyone."""
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top])


def checkpoint_lag(
    checkpoint_size: int, log_size: int, entries: Sequence[Entry], *, now: float
) -> CheckpointLag:
    """How far the checkpoint of ``checkpoint_size`` trails a log of ``log_size`` records,
    timed by the first record it does not cover if ``entries`` hold it."""
    waiting = next((e for e in entries if e.index == checkpoint_size), None)
    age = max(0.0, now - waiting.at) if waiting and checkpoint_size < log_size else 0.0
    return CheckpointLag(checkpoint_size, log_size, age)
