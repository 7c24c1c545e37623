"""Forward alone: the agency's connector is asked, with a deadline, for the released fields
only, under the exchange's digest; a failed call is refused by its gRPC status."""

from __future__ import annotations

import hashlib

import grpc
import pytest

from hub.pipeline.stages import Forward
from jembatan.v1 import connector_pb2
from tests.pipeline.fakes import (
    AGENCY_ID,
    ENDPOINT,
    FIELDS,
    NIK,
    SERVICE_ID,
    FakeConnectors,
    authorized_query,
    refusal,
)

DEADLINE_S = 1.5
ANSWER = connector_pb2.FetchResponse(body=b"signed result", signature="a.b.c")


def _forward(
    connectors: FakeConnectors, observed: list[tuple[str, float, str]] | None = None
) -> Forward:
    calls = [] if observed is None else observed
    return Forward(
        connectors,  # stands in for the ConnectorPool: its one method, faked
        DEADLINE_S,
        lambda agency, seconds, failure: calls.append((agency, seconds, failure)),
    )


async def test_the_route_is_asked_for_the_released_fields_under_the_exchange_digest() -> None:
    connectors = FakeConnectors(answer=lambda request: ANSWER)
    observed: list[tuple[str, float, str]] = []
    x = authorized_query()
    await _forward(connectors, observed)(x)
    assert x.agency_response == ANSWER
    [fetch] = connectors.fetches
    assert (fetch.endpoint, fetch.agency_id, fetch.deadline_s) == (ENDPOINT, AGENCY_ID, DEADLINE_S)
    assert fetch.request == connector_pb2.FetchRequest(
        # Not the client's request_id: the digest of the exact request received.
        request_id=hashlib.sha256(x.raw).hexdigest(),
        service_id=SERVICE_ID,
        subject=NIK,
        fields=list(FIELDS),
    )
    [(agency, seconds, failure)] = observed
    assert (agency, failure) == (AGENCY_ID, "") and seconds >= 0


async def test_only_what_the_decision_releases_is_asked_for() -> None:
    # The body asks for four fields; the decision releases two: the agency hears of two.
    connectors = FakeConnectors(answer=lambda request: ANSWER)
    x = authorized_query(released=FIELDS[:2])
    await _forward(connectors)(x)
    assert list(connectors.fetches[0].request.fields) == list(FIELDS[:2])


async def test_no_answer_within_the_deadline_is_connector_timeout() -> None:
    observed: list[tuple[str, float, str]] = []
    x = authorized_query()
    forward = _forward(FakeConnectors(fail=grpc.StatusCode.DEADLINE_EXCEEDED), observed)
    assert await refusal(forward, x) == "CONNECTOR_TIMEOUT"
    assert x.agency_response is None
    assert [(a, f) for a, _, f in observed] == [(AGENCY_ID, "CONNECTOR_TIMEOUT")]


@pytest.mark.parametrize(
    "status",
    [
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNIMPLEMENTED,
    ],
    ids=lambda status: status.name,
)
async def test_any_other_failed_call_is_connector_unavailable(status: grpc.StatusCode) -> None:
    observed: list[tuple[str, float, str]] = []
    x = authorized_query()
    assert await refusal(_forward(FakeConnectors(fail=status), observed), x) == (
        "CONNECTOR_UNAVAILABLE"
    )
    assert x.agency_response is None
    assert [(a, f) for a, _, f in observed] == [(AGENCY_ID, "CONNECTOR_UNAVAILABLE")]
