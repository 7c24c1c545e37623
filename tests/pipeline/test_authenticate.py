"""Authenticate alone: the body is signed by the caller's key, fresh, not replayed, and
well-formed (every text the audit record keeps is of a shape that cannot carry a NIK)."""

from __future__ import annotations

import pytest

from hub.pipeline.replay import ReplayGuard
from hub.pipeline.stages import Authenticate
from hub.store.base import Nonce
from jembatan.jws import APPROVAL_TYPE, REQUEST_TYPE, RESPONSE_TYPE
from jembatan.limits import MAX_CORRELATION_ID, MAX_FIELDS
from jembatan.v1 import exchange_pb2
from tests.forged_jws import broken_rules, forged_envelope
from tests.pipeline.fakes import (
    CLIENT,
    CLIENT_ID,
    CLOCK_SKEW_S,
    MAX_AGE_S,
    NOW,
    OTHER_CLIENT,
    OTHER_CLIENT_ID,
    identified,
    query_body,
    refusal,
    sign,
    signed_request,
    with_unknown_field,
)


def _authenticate(replay: ReplayGuard | None = None) -> Authenticate:
    # Not ``replay or ...``: an empty guard is falsy (it has a length).
    return Authenticate(ReplayGuard() if replay is None else replay, MAX_AGE_S, CLOCK_SKEW_S)


async def test_a_signed_fresh_request_passes_and_claims_its_nonce() -> None:
    body = query_body()
    x = identified(signed_request(body))
    await _authenticate()(x)
    assert x.body == body
    [nonce] = x.nonces
    assert nonce.issuer == CLIENT_ID
    # Kept as long as the request could still be fresh: issued + max age + clock skew.
    assert nonce.expires_at == int(NOW) + MAX_AGE_S + CLOCK_SKEW_S


def _over_another_body() -> exchange_pb2.QueryRequest:
    request = signed_request(query_body())
    other = signed_request(query_body(request_id="another"))
    return exchange_pb2.QueryRequest(body=request.body, signature=other.signature)


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(signed_request(query_body(), OTHER_CLIENT, issuer=CLIENT_ID), id="other-key"),
        pytest.param(signed_request(query_body(), typ=RESPONSE_TYPE), id="response-typ"),
        pytest.param(signed_request(query_body(), typ=APPROVAL_TYPE), id="approval-typ"),
        pytest.param(signed_request(query_body(), issuer=OTHER_CLIENT_ID), id="other-issuer"),
        pytest.param(_over_another_body(), id="other-body"),
        pytest.param(
            exchange_pb2.QueryRequest(body=query_body().SerializeToString(), signature="a.b.c"),
            id="not-a-jws",
        ),
        pytest.param(
            exchange_pb2.QueryRequest(body=query_body().SerializeToString()), id="unsigned"
        ),
    ],
)
async def test_a_bad_signature_is_signature_invalid(request_: exchange_pb2.QueryRequest) -> None:
    x = identified(request_)
    assert await refusal(_authenticate(), x) == "SIGNATURE_INVALID"
    assert x.body is None and x.nonces == []


@pytest.mark.parametrize(
    ("at", "ttl_s"),
    [
        pytest.param(NOW - MAX_AGE_S - 1, 600, id="older-than-max-age"),
        pytest.param(NOW + CLOCK_SKEW_S + 1, 30, id="issued-in-the-future"),
        pytest.param(NOW - CLOCK_SKEW_S - 11, 10, id="past-its-exp"),
        # iat now, exp in ten years: the lifetime is bounded by the freshness window.
        pytest.param(NOW, 10 * 365 * 86400, id="exp-in-ten-years"),
        pytest.param(NOW, MAX_AGE_S + 1, id="lifetime-longer-than-max-age"),
    ],
)
async def test_a_request_out_of_its_window_is_request_expired(at: float, ttl_s: int) -> None:
    x = identified(signed_request(query_body(), at=at, ttl_s=ttl_s))
    assert await refusal(_authenticate(), x) == "REQUEST_EXPIRED"
    assert x.nonces == []


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(NOW + CLOCK_SKEW_S, id="client-ahead-by-the-skew"),
        pytest.param(NOW - 30 - CLOCK_SKEW_S, id="client-behind-past-exp-by-the-skew"),
    ],
)
async def test_a_client_clock_off_by_the_skew_either_way_passes(at: float) -> None:
    x = identified(signed_request(query_body(), at=at, ttl_s=30))
    await _authenticate()(x)
    assert x.body is not None


async def test_freshness_is_judged_by_the_exchange_clock() -> None:
    # Fresh when signed, an hour old when received: the stage reads x.received_at.
    x = identified(signed_request(query_body()), received_at=NOW + 3600)
    assert await refusal(_authenticate(), x) == "REQUEST_EXPIRED"


