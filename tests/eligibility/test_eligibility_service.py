"""Evidence from the client SDK's answers, and the service's legs and bulk run (no hub needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import grpc

from examples.eligibility.evidence import (
    ATR_BPN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    NO_RECORD,
    POLRI,
    Evidence,
    ServiceEvidence,
    unavailable,
)
from examples.eligibility.formula import decide, load_criteria
from examples.eligibility.service import PURPOSE, SERVICES, EligibilityService
from jembatan.client import Applicant, FanOutAnswer, LegAnswer, QueryAnswer, QueryRefused, Released
from jembatan.v1 import exchange_pb2
from tests.eligibility.cases import CLEAN

CRITERIA = load_criteria()


def answer(service_id: str, fields: dict[str, Released], *, found: bool = True) -> QueryAnswer:
    return QueryAnswer("req", service_id, found, fields, "policy-v1", 7, b"\x00" * 32)


def test_evidence_from_a_fan_out_answer() -> None:
    fan_out = FanOutAnswer(
        "A-1",
        (
            LegAnswer(DUKCAPIL, answer(DUKCAPIL, {"alive": Released(True, "raw", "")}), None),
            LegAnswer(
                BPJSTK,
                answer(
                    BPJSTK,
                    {
                        "employment_status": Released("active", "raw", ""),
                        "employer": Released("P* S****", "masked", "masked"),
                        "monthly_wage": Released(False, "predicate", "< 3000000"),
                    },
                ),
                None,
            ),
            LegAnswer(POLRI, answer(POLRI, {}, found=False), None),
            LegAnswer(
                HIMBARA,
                None,
                QueryRefused(grpc.StatusCode.UNAVAILABLE, "CONNECTOR_UNAVAILABLE", "bank down"),
            ),
            LegAnswer(ATR_BPN, None, None),
        ),
    )
    evidence = Evidence.from_answer(fan_out)
    assert evidence.of(DUKCAPIL) == ServiceEvidence("found", {"alive": True})
    assert evidence.of(BPJSTK) == ServiceEvidence(
        "found",
        {"employment_status": "active", "employer": "P* S****", "monthly_wage": False},
        {"employer": "masked", "monthly_wage": "< 3000000"},
    )
    assert evidence.of(POLRI) == NO_RECORD
    assert evidence.of(HIMBARA) == unavailable("UNAVAILABLE CONNECTOR_UNAVAILABLE")
    assert evidence.of(ATR_BPN) == unavailable("no answer")
    assert evidence.of(DTKS) == unavailable("not asked")


def test_a_predicate_released_for_another_threshold_reaches_the_formula() -> None:
    legs = (
        LegAnswer(
            BPJSTK,
            answer(
                BPJSTK,
                {
                    "employment_status": Released("active", "raw", ""),
                    "monthly_wage": Released(False, "predicate", "< 2000000"),
                },
            ),
            None,
        ),
    )
    from_hub = Evidence.from_answer(FanOutAnswer("A-1", legs)).of(BPJSTK)
    decision = decide(Evidence({**CLEAN, BPJSTK: from_hub}), CRITERIA)
    assert decision.outcome == "needs_review"
    assert "'< 2000000' but the criteria expect '< 3000000'" in decision.reasons[0].text


def test_the_services_table_asks_exactly_what_the_formula_is_tested_on() -> None:
    # The hand-made clean household has every field the service asks, and no other.
    assert {
        service: tuple(answer.fields) for service, answer in CLEAN.items() if answer.fields
    } == {service: fields for service, fields in SERVICES.items() if service != BPJSTK}
    assert SERVICES[BPJSTK] == ("employment_status", "employer", "monthly_wage", "termination_date")


class FakeHub:
    """Answers every leg from a per-NIK table of released fields; no record otherwise."""

    def __init__(self, released: dict[str, dict[str, dict[str, Released]]]) -> None:
        self.released = released
        self.subjects: dict[str, str] = {}

    def body(
        self,
        *,
        service_id: str,
        subject: str,
        purpose: str,
        fields: tuple[str, ...],
        consent: str,
    ) -> exchange_pb2.QueryBody:
        return exchange_pb2.QueryBody(
            client_id="ID/GOV/KEMENSOS/eligibility",
            service_id=service_id,
            subject=subject,
            purpose=purpose,
            fields=list(fields),
            consent=consent,
        )

    async def bulk(self, applicants: Iterable[Applicant]) -> AsyncIterator[FanOutAnswer]:
        for applicant in applicants:
            yield FanOutAnswer(applicant.applicant_id, tuple(map(self._leg, applicant.legs)))

    def _leg(self, body: exchange_pb2.QueryBody) -> LegAnswer:
        fields = self.released.get(body.subject, {}).get(body.service_id)
        return LegAnswer(
            body.service_id, answer(body.service_id, fields or {}, found=bool(fields)), None
        )


def test_an_applicant_has_one_consented_leg_per_service() -> None:
    service = EligibilityService(FakeHub({}), CRITERIA, lambda nik: f"consent-for-{nik}")
    applicant = service.applicant("3510014107800001", "A-1")
    assert applicant.applicant_id == "A-1"
    assert [leg.service_id for leg in applicant.legs] == list(SERVICES)
    for leg in applicant.legs:
        assert (leg.subject, leg.purpose) == ("3510014107800001", PURPOSE)
        assert leg.consent == "consent-for-3510014107800001"
        assert tuple(leg.fields) == SERVICES[leg.service_id]


async def test_run_decides_each_applicant_and_reports_progress() -> None:
    alive = {"alive": Released(True, "raw", ""), "moved_out": Released(False, "raw", "")}
    hub = FakeHub(
        {
            "3510010101800001": {
                DUKCAPIL: alive,
                POLRI: {"car_count": Released(True, "predicate", "> 0")},
            },
            "3510010101800002": {DUKCAPIL: alive},
        }
    )
    service = EligibilityService(hub, CRITERIA, lambda nik: "consent")
    seen: list[int] = []
    results = [
        (applicant_id, decision.outcome, [r.code for r in decision.reasons])
        async for applicant_id, decision, _evidence in service.run(
            [("A-1", "3510010101800001"), ("A-2", "3510010101800002"), ("A-3", "3510010101800003")],
            seen.append,
        )
    ]
    assert results == [
        ("A-1", "ineligible", ["car", "not_in_dtks"]),
        ("A-2", "needs_review", ["thin_evidence", "not_in_dtks"]),
        ("A-3", "needs_review", ["identity_unverified", "not_in_dtks"]),
    ]
    assert seen == [1, 2, 3]
