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
* **Fair starts, at a pace the hub keeps up with** (``Pace``). While the hub's event loop
  has time to spare, every exchange (each leg of a query, fan-out or bulk applicant)
  starts at once. Once the loop's thread wants a core for more than ``busy`` of its time,
  exchanges start at a pace, and the next start goes to the members with an exchange
  waiting in turn (round robin), so a member with one exchange waiting is served next
  however many another has waiting; a member with nothing in the hub starts at once. This
  matters because gRPC takes in new calls one at a time, first come first served, on that
  same loop: a loop that never has time to spare leaves every new call, a quiet member's
  too, queued inside gRPC behind a flooding member's, where no turn can reach it.
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
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from hub.audit.log import AuditLog, AuditUnavailable, pending_entry
from hub.audit.recording import Call, audit_record
from hub.pipeline.exchange import Exchange
from jembatan.errors import Refusal

log = logging.getLogger(__name__)
# The stage admission refusals are recorded under (a call refused here got no further).
STAGE = "admission"
# What the records of exchanges that gave up waiting for their start name as the method:
# the legs of a query, fan-out or bulk applicant alike.
EXCHANGES = "jembatan.v1.Exchange"
# The pace (``Pace``) is set every _WINDOW_S; a window raises it by at most _GROWTH; it never
# goes below _FLOOR starts a second, so the hub never stops; the starts of the recent past
# (what a new pace is scaled from) are smoothed by _SMOOTHING per window.
_WINDOW_S = 0.05
_GROWTH = 1.1
_FLOOR = 10.0
_SMOOTHING = 0.3


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    # Query and FanOut calls one member may have in the hub at once, and how many more of
    # its calls may wait for one of those places.
    member_calls: int = 64
    member_waiting: int = 256
    # Bulk, Audit.StreamRecords and Audit.ExportRange streams one member may hold open.
    member_streams: int = 8
    # The share of its time the hub's event loop may want a core before exchanges start at
    # a pace (``Pace``).
    busy: float = 0.9
    # A member's refusals of one kind: one full record per window, the rest summed up in
    # one record when it ends.
    refusal_window_s: float = 10.0

    def __post_init__(self) -> None:
        if min(self.member_calls, self.member_streams) < 1 or self.member_waiting < 0:
            raise ValueError("a member needs a place for calls and for streams")
        if not 0 < self.busy <= 1:
            raise ValueError("busy is a share of the loop's time, above 0 and at most 1")
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


