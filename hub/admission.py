"""Admission control: how much of the hub one member may hold, and whose exchange starts next.

One member must not crowd out the others, however many calls it makes or streams it holds.
Right after a call's caller is identified (from its mTLS certificate: an unidentified caller
is refused by identify and never admitted) and before any costly work (the JWS
verification, the agency call), the hub admits the call, makes it wait, or refuses it:

* **Per member, bounded.** A member has at most ``member_calls`` Query and FanOut calls in
  the hub; more wait for one of those places, at most ``member_waiting`` of them, and any
  beyond that are refused ``RESOURCE_EXHAUSTED RATE_LIMITED``. It holds at most
  ``member_streams`` streams open (Bulk, Audit.StreamRecords, Audit.ExportRange); one more
  is refused at once. So a member holding thousands of streams (idle, half-read, or sending
  and never reading) or calls holds its own few places, and no one else's. Waiting costs
  the hub nothing, and a client that retries each refusal at once would cost it a great
  deal (below), so a member's calls wait rather than being refused while they can.
* **Fair turns, few at work at once** (``Turns``). At most ``running`` exchanges (each leg
  of a query, fan-out or bulk applicant) are at work on the hub at once; the next place
  goes to the members with an exchange waiting in turn (round robin), so a member with
  one exchange waiting is served next however many another has waiting, and a member with
  nothing at work starts at once. Few at work keeps the event loop short of work it
  cannot finish: gRPC takes in new calls one at a time, first come first served, on that
  same loop, and a loop crowded with a flooder's half-done exchanges leaves every new
  call, a quiet member's too, queued inside gRPC where no turn can reach it.
* **Away at the agency, in the agency's own turns** (``Turn.away``). While an exchange
  waits on its agency it gives its place on the hub to another, and holds a place of that
  agency's own ``Turns``, whose limit follows how fast the agency answers
  (``AdaptiveLimit``, starting at ``agency_running``): an agency flooded by one member
  would answer everyone late, so its places, too, go member by member.
* **Recorded, without letting a flood fill the log** (``RefusalRecords``). Of a member
  certificate's refusals of one kind (method and reason), the first in each
  ``refusal_window_s`` is recorded in full before it is answered, as every refusal is; the
  others of that window are counted and written as one summary record (``count``: how many)
  once the window has ended. A flood leaves at most two records per member, method, reason
  and window, and none of it goes uncounted; a refusal that cannot be recorded fails closed
  like any other (``AUDIT_UNAVAILABLE``). A call whose caller gives up while it waits here
  is recorded the same way (``CANCELLED``, stage ``admission``): it never started.

An exchange is judged (request freshness, consent validity, the agency's signature) and
recorded at the moment it starts, not when it arrived: waiting here does not make a fresh
request or answer look stale. The numbers live in ``AdmissionLimits`` (``jembatan serve``
options); what they do under a flood is measured by ``bench/fairness.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType

from opentelemetry.trace import Tracer

from hub.audit.log import AuditLog, AuditUnavailable, pending_entry
from hub.audit.recording import Call, audit_record
from hub.pipeline.exchange import Exchange
from jembatan.errors import Refusal
from jembatan.tracing import span

log = logging.getLogger(__name__)
# The stage admission refusals are recorded under (a call refused here got no further).
STAGE = "admission"
# What the records of exchanges that gave up waiting for their start name as the method:
# the legs of a query, fan-out or bulk applicant alike.
EXCHANGES = "jembatan.v1.Exchange"


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    # Query and FanOut calls one member may have in the hub at once, and how many more of
    # its calls may wait for one of those places.
    member_calls: int = 64
    member_waiting: int = 256
    # Bulk, Audit.StreamRecords and Audit.ExportRange streams one member may hold open.
    member_streams: int = 8
    # Exchanges at work on the hub at once (``Turns``; a member with none at work starts one
    # all the same), and how many may wait on one agency at first (``AdaptiveLimit``).
    running: int = 2
    agency_running: int = 4
    # A member's refusals of one kind: one full record per window, the rest summed up in
    # one record when it ends.
    refusal_window_s: float = 10.0

    def __post_init__(self) -> None:
        if min(self.member_calls, self.member_streams) < 1 or self.member_waiting < 0:
            raise ValueError("a member needs a place for calls and for streams")
        if min(self.running, self.agency_running) < 1:
            raise ValueError("exchanges need at least one place on the hub and at an agency")
        if not self.refusal_window_s > 0:
            raise ValueError("the refusal window must be positive")


class Held:
    """A place taken in the hub, given back when the ``with`` block it guards ends."""

    __slots__ = ("_give_back",)

    def __init__(self, give_back: Callable[[], None]) -> None:
        self._give_back = give_back

    def __enter__(self) -> Held:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._give_back()


class MemberPlaces:
    """``limit`` places per member. A caller that finds its member's all taken waits for one
    (first come, first served) if fewer than ``waiting`` of its member's callers already do;
    otherwise it is turned away."""

    def __init__(self, limit: int, waiting: int) -> None:
        self._limit = limit
        self._waiting_limit = waiting
        self._held: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    @property
    def held(self) -> int:
        return self._held.total()

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def take(self, member: str) -> bool:
        """Whether ``member`` got a place, at once or once one was given back."""
        if self._held[member] < self._limit:
            self._held[member] += 1
            return True
        queue = self._waiting.get(member)
        if len(queue or ()) >= self._waiting_limit:
            return False
        if queue is None:
            queue = self._waiting[member] = deque()
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(place)
        try:
            await place
        except asyncio.CancelledError:
            if place.done() and not place.cancelled():
                self.give_back(member)  # the place came just as it gave up: pass it on
            else:
                self._forget(member, place)
            raise
        return True

    def give_back(self, member: str) -> None:
        queue = self._waiting.get(member)
        while queue:
            place = queue.popleft()
            if not queue:
                del self._waiting[member]
            if not place.done():
                place.set_result(None)  # the place passes to the oldest waiting caller
                return
        self._held[member] -= 1
        if not self._held[member]:
            del self._held[member]  # members come and go: keep only those holding some

    def _forget(self, member: str, place: asyncio.Future[None]) -> None:
        queue = self._waiting.get(member)
        if queue is not None and place in queue:
            queue.remove(place)
            if not queue:
                del self._waiting[member]


class AdaptiveLimit:
    """How many exchanges may wait on one agency at once: a gradient concurrency limit.

    An agency answers fastest with few requests in hand; more only queue inside it, where
    they hold every member's answers up alike. So the limit follows the agency's answers:
    each ``sample`` answers, their mean time is set against the fastest time seen lately
    (forgotten every ``forget_s``, so a slower agency is not judged by an old best). While
    the answers are no slower than ``tolerance`` times the fastest, the limit may double, if
    at least half of it was in use (a limit nobody needs is not raised); slower, it shrinks
    by their ratio (at most by half). Each step moves the limit a share
    ``smoothing`` of the way, between ``floor`` and ``ceiling``.
    """

    def __init__(
        self,
        initial: float,
        *,
        floor: int = 1,
        ceiling: int = 256,
        sample: int = 20,
        tolerance: float = 1.5,
        smoothing: float = 0.2,
        forget_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.value = float(initial)
        self._floor, self._ceiling = floor, ceiling
        self._sample, self._tolerance, self._smoothing = sample, tolerance, smoothing
        self._forget_s, self._clock = forget_s, clock
        self._times: list[float] = []
        self._used = 0  # the most places in use at an answer of this sample
        self._fastest = math.inf
        self._fastest_since = clock()

    def __int__(self) -> int:
        return max(self._floor, int(self.value))

    def answered(self, seconds: float, in_use: int) -> None:
        """One answer of the agency, ``seconds`` after it was asked, with ``in_use`` places
        taken when it was asked."""
        now = self._clock()
        if now - self._fastest_since > self._forget_s:
            self._fastest, self._fastest_since = math.inf, now
        self._fastest = min(self._fastest, seconds)
        self._times.append(seconds)
        self._used = max(self._used, in_use)
        if len(self._times) < self._sample:
            return
        mean = sum(self._times) / len(self._times)
        self._times.clear()
        used, self._used = self._used, 0
        gradient = self._tolerance * self._fastest / mean if mean > 0 else 1.0
        if gradient >= 1:
            target = 2 * self.value if 2 * used >= self.value else self.value
        else:
            target = self.value * max(0.5, gradient) + 1
        value = self.value + (target - self.value) * self._smoothing
        self.value = min(float(self._ceiling), max(float(self._floor), value))


class Turns:
    """Places to work, at most ``limit`` taken at once, and whose exchange takes the next.

    A member with nothing at work takes a place at once, even past the limit: only a member
    already at work waits. Places given back go to the members with an exchange waiting in
    turn (round robin), each member's oldest first, so a member with one exchange waiting
    is served next however many another has waiting.
    """

    def __init__(self, limit: int | AdaptiveLimit) -> None:
        self.limit = limit
        self.running = 0
        self._at_work: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        # Members with an exchange waiting, in the order they are served.
        self._turns: deque[str] = deque()

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def take(self, member: str) -> None:
        """A place for an exchange of ``member``, when its turn comes."""
        if self._at_work[member] and (self._turns or self.running >= int(self.limit)):
            await self._wait(member)
        else:
            self.running += 1
        self._at_work[member] += 1

    def give_back(self, member: str) -> None:
        self._at_work[member] -= 1
        if not self._at_work[member]:
            del self._at_work[member]  # members come and go: keep only those at work
        self.running -= 1
        self._grant()

    async def _wait(self, member: str) -> None:
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting.get(member)
        if queue is None:
            queue = self._waiting[member] = deque()
            self._turns.append(member)
        queue.append(place)
        try:
            await place
        except asyncio.CancelledError:
            if place.done() and not place.cancelled():
                self.running -= 1  # the place came just as it gave up: pass it on
                self._grant()
            else:
                self._forget(member, place)
            raise

    def _grant(self) -> None:
        while self._turns and self.running < int(self.limit):
            member = self._turns.popleft()
            queue = self._waiting[member]
            place = queue.popleft()
            if queue:
                self._turns.append(member)  # its next exchange waits for its next turn
            else:
                del self._waiting[member]
            if not place.done():
                self.running += 1
                place.set_result(None)

    def _forget(self, member: str, place: asyncio.Future[None]) -> None:
        queue = self._waiting.get(member)
        if queue is None or place not in queue:
            return
        queue.remove(place)
        if not queue:
            del self._waiting[member]
            self._turns.remove(member)


class Turn:
    """An exchange's place at work on the hub, given back when the ``with`` block it guards
    ends; while the exchange waits on its agency (``away``) the place is another's."""

    __slots__ = ("_agencies", "_held", "_hub", "_member", "_tracer")

    def __init__(
        self, member: str, hub: Turns, agencies: AgencyTurns, tracer: Tracer | None = None
    ) -> None:
        self._member, self._hub, self._agencies = member, hub, agencies
        self._held = True
        self._tracer = tracer

    def __enter__(self) -> Turn:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._held:
            self._held = False
            self._hub.give_back(self._member)

    @contextlib.asynccontextmanager
    async def away(self, agency: str) -> AsyncIterator[None]:
        """Wait on ``agency`` without holding a place on the hub: in a place of the agency's
        own turns, then back in a place on the hub (a block that fails does not take one
        again: what is left of it, the record, is brief)."""
        if self._held:
            self._held = False
            self._hub.give_back(self._member)
        turns = self._agencies.of(agency)
        with span(self._tracer, "agency turn"):
            await turns.take(self._member)
        asked, in_use = time.perf_counter(), turns.running
        try:
            yield
        except asyncio.CancelledError:
            turns.give_back(self._member)  # the caller left: says nothing of the agency
            raise
        except BaseException:
            self._answered(turns, asked, in_use)  # a slow failure (a timeout) is one too
            raise
        self._answered(turns, asked, in_use)
        with span(self._tracer, "turn"):
            await self._hub.take(self._member)
        self._held = True

    def _answered(self, turns: Turns, asked: float, in_use: int) -> None:
        turns.give_back(self._member)
        if isinstance(turns.limit, AdaptiveLimit):
            turns.limit.answered(time.perf_counter() - asked, in_use)


