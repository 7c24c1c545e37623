"""The pilot's own agencies misbehaving, through real processes: one down, one slow past its
deadline, one failing, two lying. Fan-out still answers, each leg marked; nothing extra is
released; every leg is audited; bulk loses and duplicates nobody."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator

import pytest

from connectors.sdk.server import UNASKED_FIELDS
from connectors.simulation.faults import EXTRA_FIELDS
from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency
from examples.eligibility.evidence import (
    ATR_BPN,
    BPJS_KESEHATAN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    POLRI,
    Evidence,
)
from examples.eligibility.formula import decide, load_criteria
from examples.eligibility.service import SERVICES, EligibilityService
from hub.provisioning import register_service
from jembatan.client import Applicant, HubClient
from tests.stack import Stack, start_stack

DOWN = "dukcapil"  # registered, but its connector never runs
FAULTS = [
    "--fault", "polri=timeout=1.0",  # never answers: past the hub's deadline
    "--fault", "atr_bpn=error=1.0",  # the agency's system fails
    "--fault", "dtks=error=0.25,seed=7",  # fails now and then
    "--misbehave", "himbara=extra-fields",  # sends what nobody asked for
    "--misbehave", "bpjs_kesehatan=wrong-key",  # signs with a key that is not the agency's
]  # fmt: skip


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = [name for name in PILOT_AGENCIES if name != DOWN]
    stack = start_stack(
        tmp_path_factory.mktemp("faulty"),
        hub_args=["--connector-deadline", "0.5"],
        sim_args=[*running, *FAULTS],
    )
    down = simulated_agency(DOWN)
    cert_pem = (stack.home.member_dir(down.agency_id) / "cert.pem").read_bytes()
    for service_id, fields in down.services.items():
        catalogue = [spec for spec in down.catalogue if spec.name in fields]
        # Port 1 on loopback: nothing listens, the connection is refused at once.
        register_service(stack.home, service_id, cert_pem, "127.0.0.1:1", catalogue)
    yield stack
    stack.hub.stop()
    stack.sim.stop()


def _applicant(stack: Stack, client: HubClient, applicant_id: str, nik: str) -> Applicant:
    """The eligibility service's own applicant: seven legs under one consent."""

    def consent_for(subject: str) -> str:
        token, _ = stack.consent(subject, services=SERVICES, valid_for=datetime.timedelta(days=1))
        return token

    return EligibilityService(client, load_criteria(), consent_for).applicant(nik, applicant_id)


async def test_fan_out_marks_each_failing_agency_and_releases_nothing_extra(
    faulty: Stack,
) -> None:
    stack = faulty
    # A head every register knows, so each leg has something to release.
    nik = next(
        h.head.nik
        for h in stack.population.households
        if all(
            h.head.nik in getattr(stack.population, register)
            for register in ("dtks", "bpjstk", "bank")
        )
    )
    async with stack.client(timeout_s=20) as client:
        applicant = _applicant(stack, client, "one", nik)
        before = stack.log_size()  # after the consent's grant, itself recorded
        answer = await client.fan_out(applicant)
    status = {
        leg.service_id: "OK" if leg.refusal is None else leg.refusal.reason for leg in answer.legs
    }
    assert status[DUKCAPIL] == "CONNECTOR_UNAVAILABLE"  # down
    assert status[POLRI] == "CONNECTOR_TIMEOUT"  # slow past its deadline
    assert status[ATR_BPN] == "CONNECTOR_UNAVAILABLE"  # its system fails
    assert status[BPJS_KESEHATAN] == "AGENCY_SIGNATURE_INVALID"  # lies about who it is
    assert status[HIMBARA] == "OK" and status[BPJSTK] == "OK"
    assert status[DTKS] in ("OK", "CONNECTOR_UNAVAILABLE")

    bank = answer.leg(HIMBARA).answer
    assert bank is not None and set(bank.fields) == set(SERVICES[HIMBARA])
    records = {r.service_id: r for r in stack.records(before)}
    assert set(records) == set(SERVICES)  # every leg audited, once
    assert set(records[HIMBARA].fields_dropped) == set(UNASKED_FIELDS)
    stored = stack.stored_bytes()
    for secret in [*UNASKED_FIELDS.values(), *EXTRA_FIELDS.values()]:
        assert secret.encode() not in stored

    # The eligibility service cannot decide on missing evidence: review, naming the agencies.
    decision = decide(Evidence.from_answer(answer), load_criteria())
    if decision.outcome != "ineligible":
        assert decision.outcome == "needs_review"
        named = {r.source_service for r in decision.reasons if r.code == "agency_unavailable"}
        assert {POLRI, ATR_BPN, BPJS_KESEHATAN} <= named


async def test_bulk_with_failing_agencies_answers_everyone_once(faulty: Stack) -> None:
    stack = faulty
    heads = [h.head.nik for h in stack.population.households]
    count = 320
    before = stack.log_size()
    seen: Counter[str] = Counter()
    dtks: Counter[str] = Counter()
    async with stack.client(timeout_s=300) as client:
        applicants = (
            _applicant(stack, client, f"a{i}", heads[i % len(heads)]) for i in range(count)
        )
        async for answer in client.bulk(applicants):
            seen[answer.applicant_id] += 1
            legs = {leg.service_id: leg for leg in answer.legs}
            assert legs[BPJSTK].refusal is None  # the healthy agency answers every time
            assert legs[POLRI].refusal is not None
            dtks["OK" if legs[DTKS].refusal is None else legs[DTKS].refusal.reason] += 1
    assert set(seen) == {f"a{i}" for i in range(count)} and max(seen.values()) == 1
    # DTKS fails about a quarter of the time (seeded): both outcomes occur, nothing else.
    assert set(dtks) == {"OK", "CONNECTOR_UNAVAILABLE"}
    assert 0.1 < dtks["CONNECTOR_UNAVAILABLE"] / count < 0.4
    # Every leg audited once, and each applicant's consent grant.
    assert stack.log_size() - before == count * (len(SERVICES) + 1)
