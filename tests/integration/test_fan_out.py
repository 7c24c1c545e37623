"""Fan-out (one applicant, many services) and bulk (many applicants, one stream).

Both run every leg through the full pipeline: each leg is its own signed, consented,
audited exchange, and a slow, failing or malicious agency costs only its own leg.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import grpc
import pytest

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE
from hub.dev.processes import RunningProcess
from hub.pki import CertificateAuthority
from jembatan.certs import make_csr
from jembatan.client import Applicant, CallSupport, HubClient, RetryLater, refusal_of
from jembatan.keys import cert_to_pem, generate_key, key_to_pem
from jembatan.v1 import exchange_pb2
from tests.rogue_connector import DOWN_SERVICE, flaky_fails, service_id
from tests.stack import EMPLOYMENT_FIELDS, Stack, employment_body

ROGUE_FIELDS = ("employment_status", "monthly_wage")


def _legs(
    client: HubClient, nik: str, consent: str, services: Mapping[str, Sequence[str]]
) -> tuple[exchange_pb2.QueryBody, ...]:
    """One leg a service: ``nik``'s fields of it, under ``consent``."""
    return tuple(
        employment_body(client, nik, consent, f, service_id=s) for s, f in services.items()
    )


def _applicant(
    stack: Stack,
    client: HubClient,
    applicant_id: str,
    nik: str,
    services: Mapping[str, Sequence[str]],
) -> Applicant:
    consent, _ = stack.consent(nik, services=services)
    return Applicant(applicant_id, _legs(client, nik, consent, services))


async def test_fan_out_gives_a_partial_answer_with_each_agency_marked(
    stack: Stack, rogue: RunningProcess
) -> None:
    services = {
        EMPLOYMENT_SERVICE: EMPLOYMENT_FIELDS,
        WAGE_BAND_SERVICE: ("monthly_wage",),
        DOWN_SERVICE: ROGUE_FIELDS,
        service_id("slow"): ROGUE_FIELDS,
        service_id("extra-fields"): ROGUE_FIELDS,
        service_id("bad-signature"): ROGUE_FIELDS,
        # Each of these answers only if the other is asked at the same time.
        service_id("meet-a"): ROGUE_FIELDS,
        service_id("meet-b"): ROGUE_FIELDS,
    }
    async with stack.client(timeout_s=10) as client:
        applicant = _applicant(stack, client, "applicant-1", stack.people.employed, services)
        before = stack.log_size()  # after the consent's grant, itself recorded
        answer = await client.fan_out(applicant)
    assert answer.applicant_id == "applicant-1"
    outcome = {
        leg.service_id: ("OK", "")
        if leg.refusal is None
        else (leg.refusal.status.name, leg.refusal.reason)
        for leg in answer.legs
    }
    assert outcome == {
        EMPLOYMENT_SERVICE: ("OK", ""),
        WAGE_BAND_SERVICE: ("OK", ""),
        DOWN_SERVICE: ("UNAVAILABLE", "CONNECTOR_UNAVAILABLE"),
        service_id("slow"): ("DEADLINE_EXCEEDED", "CONNECTOR_TIMEOUT"),
        service_id("extra-fields"): ("OK", ""),
        service_id("bad-signature"): ("UNAVAILABLE", "AGENCY_SIGNATURE_INVALID"),
        # The legs run at the same time: the two that must meet did.
        service_id("meet-a"): ("OK", ""),
        service_id("meet-b"): ("OK", ""),
    }
    extra = answer.leg(service_id("extra-fields")).answer
    assert extra is not None and set(extra.fields) == set(ROGUE_FIELDS)
    # An agency that is down is the hub's refusal, worth retrying; one that answers with a
    # forged signature needs a person (the hub being down would be HubUnreachable instead).
    down = answer.leg(DOWN_SERVICE).refusal
    assert isinstance(down, RetryLater) and down.retryable and down.stage == "forward"
    forged = answer.leg(service_id("bad-signature")).refusal
    assert isinstance(forged, CallSupport) and not forged.retryable and forged.stage == "verify"
    records = stack.records(before)
    assert len(records) == len(services)  # every leg audited, once
    by_service = {r.service_id: r for r in records}
    assert by_service[service_id("extra-fields")].fields_dropped == (
        "home_address",
        "mother_maiden_name",
    )
    assert {r.decision for s, r in by_service.items() if outcome[s][0] != "OK"} == {"REFUSED"}
    assert b"ROGUE-SECRET" not in stack.stored_bytes()


