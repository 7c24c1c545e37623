"""Admission control on its own (``hub.admission``), with a fake clock and a fake log: each
member's bounds, fair turns on the hub and at the agencies, and the records a flood of
refusals leaves."""

from __future__ import annotations

import asyncio
import math

import pytest

from hub.admission import (
    AdaptiveLimit,
    Admission,
    AdmissionLimits,
    MemberPlaces,
    RefusalRecords,
    Turns,
)
from hub.audit.log import AuditUnavailable, LogEntry
from hub.pipeline.exchange import Exchange, Peer
from hub.store.base import PendingEntry
from jembatan.audit.record import AuditRecord
from jembatan.errors import Refusal

FLOODER, QUIET = "ID/GOV/DINSOS/eligibility", "ID/GOV/KEMENSOS/eligibility"
BULK = "jembatan.v1.Exchange/Bulk"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Log:
    """The audit log as admission sees it: keeps what it is handed, or fails."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []
        self.failing = False

    async def append(self, entry: PendingEntry) -> LogEntry:
        if self.failing:
            raise AuditUnavailable("disk full")
        self.records.append(AuditRecord.from_json(entry.record_json))
        return LogEntry(len(self.records) - 1, entry.leaf_hash)


def _records(log: Log, window_s: float = 10.0, clock: Clock | None = None) -> RefusalRecords:
    return RefusalRecords(log, window_s, clock or Clock())  # type: ignore[arg-type]


def _rate_limited(detail: str = "over the bound") -> Refusal:
    return Refusal("RATE_LIMITED", detail)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


# --- a member's places ---------------------------------------------------------------------


async def test_a_member_past_its_places_waits_first_come_first_served_then_is_turned_away() -> None:
    places = MemberPlaces(limit=2, waiting=2)
    assert await places.take(FLOODER) and await places.take(FLOODER)
    order: list[int] = []

    async def wait(n: int) -> None:
        assert await places.take(FLOODER)
        order.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in (1, 2)]
    await _settle()
    assert (places.held, places.waiting) == (2, 2)
    assert not await places.take(FLOODER)  # two hold, two wait: the fifth is turned away
    assert await places.take(QUIET)  # another member's places are its own
    places.give_back(FLOODER)
    await _settle()
    assert order == [1]
    places.give_back(FLOODER)
    await asyncio.gather(*waiters)
    assert order == [1, 2] and (places.held, places.waiting) == (3, 0)


async def test_a_caller_that_gives_up_waiting_leaves_no_place_behind() -> None:
    places = MemberPlaces(limit=1, waiting=4)
    assert await places.take(FLOODER)
    gives_up = asyncio.create_task(places.take(FLOODER))
    stays = asyncio.create_task(places.take(FLOODER))
    await _settle()
    gives_up.cancel()
    await _settle()
    assert places.waiting == 1
    places.give_back(FLOODER)  # goes to the one still waiting, not the one that left
    assert await stays
    places.give_back(FLOODER)
    assert (places.held, places.waiting) == (0, 0)


# --- fair turns on the hub and at the agencies -----------------------------------------------


async def test_past_the_limit_a_member_at_work_waits_and_places_go_member_by_member() -> None:
    turns = Turns(2)
    await turns.take(FLOODER)
    await turns.take(QUIET)
    started: list[str] = []

    async def start(member: str, n: int) -> None:
        await turns.take(member)
        started.append(f"{member[7:13]}{n}")

    flood = [asyncio.create_task(start(FLOODER, n)) for n in range(1, 4)]
    await _settle()
    quiet = asyncio.create_task(start(QUIET, 1))  # arrives after the flooder's three
    await _settle()
    assert (turns.running, turns.waiting, started) == (2, 4, [])
    for member in (FLOODER, QUIET, FLOODER, FLOODER):
        turns.give_back(member)
        await _settle()
    await asyncio.gather(*flood, quiet)
    # Round robin: the quiet member's one is second, not behind the flooder's three.
    assert started == ["DINSOS1", "KEMENS1", "DINSOS2", "DINSOS3"]
    assert (turns.running, turns.waiting) == (2, 0)


async def test_a_member_with_nothing_at_work_starts_at_once_even_past_the_limit() -> None:
    turns = Turns(1)
    await turns.take(FLOODER)
    waiting = asyncio.create_task(turns.take(FLOODER))
    await _settle()
    await asyncio.wait_for(turns.take(QUIET), 1)  # no wait
    assert (turns.running, turns.waiting) == (2, 1)
    waiting.cancel()
    await _settle()
    assert turns.waiting == 0
    turns.give_back(QUIET)
    turns.give_back(FLOODER)
    assert turns.running == 0


async def test_a_place_given_to_a_caller_that_just_gave_up_passes_to_the_next() -> None:
    turns = Turns(1)
    await turns.take(FLOODER)
    gives_up = asyncio.create_task(turns.take(FLOODER))
    stays = asyncio.create_task(turns.take(FLOODER))
    await _settle()
    turns.give_back(FLOODER)  # granted to the first waiter ...
    gives_up.cancel()  # ... which leaves before it runs
    await _settle()
    assert stays.done() and turns.running == 1


async def test_an_exchange_away_at_its_agency_leaves_its_place_on_the_hub_to_another() -> None:
    log, clock = Log(), Clock()
    admission = _admission(log, clock, running=1)
    flooder = _exchange(FLOODER, clock)
    turn = await admission.start(flooder)
    queued = asyncio.create_task(admission.start(_exchange(FLOODER, clock)))
    await _settle()
    assert admission.turns.waiting == 1
    with turn:
        async with turn.away("BPJSTK"):
            # While the first waits on the agency, the next has the hub's place.
            await _settle()
            assert queued.done() and admission.turns.running == 1
            assert admission.agencies.of("BPJSTK").running == 1
            with await queued:
                pass
        assert admission.turns.running == 1  # back at work on the hub
    assert admission.turns.running == 0 and admission.agencies.of("BPJSTK").running == 0


async def test_a_failed_agency_call_gives_its_place_back_and_takes_none_on_the_hub() -> None:
    log, clock = Log(), Clock()
    admission = _admission(log, clock)
    with await admission.start(_exchange(FLOODER, clock)) as turn:
        with pytest.raises(Refusal):
            async with turn.away("BPJSTK"):
                raise Refusal("CONNECTOR_UNAVAILABLE", "down")
        assert admission.turns.running == 0
    assert admission.turns.running == 0 and admission.agencies.of("BPJSTK").running == 0


def test_an_agency_limit_grows_while_answers_stay_fast_and_shrinks_when_they_slow() -> None:
    clock = Clock()
    limit = AdaptiveLimit(4, sample=5, clock=clock)
    for _ in range(50):
        limit.answered(0.010, in_use=1)
    assert limit.value == 4  # fast, but a limit nobody used is not raised
    for _ in range(50):
        limit.answered(0.010, in_use=int(limit))
    grown = limit.value
    assert grown > 20  # doubling targets, a fifth of the way each sample
    for _ in range(50):
        limit.answered(0.100, in_use=int(limit))  # ten times the fastest: the agency queues
    assert limit.value < grown / 2
    for _ in range(500):
        limit.answered(10.0, in_use=1)
    assert int(limit) <= 2  # down to a place or two: the agency is still asked
    clock.now += 31  # the old fastest is forgotten: a slower agency is judged by its own
    for _ in range(100):
        limit.answered(10.0, in_use=int(limit))
    assert limit.value > 20
    for _ in range(500):
        limit.answered(0.001, in_use=int(limit))
    assert int(limit) == 256  # the ceiling


# --- the records of refusals ---------------------------------------------------------------


async def test_a_flood_of_refusals_leaves_one_record_and_one_summary_per_window() -> None:
    log, clock = Log(), Clock()
    records = _records(log, 10.0, clock)
    for _ in range(500):
        clock.now += 0.01
        await records.refused(FLOODER, "1a2b", BULK, "", _rate_limited())
    assert len(log.records) == 1  # the first, in full, before it was answered
    await records.flush()
    assert len(log.records) == 1  # the window (10 s) has not ended yet
    clock.now += 10
    await records.flush()
    first, summary = log.records
    assert (first.count, summary.count) == (1, 499)
    for record in (first, summary):
        assert (record.client_id, record.client_certificate, record.service_id) == (
            FLOODER,
            "1a2b",
            BULK,
        )
        assert (record.decision, record.reason, record.status, record.stage) == (
            "REFUSED",
            "RATE_LIMITED",
            "RESOURCE_EXHAUSTED",
            "admission",
        )


async def test_the_next_window_opens_with_the_last_ones_summary_and_kinds_are_kept_apart() -> None:
    log, clock = Log(), Clock()
    records = _records(log, 10.0, clock)
    for _ in range(3):
        await records.refused(FLOODER, "1a2b", BULK, "", _rate_limited())
    await records.refused(FLOODER, "1a2b", BULK, "", Refusal("CANCELLED", "gave up"))
    await records.refused(QUIET, "3c4d", BULK, "", _rate_limited())
    clock.now += 11
    await records.refused(FLOODER, "1a2b", BULK, "", _rate_limited())
    assert [(r.client_id, r.reason, r.count) for r in log.records] == [
        (FLOODER, "RATE_LIMITED", 1),
        (FLOODER, "CANCELLED", 1),
        (QUIET, "RATE_LIMITED", 1),
        (FLOODER, "RATE_LIMITED", 2),  # the last window's two not recorded one by one
        (FLOODER, "RATE_LIMITED", 1),  # the new window's first
    ]
    await records.flush(ended_by=math.inf)  # the hub stops: nothing left uncounted
    assert sum(r.count for r in log.records) == 6


async def test_a_refusal_that_cannot_be_recorded_fails_closed_and_is_still_counted() -> None:
    log, clock = Log(), Clock()
    records = _records(log, 10.0, clock)
    log.failing = True
    with pytest.raises(Refusal) as refused:
        await records.refused(FLOODER, "1a2b", BULK, "", _rate_limited())
    assert refused.value.reason == "AUDIT_UNAVAILABLE"
    await records.refused(FLOODER, "1a2b", BULK, "", _rate_limited())  # counted, not written
    clock.now += 11
    await records.flush()  # still failing: kept for later, not dropped
    log.failing = False
    await records.flush()
    (summary,) = log.records
    assert summary.count == 2


# --- admission as the services use it --------------------------------------------------------


def _admission(log: Log, clock: Clock, **limits: int) -> Admission:
    return Admission(AdmissionLimits(**limits), _records(log, 10.0, clock), clock)  # type: ignore[arg-type]


def _exchange(member: str, clock: Clock) -> Exchange:
    exchange = Exchange(raw=b"query", peer=Peer(b"pem"), received_at=clock.now)
    exchange.member_id, exchange.certificate_serial = member, "1a2b"
    return exchange


async def test_streams_past_a_members_bound_are_refused_and_recorded_so_often() -> None:
    log, clock = Log(), Clock()
    admission = _admission(log, clock, member_streams=2)
    held = [await admission.stream(FLOODER, "1a2b", BULK) for _ in range(2)]
    for _ in range(50):
        with pytest.raises(Refusal) as refused:
            await admission.stream(FLOODER, "1a2b", BULK)
        assert (refused.value.status.name, refused.value.reason) == (
            "RESOURCE_EXHAUSTED",
            "RATE_LIMITED",
        )
    with await admission.stream(QUIET, "3c4d", BULK):  # another member is not held up
        pass
    assert len(log.records) == 1
    with held[0]:
        pass
    with await admission.stream(FLOODER, "1a2b", BULK):  # a place given back is free again
        pass
    await admission.records.flush(ended_by=math.inf)
    assert [r.count for r in log.records] == [1, 49]


async def test_calls_past_a_members_places_wait_and_past_its_waiting_are_refused() -> None:
    log, clock = Log(), Clock()
    admission = _admission(log, clock, member_calls=1, member_waiting=1)
    method = "jembatan.v1.Exchange/Query"
    first = await admission.call(FLOODER, "1a2b", method, "d1")
    second = asyncio.create_task(admission.call(FLOODER, "1a2b", method, "d2"))
    await _settle()
    with pytest.raises(Refusal) as refused:
        await admission.call(FLOODER, "1a2b", method, "d3")
    assert refused.value.reason == "RATE_LIMITED"
    (record,) = log.records
    assert (record.request_digest, record.service_id) == ("d3", method)
    with first:
        pass
    with await second:
        pass


async def test_an_exchange_is_timed_from_its_start_and_one_given_up_on_is_recorded() -> None:
    log, clock = Log(), Clock()
    admission = _admission(log, clock)
    exchange = _exchange(FLOODER, clock)
    clock.now += 3  # it waited three seconds to be admitted
    turn = await admission.start(exchange)
    assert exchange.received_at == clock.now
    # One place, the flooder at work: its next exchange waits; its caller gives up.
    admission.turns.limit = 1
    waiting = asyncio.create_task(admission.start(exchange))
    await _settle()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    (record,) = log.records
    assert (record.reason, record.stage, record.service_id) == (
        "CANCELLED",
        "admission",
        "jembatan.v1.Exchange",
    )
    with turn:
        pass


def test_limits_that_would_lock_a_member_out_are_refused() -> None:
    with pytest.raises(ValueError, match="place"):
        AdmissionLimits(member_streams=0)
    with pytest.raises(ValueError, match="place"):
        AdmissionLimits(running=0)
    with pytest.raises(ValueError, match="agency"):
        AdmissionLimits(agency_running=0)
