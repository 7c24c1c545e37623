"""Break-glass review as the console makes it (``hub.console.reviews``) against the real hub:
the console checks outcome and note as the hub will, records the review for the logged-in
officer, and proves the review's own record is in the log before it says it is."""

from __future__ import annotations

import pytest

from hub.console.reader import LogReader
from hub.console.reviews import cases, review, review_problem, reviewer
from jembatan.audit.record import AuditRecord, Review
from jembatan.client import QueryRefused
from tests.integration.test_break_glass_review import NOTE, _break_glass
from tests.stack import Stack

OFFICER = "dewi.lestari"


def test_the_console_checks_a_review_as_the_hub_will() -> None:
    assert review_problem("justified", NOTE) is None
    assert (
        review_problem("approved", NOTE)
        == "outcome must be one of justified, unjustified, escalated"
    )
    assert review_problem("justified", "") and review_problem("justified", "a\nb")
    assert review_problem("justified", "pemohon 3510-1144-0677-0001 sah")


async def test_a_review_from_the_console_is_recorded_for_the_officer_and_proven(
    stack: Stack,
) -> None:
    index = await _break_glass(stack)
    reader = LogReader(stack.home, stack.address, stack.home.member_dir(stack.console_member()))
    try:
        waiting = {
            case.entry.index: case for case in (await cases(reader, OFFICER, state="open")).cases
        }
        assert waiting[index].state == "unreviewed" and not reviewer(waiting[index])

        done = await review(reader, OFFICER, index, "justified", NOTE)
        assert done.inclusion.failure is None and done.inclusion.checkpoint is not None
        assert done.inclusion.checkpoint.size > done.index

        closed = {
            case.entry.index: case for case in (await cases(reader, OFFICER, state="closed")).cases
        }
        assert closed[index].state == "justified" and reviewer(closed[index]) == OFFICER
        assert closed[index].review.index == done.index
        with pytest.raises(QueryRefused) as refused:
            await review(reader, OFFICER, index, "unjustified", NOTE)
        assert refused.value.reason == "ALREADY_DECIDED"
    finally:
        await reader.close()
    (record,) = [r for r in stack.records(done.index) if r.review is not None][:1]
    assert record == AuditRecord.from_json(closed[index].review.record_json)
    assert record.review == Review(index, "justified", NOTE)
