"""Admission control: how much of the hub one member may hold, and whose exchange runs next.

One member must not be able to crowd out the others, however many calls it makes or streams
it holds. Right after a call's caller is identified (from its mTLS certificate: an
unidentified caller is never admitted, it is refused by identify) and before any costly work
(the JWS verification, the agency call), the hub admits it or refuses it:

* **Per member, bounded.** A member has at most ``member_calls`` Query and FanOut calls in
  the hub at once (waiting or running) and at most ``member_streams`` streams open (Bulk,
  Audit.StreamRecords, Audit.ExportRange). One more is refused at once, ``RESOURCE_EXHAUSTED
  RATE_LIMITED``: a member holding thousands of streams (idle, half-read, or sending and never
  reading) holds its own few slots, and no one else's.
* **Fair turns.** At most ``running`` exchanges (each leg of a query, fan-out or bulk
  applicant) are worked on at once, over all members. When that many are, the next exchange
  waits its turn, and each freed place goes to the members with a waiting exchange in turn
  (round robin): a member with a thousand exchanges waiting and a member with one get the
  next two places, one each. So a quiet member waits at most for one exchange to finish,
  not for a flooding member's backlog; and a member alone gets the whole hub.
* **Refusals are recorded, a flood does not fill the log.** Of a member certificate's
  refusals for one method, the first in each ``refusal_window_s`` is recorded in full before
  it is answered (as every refusal is); the others of that window are counted, and written
  as one summary record (``count``: how many) once the window has ended. So a flood leaves at
  most two records per member, method and window, and none of it goes uncounted. A refusal
  that cannot be recorded fails closed like any (``AUDIT_UNAVAILABLE``).

The numbers live in ``AdmissionLimits`` (``jembatan serve`` options); what they do under a
flood is measured by ``bench/fairness.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from types import TracebackType

from hub.audit.log import AuditLog, AuditUnavailable, pending_entry
from hub.audit.recording import Call, audit_record
from jembatan.errors import Refusal

log = logging.getLogger(__name__)
# The stage admission refusals are recorded under (a query refused here got no further).
STAGE = "admission"


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    # Query and FanOut calls one member may have in the hub at once, waiting or running.
    member_calls: int = 64
    # Bulk, Audit.StreamRecords and Audit.ExportRange streams one member may hold open.
    member_streams: int = 8
    # Exchanges worked on at once over all members; the rest wait their turn (fair turns).
    # Enough to keep the hub busy (connector calls and audit writes overlap), few enough
    # that a newcomer does not share the hub with hundreds of others' exchanges.
    running: int = 16
    # A member's RATE_LIMITED refusals of one method: one full record per window, the rest
    # summed up in one record when it ends.
    refusal_window_s: float = 10.0

    def __post_init__(self) -> None:
        if min(self.member_calls, self.member_streams, self.running) < 1:
            raise ValueError("admission limits must be at least 1")
        if not self.refusal_window_s > 0:
            raise ValueError("the refusal window must be positive")


class Held:
    """A place taken in the hub; given back when the ``with`` block it guards ends."""

    __slots__ = ("_release",)

    def __init__(self, release: Callable[[], None]) -> None:
        self._release = release

    def __enter__(self) -> Held:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._release()


class FairTurns:
    """At most ``limit`` exchanges run at once; the others wait, and each freed place goes to
    the members with waiting exchanges in turn, to each member's oldest."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        # Members with a waiting exchange, in the order they are served.
        self._turns: deque[str] = deque()
        self.running = 0

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def acquire(self, member: str) -> None:
        if self._free and not self._turns:
            self._free -= 1
            self.running += 1
            return
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
                self.release()  # handed the place just as it gave up: pass it on
            else:
                self._forget(member, place)
            raise

    def release(self) -> None:
        self.running -= 1
        while self._turns:
            member = self._turns.popleft()
            queue = self._waiting[member]
            place = queue.popleft()
            if queue:
                self._turns.append(member)  # its next exchange waits for its next turn
            else:
                del self._waiting[member]
            if not place.done():
                place.set_result(None)
                self.running += 1
                return
        self._free += 1

    def _forget(self, member: str, place: asyncio.Future[None]) -> None:
        queue = self._waiting.get(member)
        if queue is None or place not in queue:
            return
        queue.remove(place)
        if not queue:
            del self._waiting[member]
            self._turns.remove(member)


