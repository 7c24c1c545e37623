"""VerifyAgency alone: the response is signed by the service's agency with a usable
certificate, answers this very request, and loses every field that was not asked for."""

from __future__ import annotations

import pytest

from hub.pipeline.exchange import Exchange
from hub.pipeline.stages import CertificateCache, VerifyAgency
from jembatan.jws import REQUEST_TYPE, RESPONSE_TYPE, sign_envelope
from jembatan.v1 import connector_pb2
from jembatan.values import from_wire
from tests.forged_jws import broken_rules, forged_envelope
from tests.pipeline.fakes import (
    AGENCY,
    AGENCY_ID,
    AGENCY_RENEWED,
    CLOCK_SKEW_S,
    EXPIRED,
    MAX_AGE_S,
    NOW,
    OTHER_CLIENT,
    OTHER_CLIENT_ID,
    OTHER_SERVICE_ID,
    FakeRegistry,
    agency_response,
    authorized_query,
    fetch_result,
    refusal,
)

ANSWER = {"employment_status": "active", "employer": "PT Sinar Jaya"}


def _verify(registry: FakeRegistry | None = None) -> VerifyAgency:
    registry = FakeRegistry().add(AGENCY.record()) if registry is None else registry
    return VerifyAgency(registry.snapshot(), CertificateCache(), MAX_AGE_S, CLOCK_SKEW_S)


def _answered() -> Exchange:
    """A query with the agency's (by default honest) answer to it."""
    x = authorized_query()
    x.agency_response = agency_response(fetch_result(x, ANSWER))
    return x


async def test_the_agencys_signed_answer_to_this_request_passes() -> None:
    x = _answered()
    await _verify()(x)
    assert x.fetched is not None
    assert {name: from_wire(value) for name, value in x.fetched.fields.items()} == ANSWER
    assert x.dropped == []


async def test_fields_that_were_not_asked_for_are_dropped() -> None:
    x = authorized_query()
    extra = {**ANSWER, "nik": "3510000000000001", "religion": "none of your business"}
    x.agency_response = agency_response(fetch_result(x, extra))
    await _verify()(x)
    assert x.dropped == ["nik", "religion"]
    assert x.fetched is not None and set(x.fetched.fields) == set(ANSWER)


def _resigned(x: Exchange, **how: object) -> connector_pb2.FetchResponse:
    return agency_response(fetch_result(x, ANSWER), **how)


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({"signer": OTHER_CLIENT, "issuer": AGENCY_ID}, id="other-key"),
        pytest.param({"signer": OTHER_CLIENT}, id="other-member"),
        pytest.param({"issuer": OTHER_CLIENT_ID}, id="other-issuer"),
        pytest.param({"typ": REQUEST_TYPE}, id="request-typ"),
        pytest.param({"at": NOW - MAX_AGE_S - 1}, id="stale"),
        pytest.param({"at": NOW + CLOCK_SKEW_S + 1}, id="future"),
        pytest.param({"at": NOW - CLOCK_SKEW_S - 31}, id="past-its-exp"),
        # Signed now, valid for ten years: no longer than a request may live.
        pytest.param({"ttl_s": 10 * 365 * 86400}, id="exp-in-ten-years"),
    ],
)
async def test_a_signature_that_does_not_hold_is_agency_signature_invalid(
    how: dict[str, object],
) -> None:
    x = authorized_query()
    x.agency_response = _resigned(x, **how)
    assert await refusal(_verify(), x) == "AGENCY_SIGNATURE_INVALID"
    assert x.fetched is None


def _forged(x: Exchange, **how: object) -> connector_pb2.FetchResponse:
    """The agency's answer with an envelope made by hand, genuinely signed by its key."""
    body = fetch_result(x, ANSWER)
    signature = forged_envelope(
        body,
        AGENCY.key,
        issuer=AGENCY_ID,
        typ=RESPONSE_TYPE,
        at=NOW,
        **how,  # type: ignore[arg-type]
    )
    return connector_pb2.FetchResponse(body=body, signature=signature)


# One agency certificate, so no kid is needed to choose it; a kid given must name it all
# the same (kid-of-another-certificate).
_FORGED = broken_rules(
    typ=RESPONSE_TYPE, other_typ=REQUEST_TYPE, issuer=AGENCY_ID, other_serial=OTHER_CLIENT.serial
)


async def test_an_answer_made_by_hand_with_nothing_wrong_passes() -> None:
    # The control for the forged answers below: only the rule each breaks refuses them.
    x = authorized_query()
    x.agency_response = _forged(x, header={"kid": AGENCY.serial})
    await _verify()(x)
    assert x.fetched is not None


