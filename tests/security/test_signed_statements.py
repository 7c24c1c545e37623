"""The signed envelope's rules through the real hub process, over real mTLS: an envelope
genuinely signed by the caller's key, refused for its lifetime or a name given twice, with
its exact status and reason and one REFUSED audit record; and the clock skew allowed
either way by the hub as ``jembatan serve`` starts it (its default)."""

from __future__ import annotations

import time

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from jembatan.client import HubClient, QueryRefused
from jembatan.jws import REQUEST_TYPE
from jembatan.keys import load_key_pem
from jembatan.v1 import exchange_pb2
from tests.forged_jws import forged_envelope
from tests.stack import ELIGIBILITY_ID, EMPLOYMENT_FIELDS, PURPOSE, Stack

UNAUTH = grpc.StatusCode.UNAUTHENTICATED
TEN_YEARS_S = 10 * 365 * 86400
# What `jembatan serve` allows unless told otherwise (--clock-skew).
DEFAULT_SKEW_S = 30


def _body(stack: Stack, client: HubClient) -> exchange_pb2.QueryBody:
    """A consented employment query for the employed sample NIK."""
    nik = stack.people.employed
    consent, _ = stack.consent(nik)
    return client.body(
        service_id=EMPLOYMENT_SERVICE,
        subject=nik,
        purpose=PURPOSE,
        fields=EMPLOYMENT_FIELDS,
        consent=consent,
    )


def _forged(stack: Stack, body: exchange_pb2.QueryBody, **how: object) -> exchange_pb2.QueryRequest:
    key = load_key_pem(stack.member(ELIGIBILITY_ID).key_pem)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    data = body.SerializeToString(deterministic=True)
    signature = forged_envelope(
        data,
        key,
        issuer=ELIGIBILITY_ID,
        typ=REQUEST_TYPE,
        at=time.time(),
        **how,  # type: ignore[arg-type]
    )
    return exchange_pb2.QueryRequest(body=data, signature=signature)


async def _refused(stack: Stack, request: exchange_pb2.QueryRequest, reason: str) -> None:
    async with stack.client() as client:
        before = stack.log_size()
        with pytest.raises(QueryRefused) as info:
            await client.send(request)
    assert (info.value.status, info.value.reason) == (UNAUTH, reason)
    assert [(r.decision, r.reason, r.fields_released) for r in stack.records(before)] == [
        ("REFUSED", reason, ())
    ]


async def test_a_request_valid_for_ten_years_is_request_expired(stack: Stack) -> None:
    async with stack.client() as client:
        body = _body(stack, client)
    await _refused(stack, _forged(stack, body, ttl_s=TEN_YEARS_S), "REQUEST_EXPIRED")


async def test_a_request_naming_alg_twice_is_signature_invalid(stack: Stack) -> None:
    # alg "none" first, ES256 last, genuinely signed with ES256: the last value used to win.
    async with stack.client() as client:
        body = _body(stack, client)
    forged = _forged(stack, body, header={"alg": "none"}, header_duplicates=(("alg", "ES256"),))
    await _refused(stack, forged, "SIGNATURE_INVALID")


async def test_the_forged_envelope_itself_is_accepted(stack: Stack) -> None:
    # The control: the same hand-made envelope, with nothing wrong, is released.
    async with stack.client() as client:
        answer = await client.send(_forged(stack, _body(stack, client)))
    assert "employment_status" in answer.fields


@pytest.mark.parametrize("offset_s", [DEFAULT_SKEW_S - 10, -(30 + DEFAULT_SKEW_S - 10)])
async def test_a_client_clock_off_within_the_skew_either_way_is_served(
    stack: Stack, offset_s: int
) -> None:
    # The SDK signs exp = iat + 30; a clock this far ahead or behind is still served.
    async with stack.client() as client:
        request = client.sign(_body(stack, client), now=time.time() + offset_s)
        answer = await client.send(request)
    assert "employment_status" in answer.fields


async def test_a_client_clock_ahead_beyond_the_skew_is_request_expired(stack: Stack) -> None:
    async with stack.client() as client:
        request = client.sign(_body(stack, client), now=time.time() + DEFAULT_SKEW_S + 15)
    await _refused(stack, request, "REQUEST_EXPIRED")