class AgencyTurns:
    """Each agency's own ``Turns``, with a limit that follows its answers (``AdaptiveLimit``)."""

    def __init__(self, initial: int) -> None:
        self._initial = initial
        self._agencies: dict[str, Turns] = {}

    def of(self, agency: str) -> Turns:
        turns = self._agencies.get(agency)
        if turns is None:
            turns = self._agencies[agency] = Turns(AdaptiveLimit(self._initial))
        return turns

    def limits(self) -> dict[str, int]:
        """The current limit of each agency asked so far."""
        return {agency: int(turns.limit) for agency, turns in self._agencies.items()}


@dataclass(slots=True)
class _Window:
    opened: float
    # Refusals since the window's full record, not recorded one by one.
    unrecorded: int = 0


# (member id, certificate serial, full gRPC method name, reason)
_Key = tuple[str, str, str, str]


class RefusalRecords:
    """The audit records of admission's refusals: per member certificate, method and reason,
    the first of each window in full, the rest as one summary with their count."""

    def __init__(
        self,
        audit: AuditLog,
        window_s: float,
        clock: Callable[[], float],
        counted: Callable[[str, str, str], None] = lambda member, method, reason: None,
    ) -> None:
        self._audit = audit
        self._window_s = window_s
        self._clock = clock
        # (member, method, reason) of every refusal, recorded one by one or not: the metric.
        self._counted = counted
        self._windows: dict[_Key, _Window] = {}

    async def refused(
        self, member: str, serial: str, method: str, request_digest: str, refusal: Refusal
    ) -> None:
        """Account for ``refusal`` of a call of ``member`` (its certificate ``serial``) to
        ``method``; ``request_digest`` is what its full record would carry. Raises
        AUDIT_UNAVAILABLE if a record it needs cannot be written."""
        self._counted(member, method, refusal.reason)
        key = (member, serial, method, refusal.reason)
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now < window.opened + self._window_s:
            window.unrecorded += 1
            return
        # A new window, opened before the first await so that refusals racing this one
        # count into it; what the old one could not write is carried, never dropped.
        carried = window.unrecorded if window is not None else 0
        fresh = self._windows[key] = _Window(now)
        if carried and not await self._summarise(key, carried, now):
            fresh.unrecorded += carried
        try:
            await self._append(key, refusal, now, request_digest, 1)
        except AuditUnavailable as exc:
            fresh.unrecorded += 1  # counted in the summary if that can be written
            log.error("admission refusal failed closed: %s", exc)
            raise Refusal("AUDIT_UNAVAILABLE", "the audit log cannot record this call") from exc

    async def flush(self, *, ended_by: float | None = None) -> None:
        """Write the summaries of the windows ended by ``ended_by`` (default: now; at a
        stop, pass infinity to write every one) and forget those windows."""
        now = self._clock()
        end = now if ended_by is None else ended_by
        for key, window in list(self._windows.items()):
            # Taken out before the write is awaited: a refusal meanwhile opens a new window
            # instead of carrying this one's count a second time.
            if window.opened + self._window_s > end or self._windows.get(key) is not window:
                continue
            del self._windows[key]
            if window.unrecorded and not await self._summarise(key, window.unrecorded, now):
                # Kept for the next flush (or the next window's summary): counted, not lost.
                current = self._windows.setdefault(key, _Window(window.opened))
                current.unrecorded += window.unrecorded

    async def run(self) -> None:
        """Flush once per window, for as long as the hub runs."""
        while True:
            await asyncio.sleep(self._window_s)
            await self.flush()

    async def _summarise(self, key: _Key, count: int, now: float) -> bool:
        summary = Refusal(key[3], "summary")
        try:
            await self._append(key, summary, now, "", count)
        except AuditUnavailable as exc:
            log.error("%d admission refusals not yet recorded: %s", count, exc)
            return False
        return True

    async def _append(
        self, key: _Key, refusal: Refusal, at: float, request_digest: str, count: int
    ) -> None:
        member, serial, method, _ = key
        call = Call(
            client_id=member,
            client_certificate=serial,
            service_id=method,
            purpose="",
            request_digest=request_digest,
        )
        record = audit_record(call, refusal, at=at, stage=STAGE, count=count)
        await self._audit.append(pending_entry(record))