@dataclass(slots=True)
class _Window:
    opened: float
    # Refusals since the window's full record, not recorded one by one.
    unrecorded: int = 0


# (member id, certificate serial, full gRPC method name)
_Key = tuple[str, str, str]


class RefusalRecords:
    """The audit records of RATE_LIMITED refusals: per member certificate and method, the
    first of each window in full, the rest as one summary with their count."""

    def __init__(
        self,
        audit: AuditLog,
        window_s: float,
        clock: Callable[[], float],
        counted: Callable[[str, str], None] = lambda member, method: None,
    ) -> None:
        self._audit = audit
        self._window_s = window_s
        self._clock = clock
        # (member, method) of every refusal, recorded one by one or not: the metric.
        self._counted = counted
        self._windows: dict[_Key, _Window] = {}

    async def refused(self, key: _Key, request_digest: str, refusal: Refusal) -> None:
        """Account for ``refusal`` of the call ``key`` names (``request_digest``: the digest
        its full record would carry); raises AUDIT_UNAVAILABLE if a record it needs cannot
        be written."""
        self._counted(key[0], key[2])
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
            log.error("rate-limited call failed closed: %s", exc)
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
        summary = Refusal("RATE_LIMITED", "summary")
        try:
            await self._append(key, summary, now, "", count)
        except AuditUnavailable as exc:
            log.error("%d rate-limited refusals not yet recorded: %s", count, exc)
            return False
        return True

    async def _append(
        self, key: _Key, refusal: Refusal, at: float, request_digest: str, count: int
    ) -> None:
        member, serial, method = key
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
    or refuse, ``turn`` waits for a place to work; each gives a ``Held`` to give it back."""

    def __init__(
        self,
        limits: AdmissionLimits,
        records: RefusalRecords,
        observe_wait: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        self.limits = limits
        self.records = records
        self.turns = FairTurns(limits.running)
        self._observe_wait = observe_wait
        self._calls: Counter[str] = Counter()
        self._streams: Counter[str] = Counter()

    @property
    def calls(self) -> int:
        return self._calls.total()

    @property
    def streams(self) -> int:
        return self._streams.total()

    async def call(self, member: str, serial: str, method: str, request_digest: str = "") -> Held:
        """A Query or FanOut call of ``member`` (its certificate ``serial``), or RATE_LIMITED."""
        return await self._take(
            self._calls,
            self.limits.member_calls,
            "calls in the hub",
            (member, serial, method),
            request_digest,
        )

    async def stream(self, member: str, serial: str, method: str, request_digest: str = "") -> Held:
        """A stream ``member`` opens, or RATE_LIMITED."""
        return await self._take(
            self._streams,
            self.limits.member_streams,
            "streams open",
            (member, serial, method),
            request_digest,
        )

    async def turn(self, member: str) -> Held:
        """A place to work on one exchange of ``member``, when its turn comes."""
        started = perf_counter()
        await self.turns.acquire(member)
        self._observe_wait(perf_counter() - started)
        return Held(self.turns.release)

    async def _take(
        self, held: Counter[str], limit: int, what: str, key: _Key, request_digest: str
    ) -> Held:
        member = key[0]
        if held[member] >= limit:
            refusal = Refusal("RATE_LIMITED", f"the member already has {limit} {what}; retry later")
            await self.records.refused(key, request_digest, refusal)
            raise refusal
        held[member] += 1

        def release() -> None:
            held[member] -= 1
            if not held[member]:
                del held[member]  # members come and go: keep only those holding something

        return Held(release)
