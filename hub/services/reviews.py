"""Officers' reviews of break-glass records, and the list of those still waiting for one.

A review is a record of its own in the log (``AuditRecord.review``): the answered
``Audit.ReviewBreakGlass`` call, appended like every call, so it is in the same Merkle tree
and proven by the same inclusion proofs as the exchange it judges. Nothing else holds a
review: a record's state is read back from the log, the latest review deciding.

A review concludes ``justified``, ``unjustified`` or ``escalated``. The first two are
final: a further review of the record is refused ``ALREADY_DECIDED`` (a mistaken verdict is
answered by a finding outside the log, not by overwriting one inside it). An escalation
hands the record on: whoever it was escalated to records the final review, and until then
the record is still open. Two reviews of one record at once are kept apart by a claim in
the store (``hub.services.claims``), so two replicas cannot both record a final verdict.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

import grpc

from hub.services.calls import MemberCall, ServiceCalls
from hub.services.claims import Claims
from hub.store.base import HubStore
from jembatan.audit.record import (
    ESCALATED,
    REVIEW_KIND,
    REVIEW_OUTCOMES,
    AuditRecord,
    Review,
)
from jembatan.certs import CONSOLE
from jembatan.errors import Refusal
from jembatan.subject import free_text_problem
from jembatan.v1 import audit_pb2

MAX_NOTE = 1000
UNREVIEWED = "unreviewed"
# ListBreakGlass's state filter: one state, or "open" (awaiting a final review: unreviewed
# or escalated), or "closed" (justified or unjustified).
OPEN, CLOSED = "open", "closed"
STATES = (UNREVIEWED, *REVIEW_OUTCOMES)
_PAGE = 500


def request_problem(request: audit_pb2.ReviewBreakGlassRequest) -> Refusal | None:
    """Why the review's outcome or note may not be recorded; None if they may."""
    if request.outcome not in REVIEW_OUTCOMES:
        return Refusal("MALFORMED_REQUEST", f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}")
    problem = free_text_problem(request.note, MAX_NOTE)
    if problem:
        return Refusal("MALFORMED_REQUEST", f"the note {problem}")
    return None


@dataclass(frozen=True, slots=True)
class ReviewedState:
    """Where a break-glass record stands: its reviews in log order (index, leaf, record)."""

    reviews: tuple[tuple[int, bytes, bytes], ...]

    @property
    def latest(self) -> Review | None:
        if not self.reviews:
            return None
        return AuditRecord.from_json(self.reviews[-1][2]).review

    @property
    def state(self) -> str:
        latest = self.latest
        return latest.outcome if latest is not None else UNREVIEWED

    @property
    def open(self) -> bool:
        return self.state in (UNREVIEWED, ESCALATED)

    def matches(self, wanted: str) -> bool:
        if not wanted:
            return True
        if wanted == OPEN:
            return self.open
        if wanted == CLOSED:
            return not self.open
        return self.state == wanted