async def test_a_refused_leg_does_not_spoil_the_others(stack: Stack) -> None:
    """Each leg is checked on its own: one without consent is refused, the other released."""
    nik = stack.people.employed
    async with stack.client() as client:
        consent, _ = stack.consent(nik, EMPLOYMENT_SERVICE, ("employment_status",))
        services = {
            EMPLOYMENT_SERVICE: ("employment_status",),
            WAGE_BAND_SERVICE: ("monthly_wage",),
        }
        answer = await client.fan_out(Applicant("a-2", _legs(client, nik, consent, services)))
    first, second = answer.legs
    assert first.answer is not None and first.refusal is None
    assert second.answer is None and second.refusal is not None
    assert second.refusal.reason == "CONSENT_SERVICE_MISMATCH"


async def test_bulk_answers_every_applicant_exactly_once_with_flat_read_ahead(
    stack: Stack, rogue: RunningProcess
) -> None:
    people = list(stack.population.bpjstk)
    count = 1500
    services = {EMPLOYMENT_SERVICE: ("employment_status",), service_id("flaky"): ROGUE_FIELDS}
    pulled = 0
    answered = 0
    max_ahead = 0

    async with stack.client(timeout_s=120) as client:
        consents = {nik: stack.consent(nik, services=services)[0] for nik in people}
        before = stack.log_size()  # after the consents' grants, themselves recorded

        def applicants() -> Iterator[Applicant]:
            nonlocal pulled, max_ahead
            for i in range(count):
                nik = people[i % len(people)]
                pulled += 1
                max_ahead = max(max_ahead, pulled - answered)
                yield Applicant(f"app-{i}", _legs(client, nik, consents[nik], services))

        seen: Counter[str] = Counter()
        failed = 0
        async for answer in client.bulk(applicants()):
            answered += 1
            seen[answer.applicant_id] += 1
            index = int(answer.applicant_id.removeprefix("app-"))
            nik = people[index % len(people)]
            employment, flaky = answer.legs
            assert employment.answer is not None, employment.refusal
            if flaky_fails(nik):
                assert flaky.refusal is not None
                assert flaky.refusal.reason == "CONNECTOR_UNAVAILABLE"
                failed += 1
            else:
                assert flaky.answer is not None, flaky.refusal

    assert set(seen) == {f"app-{i}" for i in range(count)}  # none lost
    assert max(seen.values()) == 1  # none duplicated
    assert 0 < failed < count
    # Backpressure: the client was never asked for far more than the hub had room for
    # (32 in flight at the hub, plus what gRPC's flow-control window holds).
    assert max_ahead < 150, max_ahead
    assert stack.log_size() - before == 2 * count  # every leg audited once


async def test_a_bad_fan_out_envelope_is_refused_and_recorded(stack: Stack) -> None:
    nik = stack.people.employed
    token, _ = stack.consent(nik, EMPLOYMENT_SERVICE, ("employment_status",))
    before = stack.log_size()
    async with stack.client() as client:
        leg = client.sign(employment_body(client, nik, token, ("employment_status",)))
        too_many = exchange_pb2.FanOutRequest(applicant_id="a", legs=[leg.SerializeToString()] * 17)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await client._exchange.FanOut(too_many)
    refusal = refusal_of(error.value)
    record = stack.refused_once(
        before, refusal, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"
    )
    assert record.stage == "envelope"


async def test_an_unidentified_caller_learns_nothing_from_a_fan_out(stack: Stack) -> None:
    key = generate_key()
    cert = CertificateAuthority.load(stack.home.ca_dir).issue(
        make_csr(key, "ID/GOV/NOBODY/x"), "ID/GOV/NOBODY/x"
    )
    before = stack.log_size()
    async with HubClient(
        stack.address,
        key_pem=key_to_pem(key),
        cert_pem=cert_to_pem(cert),
        ca_pem=stack.home.ca_cert.read_bytes(),
        unsafe_skip_receipt_check=True,
    ) as client:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await client._exchange.FanOut(exchange_pb2.FanOutRequest(applicant_id="a"))
    refusal = refusal_of(error.value)
    assert (refusal.status.name, refusal.reason) == ("UNAUTHENTICATED", "UNAUTHENTICATED")
    (record,) = stack.records(before)
    assert (record.reason, record.stage) == ("CERT_UNKNOWN", "identify")