class Pace:
    """How fast the hub starts exchanges, and whose exchange starts next.

    Every ``window_s`` the pace is set from how much of that time the event loop's thread
    ran or waited to run (its demand for a core, from Linux's scheduler statistics):

    * above ``busy``, exchanges start at a pace: the starts of the recent past scaled by
      busy / demand (as if each start cost the loop the same);
    * at or below ``busy`` while exchanges wait, the pace grows as far as the spare demand
      allows, at most ``_GROWTH`` a window;
    * once a window passes with the loop keeping up and nothing waiting, there is no pace.

    Exchanges beyond the pace wait; each start goes to the members with an exchange waiting
    in turn, to each member's oldest. A member with nothing in the hub starts at once (the
    start is taken from the pace all the same): only a member already at work waits for it.
    The demand is the loop's own: another process's load on the machine does not make the
    hub slow down, unless it keeps the loop from a core.
    """

    def __init__(
        self,
        busy: float,
        *,
        window_s: float = _WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        demand: Callable[[], float] | None = None,
    ) -> None:
        self.busy = busy
        self.window_s = window_s
        # Exchanges started per second (infinite: no pace, they start at once).
        self.rate = math.inf
        # The loop thread's demand for a core in the last window (a share of it).
        self.demand = 0.0
        self._clock = clock
        self._demand = demand or _thread_demand
        self._tokens = 0.0
        self._counted = clock()  # when the tokens were last counted
        self._window = (clock(), self._demand())  # the current window's start
        self._started = 0
        self._recent = 0.0  # starts per second, smoothed over the last windows
        self._waited = False
        self._in_progress: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        # Members with an exchange waiting, in the order they are served.
        self._turns: deque[str] = deque()
        self._next_grant: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def take(self, member: str) -> Held:
        """The start of an exchange of ``member``, when its turn comes; the exchange is the
        member's at work until the start is given back."""
        if self._in_progress[member] or member in self._waiting:
            if self._turns or not self._token():
                await self._wait(member)
        else:
            self._token(owe=True)
        self._in_progress[member] += 1
        return Held(lambda: self._done(member))

    def set_pace(self) -> None:
        """End a window: set the pace from the loop thread's demand in it."""
        now, demand = self._clock(), self._demand()
        began, began_demand = self._window
        wall = now - began
        if wall <= 0:
            return
        self.demand = (demand - began_demand) / wall
        self._recent += (self._started / wall - self._recent) * _SMOOTHING
        if self.demand > self.busy:
            if self.rate == math.inf:
                self._tokens, self._counted = 0.0, now
            self.rate = max(_FLOOR, min(self.rate, self._recent) * self.busy / self.demand)
        elif self._waited:
            self.rate *= min(_GROWTH, self.busy / max(self.demand, 1e-9))
        else:
            self.rate = math.inf
        self._window = (now, demand)
        self._started = 0
        self._waited = bool(self._turns)
        self._grant()

    async def run(self) -> None:
        """Set the pace every window, for as long as the hub runs."""
        while True:
            await asyncio.sleep(self.window_s)
            self.set_pace()

    async def _wait(self, member: str) -> None:
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._waiting.get(member)
        if queue is None:
            queue = self._waiting[member] = deque()
            self._turns.append(member)
        queue.append(place)
        self._waited = True
        self._grant_later()
        try:
            await place
        except asyncio.CancelledError:
            self._forget(member, place)  # a start given to it is not used, nor lost
            raise

    def _done(self, member: str) -> None:
        self._in_progress[member] -= 1
        if not self._in_progress[member]:
            del self._in_progress[member]

    def _token(self, *, owe: bool = False) -> bool:
        """Take one start if the pace allows one now (or, if ``owe``, in any case)."""
        if self.rate != math.inf:
            now = self._clock()
            # At most a hundredth of a second's starts saved up: no burst after a lull.
            burst = max(1.0, self.rate / 100)
            self._tokens = min(burst, self._tokens + (now - self._counted) * self.rate)
            self._counted = now
            if self._tokens < 1 and not owe:
                return False
            self._tokens -= 1
        self._started += 1
        return True

    def _grant(self) -> None:
        """Start as many waiting exchanges as the pace allows, member by member."""
        self._next_grant = None
        while self._turns and self._token():
            member = self._turns.popleft()
            queue = self._waiting[member]
            place = queue.popleft()
            if queue:
                self._turns.append(member)  # its next exchange waits for its next turn
            else:
                del self._waiting[member]
            if place.done():  # it gave up in the meantime: the start goes to the next
                self._started -= 1
                if self.rate != math.inf:
                    self._tokens += 1
            else:
                place.set_result(None)
        self._grant_later()

    def _grant_later(self) -> None:
        if self._turns and self._next_grant is None:
            # When the next start is due (at least a millisecond on: starts are batched).
            due = 0.0 if self.rate == math.inf else (1 - self._tokens) / self.rate
            loop = asyncio.get_running_loop()
            self._next_grant = loop.call_later(max(0.001, due), self._grant)

    def _forget(self, member: str, place: asyncio.Future[None]) -> None:
        queue = self._waiting.get(member)
        if queue is None or place not in queue:
            return
        queue.remove(place)
        if not queue:
            del self._waiting[member]
            self._turns.remove(member)


def _thread_demand() -> float:
    """Seconds the calling thread has run or waited to run on a core (Linux's scheduler
    statistics; elsewhere only the time it ran)."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            ran, waited = stats.read().split()[:2]
    except (OSError, ValueError):
        return time.thread_time()
    return (int(ran) + int(waited)) / 1e9


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
    a call or refuse it, ``start`` starts an exchange in its member's turn; each gives a
    ``Held`` that gives the place back."""

    def __init__(
        self,
        limits: AdmissionLimits,
        records: RefusalRecords,
        clock: Callable[[], float] = time.time,
        observe_wait: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self.limits = limits
        self.records = records
        self.calls = MemberPlaces(limits.member_calls, limits.member_waiting)
        # A stream lives long: waiting for another of the member's to end could be forever.
        self.streams = MemberPlaces(limits.member_streams, 0)
        self.pace = Pace(limits.busy)
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

    async def start(self, x: Exchange) -> Held:
        """Start ``x`` (its caller identified) in its member's turn; from then on it is
        judged and recorded as of that moment (its ``received_at``)."""
        waited = time.perf_counter()
        try:
            turn = await self.pace.take(x.member_id)
        except asyncio.CancelledError:
            await self._gave_up(x.member_id, x.certificate_serial, EXCHANGES, x.request_digest)
            raise
        self._observe_wait(time.perf_counter() - waited)
        x.received_at = self._clock()
        return turn

    async def run(self) -> None:
        """Set the pace and write the refusals' summaries, for as long as the hub runs."""
        await asyncio.gather(self.pace.run(), self.records.run())

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