class BreakGlassReviews:
    """``Audit.ReviewBreakGlass`` and ``Audit.ListBreakGlass`` on ``store``'s log."""

    def __init__(self, store: HubStore, calls: ServiceCalls) -> None:
        self._store = store
        self._calls = calls
        self._claims = Claims(store, calls)

    async def review(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        request: audit_pb2.ReviewBreakGlassRequest,
    ) -> audit_pb2.LoggedRecord:
        if not call.recorded.on_behalf_of and CONSOLE in call.member.roles:
            # The console's certificate is shared: a review must say which officer made it.
            await self._calls.refuse(
                context,
                call,
                Refusal("MALFORMED_REQUEST", "a console's review must name the officer"),
            )
        problem = request_problem(request)
        if problem is not None:
            await self._calls.refuse(context, call, problem)
        index = request.index
        entry = await self._calls.store(self._store.entry, index)
        if entry is None:
            await self._calls.refuse(context, call, Refusal("UNKNOWN_TARGET", f"no record {index}"))
        if not AuditRecord.from_json(entry[1]).break_glass:
            refusal = Refusal("UNKNOWN_TARGET", f"record {index} is not a break-glass exchange")
            await self._calls.refuse(context, call, refusal)
        taken = Refusal("ALREADY_DECIDED", f"record {index} is being reviewed by another call")
        async with self._claims.hold(context, call, f"break-glass-review:{index}", taken):
            reviewed = ReviewedState(
                await self._calls.store(lambda: tuple(self._reviews_of(index)))
            )
            if not reviewed.open:
                last = reviewed.reviews[-1][0]
                detail = f"record {index} was already reviewed {reviewed.state} (record {last})"
                await self._calls.refuse(context, call, Refusal("ALREADY_DECIDED", detail))
            logged = await self._calls.record_kind(
                context, call, review=Review(index, request.outcome, request.note)
            )
        return audit_pb2.LoggedRecord(index=logged.index, leaf_hash=logged.leaf_hash)

    def _reviews_of(self, index: int) -> Iterable[tuple[int, bytes, bytes]]:
        filters = {"kind": REVIEW_KIND, "reviewed_index": str(index)}
        yield from _every(self._store, filters, index)

    async def list(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        request: audit_pb2.ListBreakGlassRequest,
    ) -> audit_pb2.BreakGlassList:
        if request.state not in ("", OPEN, CLOSED, *STATES):
            wanted = ", ".join((OPEN, CLOSED, *STATES))
            refusal = Refusal("MALFORMED_REQUEST", f"state must be empty or one of {wanted}")
            await self._calls.refuse(context, call, refusal)
        limit = min(request.limit or _PAGE, _PAGE)
        after = request.after_index if request.has_after_index else None
        response = await self._calls.store(self._listed, request.state, limit, after)
        return await self._calls.answer(context, call, response)

    def _listed(self, state: str, limit: int, after: int | None) -> audit_pb2.BreakGlassList:
        """Up to ``limit`` cases in ``state`` after index ``after``: the log's pages read
        in one storage step."""
        now = self._calls.now()
        cases: list[audit_pb2.BreakGlassCase] = []
        reviews: dict[int, list[tuple[int, bytes, bytes]]] | None = None
        more = False
        while not more:
            rows = self._store.search({"break_glass": "1"}, after_index=after, limit=_PAGE)
            if not rows:
                break
            if reviews is None:  # a review always follows its record: those after the first
                reviews = {}
                for review in _every(self._store, {"kind": REVIEW_KIND}, rows[0][0]):
                    judged = AuditRecord.from_json(review[2]).review
                    if judged is not None:
                        reviews.setdefault(judged.reviewed_index, []).append(review)
            for index, leaf, record_json in rows:
                reviewed = ReviewedState(tuple(reviews.get(index, ())))
                if not reviewed.matches(state):
                    continue
                if len(cases) == limit:
                    more = True
                    break
                cases.append(_case(index, leaf, record_json, reviewed, now))
            if len(rows) < _PAGE:
                break
            after = rows[-1][0]
        return audit_pb2.BreakGlassList(cases=cases, more=more)


def _every(
    store: HubStore, filters: dict[str, str], after: int
) -> Iterable[tuple[int, bytes, bytes]]:
    """Every record matching ``filters`` after index ``after``, a page at a time."""
    while True:
        rows = store.search(filters, after_index=after, limit=_PAGE)
        yield from rows
        if len(rows) < _PAGE:
            return
        after = rows[-1][0]


def _case(
    index: int, leaf: bytes, record_json: bytes, reviewed: ReviewedState, now: datetime.datetime
) -> audit_pb2.BreakGlassCase:
    case = audit_pb2.BreakGlassCase(
        entry=audit_pb2.AuditEntry(index=index, leaf_hash=leaf, record_json=record_json),
        state=reviewed.state,
        reviews=len(reviewed.reviews),
    )
    if reviewed.reviews:
        review_index, review_leaf, review_json = reviewed.reviews[-1]
        case.review.CopyFrom(
            audit_pb2.AuditEntry(index=review_index, leaf_hash=review_leaf, record_json=review_json)
        )
    if reviewed.open:
        logged = datetime.datetime.fromisoformat(AuditRecord.from_json(record_json).time)
        case.waiting_s = max(0, int((now - logged).total_seconds()))
    return case