def _forged(**how: object) -> exchange_pb2.QueryRequest:
    """A request whose envelope is made by hand, genuinely signed by the client's key."""
    data = query_body().SerializeToString()
    signature = forged_envelope(
        data,
        CLIENT.key,
        issuer=CLIENT_ID,
        typ=REQUEST_TYPE,
        at=NOW,
        **how,  # type: ignore[arg-type]
    )
    return exchange_pb2.QueryRequest(body=data, signature=signature)


_FORGED = broken_rules(
    typ=REQUEST_TYPE, other_typ=RESPONSE_TYPE, issuer=CLIENT_ID, other_serial=OTHER_CLIENT.serial
)


@pytest.mark.parametrize("how", _FORGED.values(), ids=_FORGED.keys())
async def test_a_header_or_claims_the_hub_does_not_accept_is_signature_invalid(
    how: dict[str, object],
) -> None:
    x = identified(_forged(**how))
    assert await refusal(_authenticate(), x) == "SIGNATURE_INVALID"
    assert x.body is None and x.nonces == []


async def test_a_kid_naming_the_callers_own_certificate_passes() -> None:
    # kid is optional on a request (the key comes from the TLS certificate); when present,
    # it names that very certificate.
    x = identified(_forged(header={"kid": CLIENT.serial}))
    await _authenticate()(x)
    assert x.body is not None


async def test_a_body_naming_another_client_is_client_id_mismatch() -> None:
    x = identified(signed_request(query_body(client_id=OTHER_CLIENT_ID)))
    assert await refusal(_authenticate(), x) == "CLIENT_ID_MISMATCH"
    assert x.nonces == []


async def test_the_same_request_twice_is_replayed() -> None:
    replay = ReplayGuard()
    request = signed_request(query_body())
    await _authenticate(replay)(identified(request))
    again = identified(request)
    assert await refusal(_authenticate(replay), again) == "REPLAYED"
    assert again.body is None and again.nonces == []


async def test_a_nonce_already_live_in_storage_is_replayed() -> None:
    # Seeded at start from storage: a restart does not reopen the replay window.
    request = signed_request(query_body())
    first = identified(request)
    await _authenticate()(first)
    restarted = ReplayGuard(live=[Nonce(n.issuer, n.value, n.expires_at) for n in first.nonces])
    assert await refusal(_authenticate(restarted), identified(request)) == "REPLAYED"


async def test_a_subject_that_is_no_nik_is_invalid_subject() -> None:
    x = identified(signed_request(query_body(subject="351000000000001")))
    assert await refusal(_authenticate(), x) == "INVALID_SUBJECT"
    # The body is kept (for the audit) and the nonce is claimed all the same.
    assert x.body is not None and len(x.nonces) == 1


_MALFORMED = {
    "not-a-query-body": b"\x0a\x05ab",
    "unknown-field": with_unknown_field(query_body().SerializeToString()),
    "service-id-shape": query_body(service_id="BPJSTK/employment").SerializeToString(),
    "purpose-shape": query_body(purpose="Bansos Eligibility").SerializeToString(),
    "purpose-holds-nik": query_body(purpose="p3510000000000001").SerializeToString(),
    "request-id-shape": query_body(request_id="case 17").SerializeToString(),
    "request-id-too-long": query_body(
        request_id="r" * (MAX_CORRELATION_ID + 1)
    ).SerializeToString(),
    "request-id-holds-nik": query_body(request_id="3510000000000001").SerializeToString(),
    "no-fields": query_body(fields=[]).SerializeToString(),
    "too-many-fields": query_body(
        fields=[f"f{i}" for i in range(MAX_FIELDS + 1)]
    ).SerializeToString(),
    "repeated-field": query_body(fields=["employer", "employer"]).SerializeToString(),
    "field-name-shape": query_body(fields=["Employer"]).SerializeToString(),
    "field-name-holds-nik": query_body(fields=["f3510000000000001"]).SerializeToString(),
}


@pytest.mark.parametrize("data", _MALFORMED.values(), ids=_MALFORMED.keys())
async def test_a_malformed_body_is_malformed_request(data: bytes) -> None:
    # Correctly signed: only the body's shape is wrong.
    x = identified(exchange_pb2.QueryRequest(body=data, signature=sign(data, CLIENT)))
    assert await refusal(_authenticate(), x) == "MALFORMED_REQUEST"
    assert x.body is None


async def test_the_longest_request_id_and_most_fields_pass() -> None:
    # The limits above are limits, not off by one.
    body = query_body(
        request_id="r" * MAX_CORRELATION_ID, fields=[f"f{i}" for i in range(MAX_FIELDS)]
    )
    x = identified(signed_request(body))
    await _authenticate()(x)
    assert x.body == body
