"""Admission control through a real hub process: a member past its bound on open streams is
refused RESOURCE_EXHAUSTED RATE_LIMITED while another member's query is answered, and the
flood leaves two records in the log that count every refusal."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jembatan.errors import REASON_METADATA_KEY
from tests.stack import ELIGIBILITY_ID, Stack, employment_query, start_stack

FLOODER_ID = "ID/GOV/DINSOS/eligibility"
BULK = "/jembatan.v1.Exchange/Bulk"
STREAMS, FLOOD = 2, 30


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[Stack]:
    """A hub of its own that lets a member hold two streams, with one refusal window for
    the whole test."""
    args = ["--member-streams", str(STREAMS), "--rate-limit-window", "600"]
    running = start_stack(tmp_path / "hub", hub_args=args)
    yield running
    running.hub.stop()
    running.sim.stop()


def _metric(stack: Stack, name: str, **labels: str) -> float:
    with urllib.request.urlopen(stack.metrics_url, timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def _streams_open(stack: Stack, count: int) -> None:
    deadline = time.monotonic() + 10
    while _metric(stack, "jembatan_streams_open") != count:
        assert time.monotonic() < deadline, "the streams were not admitted"
        await asyncio.sleep(0.05)


async def test_a_member_past_its_streams_is_rate_limited_while_another_is_answered(
    tight: Stack,
) -> None:
    stack = tight
    stack.member(FLOODER_ID)
    consent, _ = stack.consent(stack.people.employed)
    before = stack.log_size()  # after the consent's grant, itself recorded
    async with stack.channel(FLOODER_ID) as channel:
        # Idle streams: opened, nothing sent, never read.
        held = [channel.stream_stream(BULK)() for _ in range(STREAMS)]
        await _streams_open(stack, STREAMS)
        flood = [channel.stream_stream(BULK)() for _ in range(FLOOD)]
        async with stack.client() as client:  # the quiet member, meanwhile
            answer = await employment_query(client, stack.people.employed, consent)
        outcomes = [
            (await call.code(), dict(await call.trailing_metadata() or ()).get(REASON_METADATA_KEY))
            for call in flood
        ]
        assert all(call.done() is False for call in held)  # still open, still its own
        for call in held:
            call.cancel()
    assert answer.subject_found and "employment_status" in answer.fields  # receipt checked
    assert outcomes == [(grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")] * FLOOD
    counted = _metric(
        stack, "jembatan_admission_refusals_total", client=FLOODER_ID, reason="RATE_LIMITED"
    )
    assert counted == FLOOD

    stack.hub.stop()  # a clean stop writes the open window's summary
    records = stack.records(before)
    refused = [r for r in records if r.reason == "RATE_LIMITED"]
    # The first refusal in full, before it was answered; the other 29 in one summary.
    assert [(r.client_id, r.service_id, r.status, r.stage, r.count) for r in refused] == [
        (FLOODER_ID, "jembatan.v1.Exchange/Bulk", "RESOURCE_EXHAUSTED", "admission", 1),
        (FLOODER_ID, "jembatan.v1.Exchange/Bulk", "RESOURCE_EXHAUSTED", "admission", FLOOD - 1),
    ]
    (released,) = [r for r in records if r.decision == "RELEASED"]
    assert released.client_id == ELIGIBILITY_ID
