"""Break-glass review from the console: the list of break-glass records with where each
stands (unreviewed and for how long, or the latest review's outcome), and an officer's
review, which the hub appends to its log as a record of its own (``hub.services.reviews``).

The console checks the outcome and the note as the hub will (so the page can say what is
wrong before anything is sent), but the hub's check is the one that counts; each call names
the officer, whom the hub records as the reviewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.console.reader import Inclusion, LogReader
from hub.services.reviews import MAX_NOTE
from jembatan.audit.record import REVIEW_OUTCOMES, AuditRecord
from jembatan.subject import free_text_problem
from jembatan.v1 import audit_pb2


def review_problem(outcome: str, note: str) -> str | None:
    """Why the hub would refuse this review's outcome or note; None if it would not."""
    if outcome not in REVIEW_OUTCOMES:
        return f"outcome must be one of {', '.join(REVIEW_OUTCOMES)}"
    problem = free_text_problem(note, MAX_NOTE)
    return f"the note {problem}" if problem else None


@dataclass(frozen=True, slots=True)
class Reviewed:
    """A review as logged, and whether the console proved it is in the log."""

    index: int
    inclusion: Inclusion


async def review(reader: LogReader, officer: str, index: int, outcome: str, note: str) -> Reviewed:
    """Record ``officer``'s review of break-glass record ``index``, then prove the review's
    own record is in the log (as any record page does). Raises QueryRefused (with the
    hub's reason: UNKNOWN_TARGET, MALFORMED_REQUEST, ALREADY_DECIDED) or HubCallFailed."""
    request = audit_pb2.ReviewBreakGlassRequest(index=index, outcome=outcome, note=note)
    logged = await reader.call(reader.audit.ReviewBreakGlass, request, officer)
    entry = await reader.record(logged.index, officer)
    return Reviewed(logged.index, await reader.prove(logged.index, entry.record_json, officer))


async def cases(
    reader: LogReader,
    officer: str,
    *,
    state: str = "",
    after_index: int | None = None,
    limit: int = 50,
) -> audit_pb2.BreakGlassList:
    """Break-glass records, oldest first, with their review state (``state``: "", one of
    "unreviewed", "justified", "unjustified", "escalated", or "open" / "closed")."""
    request = audit_pb2.ListBreakGlassRequest(state=state, limit=limit)
    if after_index is not None:
        request.after_index, request.has_after_index = after_index, True
    return await reader.call(reader.audit.ListBreakGlass, request, officer)


def reviewer(case: audit_pb2.BreakGlassCase) -> str:
    """Who made the latest review of ``case`` (the officer the console named), or ""."""
    if not case.HasField("review"):
        return ""
    record = AuditRecord.from_json(case.review.record_json)
    return record.on_behalf_of or record.client_id