class Admission:
    """The hub's admission control (see the module docstring): ``call`` and ``stream`` admit
    a call or refuse it (a ``Held`` place), ``start`` starts an exchange in its member's
    turn (a ``Turn``); each gives its place back when the ``with`` block it guards ends."""

    def __init__(
        self,
        limits: AdmissionLimits,
        records: RefusalRecords,
        clock: Callable[[], float] = time.time,
        observe_wait: Callable[[float], None] = lambda seconds: None,
        tracer: Tracer | None = None,
    ) -> None:
        self.limits = limits
        # Waits are spans of the exchange's trace when tracing is on (``jembatan.tracing``).
        self._tracer = tracer
        self.records = records
        self.calls = MemberPlaces(limits.member_calls, limits.member_waiting)
        # A stream lives long: waiting for another of the member's to end could be forever.
        self.streams = MemberPlaces(limits.member_streams, 0)
        self.turns = Turns(limits.running)
        self.agencies = AgencyTurns(limits.agency_running)
        # The clock of ``Exchange.received_at``.
        self._clock = clock
        self._observe_wait = observe_wait

    async def call(self, member: str, serial: str, method: str, request_digest: str) -> Held:
        """A place for a Query or FanOut call of ``member`` (its certificate ``serial``),
        once one is free; RATE_LIMITED if it cannot even wait for one."""
        refused = (
            f"the member already has {self.limits.member_calls} calls in the hub and"
            f" {self.limits.member_waiting} waiting; retry later"
        )
        return await self._take(self.calls, member, serial, method, request_digest, refused)

    async def stream(self, member: str, serial: str, method: str, request_digest: str = "") -> Held:
        """A stream ``member`` opens, or RATE_LIMITED."""
        refused = f"the member already has {self.limits.member_streams} streams open; retry later"
        return await self._take(self.streams, member, serial, method, request_digest, refused)

    async def start(self, x: Exchange) -> Turn:
        """Start ``x`` (its caller identified) in its member's turn; from then on it is
        judged and recorded as of that moment (its ``received_at``)."""
        waited = time.perf_counter()
        try:
            await self.turns.take(x.member_id)
        except asyncio.CancelledError:
            await self._gave_up(x.member_id, x.certificate_serial, EXCHANGES, x.request_digest)
            raise
        self._observe_wait(time.perf_counter() - waited)
        x.received_at = self._clock()
        return Turn(x.member_id, self.turns, self.agencies, self._tracer)

    async def run(self) -> None:
        """Write the refusals' summaries, for as long as the hub runs."""
        await self.records.run()

    async def _take(
        self,
        places: MemberPlaces,
        member: str,
        serial: str,
        method: str,
        request_digest: str,
        refused: str,
    ) -> Held:
        try:
            with span(self._tracer, "admission"):
                taken = await places.take(member)
        except asyncio.CancelledError:
            await self._gave_up(member, serial, method, request_digest)
            raise
        if not taken:
            refusal = Refusal("RATE_LIMITED", refused)
            await self.records.refused(member, serial, method, request_digest, refusal)
            raise refusal
        return Held(lambda: places.give_back(member))

    async def _gave_up(self, member: str, serial: str, method: str, request_digest: str) -> None:
        # Recorded, so often, like a refusal; even as the caller's cancel goes on.
        gave_up = Refusal("CANCELLED", "the caller gave up waiting to be admitted")
        await asyncio.shield(self.records.refused(member, serial, method, request_digest, gave_up))