@pytest.mark.parametrize("how", _FORGED.values(), ids=_FORGED.keys())
async def test_a_header_or_claims_the_hub_does_not_accept_is_agency_signature_invalid(
    how: dict[str, object],
) -> None:
    x = authorized_query()
    x.agency_response = _forged(x, **how)
    assert await refusal(_verify(), x) == "AGENCY_SIGNATURE_INVALID"
    assert x.fetched is None


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(NOW + CLOCK_SKEW_S, id="connector-ahead-by-the-skew"),
        pytest.param(NOW - 30 - CLOCK_SKEW_S, id="connector-behind-past-exp-by-the-skew"),
    ],
)
async def test_a_connector_clock_off_by_the_skew_either_way_passes(at: float) -> None:
    x = authorized_query()
    x.agency_response = agency_response(fetch_result(x, ANSWER), at=at)
    await _verify()(x)
    assert x.fetched is not None


async def test_a_signature_over_another_body_is_agency_signature_invalid() -> None:
    x = authorized_query()
    honest = agency_response(fetch_result(x, ANSWER))
    other = agency_response(fetch_result(x, {"employment_status": "inactive"}))
    x.agency_response = connector_pb2.FetchResponse(body=other.body, signature=honest.signature)
    assert await refusal(_verify(), x) == "AGENCY_SIGNATURE_INVALID"


async def test_a_response_that_is_no_jws_is_agency_signature_invalid() -> None:
    x = authorized_query()
    x.agency_response = connector_pb2.FetchResponse(body=fetch_result(x, ANSWER), signature="x")
    assert await refusal(_verify(), x) == "AGENCY_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "registry",
    [
        pytest.param(FakeRegistry(), id="agency-unregistered"),
        pytest.param(
            FakeRegistry().add(AGENCY.record(revoked_at="2026-10-01T00:00:00Z")), id="revoked"
        ),
        pytest.param(FakeRegistry().add(AGENCY.record(not_after=EXPIRED)), id="expired"),
        # Another member's certificate does not vouch for the agency's answer.
        pytest.param(FakeRegistry().add(OTHER_CLIENT.record()), id="only-another-member"),
    ],
)
async def test_no_usable_agency_certificate_is_agency_signature_invalid(
    registry: FakeRegistry,
) -> None:
    x = _answered()
    assert await refusal(_verify(registry), x) == "AGENCY_SIGNATURE_INVALID"


def _renewing() -> FakeRegistry:
    """The agency mid-renewal: two unrevoked certificates."""
    return FakeRegistry().add(AGENCY.record()).add(AGENCY_RENEWED.record())


async def test_during_a_renewal_the_kid_names_the_certificate() -> None:
    x = authorized_query()
    x.agency_response = agency_response(fetch_result(x, ANSWER), AGENCY_RENEWED, kid=True)
    await _verify(_renewing())(x)
    assert x.fetched is not None


async def test_during_a_renewal_a_kid_naming_no_agency_certificate_is_invalid() -> None:
    x = authorized_query()
    body = fetch_result(x, ANSWER)
    # The agency's key, but a kid naming another member's certificate.
    signature = sign_envelope(
        body, AGENCY.key, issuer=AGENCY_ID, typ=RESPONSE_TYPE, key_id=OTHER_CLIENT.serial, now=NOW
    )
    x.agency_response = connector_pb2.FetchResponse(body=body, signature=signature)
    assert await refusal(_verify(_renewing().add(OTHER_CLIENT.record())), x) == (
        "AGENCY_SIGNATURE_INVALID"
    )


async def test_during_a_renewal_an_expired_certificate_vouches_for_nothing() -> None:
    # Two registered, one expired: the one left is the only candidate, kid or not.
    registry = FakeRegistry().add(AGENCY.record(not_after=EXPIRED)).add(AGENCY_RENEWED.record())
    x = authorized_query()
    x.agency_response = agency_response(fetch_result(x, ANSWER), AGENCY, kid=True)
    assert await refusal(_verify(registry), x) == "AGENCY_SIGNATURE_INVALID"


async def test_a_signed_body_that_is_no_fetch_result_is_agency_response_invalid() -> None:
    x = authorized_query()
    x.agency_response = agency_response(b"\x0a\x05ab")
    assert await refusal(_verify(), x) == "AGENCY_RESPONSE_INVALID"


@pytest.mark.parametrize(
    "other",
    [
        pytest.param({"request_id": "0" * 64}, id="request-id"),
        pytest.param({"service_id": OTHER_SERVICE_ID}, id="service-id"),
        pytest.param({"agency_id": OTHER_CLIENT_ID}, id="agency-id"),
    ],
)
async def test_an_answer_to_another_request_is_agency_response_invalid(
    other: dict[str, object],
) -> None:
    x = authorized_query()
    x.agency_response = agency_response(fetch_result(x, ANSWER, **other))
    assert await refusal(_verify(), x) == "AGENCY_RESPONSE_INVALID"
    assert x.fetched is None
