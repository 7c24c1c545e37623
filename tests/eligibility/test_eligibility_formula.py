"""The eligibility formula on hand-made applicants: each rule, and how rules combine."""

from __future__ import annotations

import dataclasses

import pytest

from examples.eligibility.evidence import (
    ATR_BPN,
    BPJS_KESEHATAN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    NO_RECORD,
    POLRI,
    Evidence,
    ServiceEvidence,
    found,
    unavailable,
)
from examples.eligibility.formula import (
    THIN_EVIDENCE,
    Criteria,
    Determination,
    Reason,
    decide,
    load_criteria,
)
from tests.eligibility.cases import CLEAN, EMPLOYED, evidence, with_fields

CRITERIA = load_criteria()


def codes(determination: Determination) -> list[str]:
    return [reason.code for reason in determination.reasons]


def test_a_clean_household_is_eligible_and_only_its_dtks_listing_is_reported() -> None:
    decision = decide(evidence(), CRITERIA)
    assert decision == Determination(
        "eligible",
        False,
        (Reason("listed_in_dtks", "listed in DTKS (decile 2)", DTKS, "info"),),
    )


EXCLUSIONS = [
    pytest.param(
        DUKCAPIL, with_fields(DUKCAPIL, alive=False), "deceased", "deceased per Dukcapil", id="dead"
    ),
    pytest.param(
        DUKCAPIL,
        with_fields(DUKCAPIL, moved_out=True, village="Surabaya"),
        "moved_out",
        "moved out of the village per Dukcapil",
        id="moved",
    ),
    pytest.param(
        BPJSTK,
        found(employment_status="active", employer="P* S****", monthly_wage=False),
        "formal_wage",
        "formal wage at or above Rp 3,000,000 per BPJS Ketenagakerjaan",
        id="wage",
    ),
    *(
        pytest.param(
            BPJS_KESEHATAN,
            found(membership_status="active", jkn_class=1, pbi=False, segment=segment),
            "jkn_class_paying",
            "JKN class 1 or 2 as a wage earner or self-payer per BPJS Kesehatan",
            id=f"jkn-{segment.lower()}",
        )
        for segment in ("PPU", "PBPU")
    ),
    pytest.param(
        ATR_BPN,
        with_fields(ATR_BPN, njop_total=True),
        "land_value",
        "land with tax value at or above Rp 500,000,000 per ATR/BPN",
        id="land-value",
    ),
    *(
        pytest.param(
            ATR_BPN,
            with_fields(ATR_BPN, total_area_m2=band),
            "land_area",
            "land area 2,500 m² or more per ATR/BPN",
            id=test_id,
        )
        for band, test_id in (("[2500, 5000)", "land-area"), (">= 5000", "land-area-top"))
    ),
    pytest.param(
        POLRI, with_fields(POLRI, car_count=True), "car", "owns a car per Polri", id="car"
    ),
    pytest.param(
        HIMBARA,
        with_fields(HIMBARA, total_balance=False),
        "bank_balance",
        "bank balance at or above Rp 5,000,000 per Himbara",
        id="balance",
    ),
]


@pytest.mark.parametrize(("service", "answer", "code", "text"), EXCLUSIONS)
def test_each_exclusion_rule_states_its_reason(
    service: str, answer: ServiceEvidence, code: str, text: str
) -> None:
    decision = decide(evidence({service: answer}), CRITERIA)
    assert decision.outcome == "ineligible"
    assert not decision.emergency
    assert decision.exclusions == (Reason(code, text, service, "excludes"),)
    # The DTKS listing is still reported: the case worker sees DTKS was wrong here.
    assert decision.reasons[-1].code == "listed_in_dtks"


NOT_EXCLUDED = [
    pytest.param(BPJSTK, EMPLOYED, id="wage-below-line"),
    pytest.param(
        BPJSTK,
        # A past job's wage says nothing about today's income.
        found(employment_status="inactive", monthly_wage=False, termination_date=False),
        id="old-job-above-line",
    ),
    pytest.param(
        BPJS_KESEHATAN,
        found(membership_status="active", jkn_class=1, pbi=True, segment="PBI-APBD"),
        id="class-1-pbi",
    ),
    pytest.param(
        BPJS_KESEHATAN,
        found(membership_status="inactive", jkn_class=1, pbi=False, segment="PBPU"),
        id="class-1-lapsed",
    ),
    pytest.param(
        BPJS_KESEHATAN,
        found(membership_status="active", jkn_class=3, pbi=False, segment="PBPU"),
        id="class-3-self-paying",
    ),
    pytest.param(ATR_BPN, with_fields(ATR_BPN, total_area_m2="[1000, 2500)"), id="land-below"),
    pytest.param(POLRI, with_fields(POLRI, motorcycle_count=">= 3"), id="motorcycles-off"),
    pytest.param(POLRI, with_fields(POLRI, newest_vehicle_year=True), id="new-vehicle-off"),
    pytest.param(HIMBARA, with_fields(HIMBARA, average_balance_3m=True), id="average-below"),
]


@pytest.mark.parametrize(("service", "answer"), NOT_EXCLUDED)
def test_near_misses_and_rules_switched_off_do_not_exclude(
    service: str, answer: ServiceEvidence
) -> None:
    assert decide(evidence({service: answer}), CRITERIA).outcome == "eligible"


@pytest.mark.parametrize(
    ("rule", "service", "answer", "text"),
    [
        ("motorcycles", POLRI, with_fields(POLRI, motorcycle_count=">= 3"), "owns 3 or more"),
        ("new_vehicle", POLRI, with_fields(POLRI, newest_vehicle_year=True), "2022 or later"),
        (
            "average_balance",
            HIMBARA,
            with_fields(HIMBARA, average_balance_3m=False),
            "average bank balance over 3 months at or above Rp 2,000,000",
        ),
    ],
)
def test_rules_that_are_off_exclude_once_switched_on(
    rule: str, service: str, answer: ServiceEvidence, text: str
) -> None:
    criteria = dataclasses.replace(CRITERIA, enabled=CRITERIA.enabled | {rule})
    decision = decide(evidence({service: answer}), criteria)
    assert decision.outcome == "ineligible"
    assert [r.code for r in decision.exclusions] == [rule]
    assert text in decision.exclusions[0].text


def test_every_exclusion_that_applies_is_listed_in_rule_order() -> None:
    decision = decide(
        evidence(
            {
                HIMBARA: with_fields(HIMBARA, total_balance=False),
                POLRI: with_fields(POLRI, car_count=True),
                ATR_BPN: with_fields(ATR_BPN, njop_total=True, total_area_m2=">= 5000"),
                DUKCAPIL: with_fields(DUKCAPIL, moved_out=True),
            }
        ),
        CRITERIA,
    )
    assert decision.outcome == "ineligible"
    assert codes(decision) == [
        "moved_out",
        "land_value",
        "land_area",
        "car",
        "bank_balance",
        "listed_in_dtks",
    ]


def test_an_unavailable_agency_that_could_exclude_sends_the_applicant_to_review() -> None:
    decision = decide(
        evidence({POLRI: unavailable("DEADLINE_EXCEEDED CONNECTOR_TIMEOUT")}), CRITERIA
    )
    assert decision.outcome == "needs_review"
    assert not decision.emergency
    assert decision.reasons[0] == Reason(
        "agency_unavailable",
        "Polri unavailable (DEADLINE_EXCEEDED CONNECTOR_TIMEOUT): car ownership not checked",
        POLRI,
        "review",
    )


def test_one_review_reason_per_agency_naming_everything_left_unchecked() -> None:
    decision = decide(
        evidence(
            {ATR_BPN: unavailable("UNAVAILABLE CONNECTOR_UNAVAILABLE"), HIMBARA: unavailable()}
        ),
        CRITERIA,
    )
    assert decision.outcome == "needs_review"
    assert [(r.code, r.source_service) for r in decision.reasons[:2]] == [
        ("agency_unavailable", ATR_BPN),
        ("agency_unavailable", HIMBARA),
    ]
    assert decision.reasons[0].text.endswith("land value, land area not checked")
    assert decision.reasons[1].text == (
        "Himbara unavailable (no answer): bank balance, average balance not checked"
    )


def test_an_agency_never_asked_counts_as_unavailable() -> None:
    services = {k: v for k, v in CLEAN.items() if k != HIMBARA}
    decision = decide(Evidence(services), CRITERIA)
    assert decision.outcome == "needs_review"
    assert "Himbara unavailable (not asked)" in decision.reasons[0].text


def test_unavailable_but_already_excluded_is_ineligible_without_review_reasons() -> None:
    decision = decide(
        evidence({POLRI: with_fields(POLRI, car_count=True), HIMBARA: unavailable("UNAVAILABLE")}),
        CRITERIA,
    )
    assert decision.outcome == "ineligible"
    assert codes(decision) == ["car", "listed_in_dtks"]


def test_an_unavailable_agency_without_an_exclusion_rule_changes_nothing() -> None:
    # DTKS decides nothing, and with the motorcycle and vehicle-year rules off, Polri only
    # matters for cars: switching the car rule off too leaves nothing Polri could change.
    criteria = dataclasses.replace(CRITERIA, enabled=CRITERIA.enabled - {"car"})
    decision = decide(evidence({DTKS: unavailable("UNAVAILABLE"), POLRI: unavailable()}), criteria)
    assert decision.outcome == "eligible"
    assert decision.reasons == (
        Reason("dtks_unavailable", "DTKS unavailable (UNAVAILABLE)", DTKS, "info"),
    )


RECENT_JOB_LOSS = found(
    employment_status="inactive", employer="P* S****", monthly_wage=False, termination_date=True
)


def test_recent_job_loss_is_an_eligible_emergency_even_outside_dtks() -> None:
    decision = decide(evidence({BPJSTK: RECENT_JOB_LOSS, DTKS: NO_RECORD}), CRITERIA)
    assert decision.outcome == "eligible"
    assert decision.emergency
    assert decision.reasons == (
        Reason(
            "recent_job_loss",
            "recent job loss (within 90 days) per BPJS Ketenagakerjaan → emergency candidate",
            BPJSTK,
            "emergency",
        ),
        Reason("not_in_dtks", "not listed in DTKS", DTKS, "info"),
    )


def test_eligible_on_silence_alone_is_a_borderline_decision_for_a_ground_check() -> None:
    # Nothing excludes the household, but nothing shows need either: DTKS does not list it
    # and no job was lost recently. The formula does not decide that on silence.
    decision = decide(evidence({DTKS: NO_RECORD}), CRITERIA)
    assert decision.outcome == "needs_review"
    assert codes(decision) == ["thin_evidence", "not_in_dtks"]
    assert decision.reasons[0].kind == "review"
    assert decision.reasons[0].text.endswith("to be confirmed by a ground check")
    listed_false = with_fields(DTKS, in_dtks=False, decile=None, last_verified=None)
    assert decide(evidence({DTKS: listed_false}), CRITERIA).outcome == "needs_review"


def test_the_review_band_leaves_listed_emergency_and_excluded_applicants_alone() -> None:
    assert decide(evidence(), CRITERIA).outcome == "eligible"
    emergency = decide(evidence({BPJSTK: RECENT_JOB_LOSS, DTKS: NO_RECORD}), CRITERIA)
    assert (emergency.outcome, THIN_EVIDENCE in codes(emergency)) == ("eligible", False)
    car = decide(evidence({POLRI: with_fields(POLRI, car_count=True), DTKS: NO_RECORD}), CRITERIA)
    assert car.outcome == "ineligible"
    # DTKS down is its own review, never silence.
    down = decide(evidence({DTKS: unavailable()}), CRITERIA)
    assert THIN_EVIDENCE not in codes(down)


def test_switched_off_the_review_band_decides_on_silence() -> None:
    without = Criteria(CRITERIA.enabled - {THIN_EVIDENCE})
    assert decide(evidence({DTKS: NO_RECORD}), without).outcome == "eligible"


def test_a_job_lost_long_ago_is_no_emergency() -> None:
    old_loss = found(employment_status="inactive", monthly_wage=True, termination_date=False)
    decision = decide(evidence({BPJSTK: old_loss}), CRITERIA)
    assert (decision.outcome, decision.emergency) == ("eligible", False)


def test_an_emergency_with_an_agency_down_is_reviewed_with_the_flag_kept() -> None:
    decision = decide(evidence({BPJSTK: RECENT_JOB_LOSS, HIMBARA: unavailable()}), CRITERIA)
    assert (decision.outcome, decision.emergency) == ("needs_review", True)
    assert codes(decision) == ["agency_unavailable", "recent_job_loss", "listed_in_dtks"]


def test_an_emergency_with_an_exclusion_is_ineligible_and_no_emergency() -> None:
    decision = decide(
        evidence({BPJSTK: RECENT_JOB_LOSS, ATR_BPN: with_fields(ATR_BPN, njop_total=True)}),
        CRITERIA,
    )
    assert (decision.outcome, decision.emergency) == ("ineligible", False)
    assert codes(decision) == ["land_value", "listed_in_dtks"]


def test_deceased_beats_everything() -> None:
    decision = decide(
        evidence(
            {
                DUKCAPIL: with_fields(DUKCAPIL, alive=False),
                BPJSTK: RECENT_JOB_LOSS,
                HIMBARA: unavailable(),
                ATR_BPN: unavailable(),
                DTKS: found(in_dtks=True, decile=1, last_verified=False),
            }
        ),
        CRITERIA,
    )
    assert (decision.outcome, decision.emergency) == ("ineligible", False)
    assert decision.reasons[0] == Reason("deceased", "deceased per Dukcapil", DUKCAPIL, "excludes")
    assert codes(decision) == ["deceased", "listed_in_dtks"]
    assert (
        decision.reasons[1].text == "listed in DTKS (decile 1), last verified more than 2 years ago"
    )


def test_no_records_anywhere_but_dukcapil_is_never_excluded_and_goes_to_a_ground_check() -> None:
    # Informal work, no certified land, no vehicle, unbanked, no JKN, never surveyed by DTKS:
    # the household the registers cannot see, and the one the pilot most needs to find. No
    # rule excludes it; the registers cannot tell it from a trader paid in cash, so an officer
    # visits (with the review band off, it is eligible).
    services = {service: NO_RECORD for service in CLEAN}
    services[DUKCAPIL] = CLEAN[DUKCAPIL]
    decision = decide(Evidence(services), CRITERIA)
    assert (decision.outcome, codes(decision)) == ("needs_review", ["thin_evidence", "not_in_dtks"])
    without_band = Criteria(CRITERIA.enabled - {THIN_EVIDENCE})
    assert decide(Evidence(services), without_band) == Determination(
        "eligible", False, (Reason("not_in_dtks", "not listed in DTKS", DTKS, "info"),)
    )


def test_no_civil_registry_record_sends_the_applicant_to_review() -> None:
    decision = decide(evidence({DUKCAPIL: NO_RECORD}), CRITERIA)
    assert decision.outcome == "needs_review"
    assert decision.reasons[0] == Reason(
        "identity_unverified",
        "NIK not found in Dukcapil: identity to be checked",
        DUKCAPIL,
        "review",
    )


def test_dtks_listing_alone_decides_nothing_either_way() -> None:
    # DTKS's listing excludes no one and qualifies no one; not being listed only takes away
    # the one sign of need a register holds (the review band, switched off here).
    without_band = Criteria(CRITERIA.enabled - {THIN_EVIDENCE})
    unlisted = found(in_dtks=False, decile=7, last_verified=True)
    assert decide(evidence({DTKS: unlisted}), without_band).outcome == "eligible"
    assert codes(decide(evidence({DTKS: unlisted}), without_band)) == ["not_in_dtks"]


@pytest.mark.parametrize(
    ("service", "answer", "why"),
    [
        (HIMBARA, found(account_count=1), "Himbara: total_balance not released as yes/no"),
        (
            BPJSTK,
            found(employment_status="active"),
            "BPJS Ketenagakerjaan: monthly_wage not released as yes/no",
        ),
        (
            BPJS_KESEHATAN,
            found(membership_status="active", jkn_class="1", segment="PPU"),
            "BPJS Kesehatan: jkn_class not released as a number",
        ),
        (
            ATR_BPN,
            with_fields(ATR_BPN, total_area_m2="about 3000"),
            "ATR/BPN: total_area_m2 'about 3000' is not a bucket label",
        ),
    ],
)
def test_a_field_missing_or_misshapen_is_reviewed_not_guessed(
    service: str, answer: ServiceEvidence, why: str
) -> None:
    decision = decide(evidence({service: answer}), CRITERIA)
    assert decision.outcome == "needs_review"
    assert decision.reasons[0].code == "evidence_unreadable"
    assert decision.reasons[0].text.startswith(why)


def test_a_bucket_straddling_the_threshold_cannot_answer() -> None:
    # Land edges are 0, 500, 1000, 2500, 5000 m²: a 2,000 m² line falls inside [1000, 2500).
    criteria = dataclasses.replace(CRITERIA, land_area_m2=2000)
    straddling = evidence({ATR_BPN: with_fields(ATR_BPN, total_area_m2="[1000, 2500)")})
    decision = decide(straddling, criteria)
    assert decision.outcome == "needs_review"
    assert "straddles the threshold 2,000" in decision.reasons[0].text
    # Buckets wholly on one side still answer.
    assert decide(evidence(), criteria).outcome == "eligible"
    below_zero = evidence({ATR_BPN: with_fields(ATR_BPN, total_area_m2="< 0")})
    assert decide(below_zero, criteria).outcome == "eligible"


def _with_detail(answer: ServiceEvidence, name: str, detail: str) -> ServiceEvidence:
    return dataclasses.replace(answer, details={name: detail})


def test_a_predicate_for_another_threshold_than_the_criteria_state_is_reviewed() -> None:
    # The hub applied "< 2500000" but the reason would say Rp 3,000,000: don't quote a wrong line.
    answer = found(employment_status="active", monthly_wage=False)
    mismatched = evidence({BPJSTK: _with_detail(answer, "monthly_wage", "< 2500000")})
    decision = decide(mismatched, CRITERIA)
    assert decision.outcome == "needs_review"
    assert decision.reasons[0].text == (
        "BPJS Ketenagakerjaan: monthly_wage answers '< 2500000' but the criteria expect "
        "'< 3000000': formal wage not checked"
    )
    for same in ("< 3000000", "< 3000000.0"):
        matching = evidence({BPJSTK: _with_detail(answer, "monthly_wage", same)})
        assert decide(matching, CRITERIA).outcome == "ineligible"


def test_a_recent_job_loss_sets_aside_what_outlives_the_job_but_not_assets() -> None:
    """JKN cover and the 3-month average outlive a lay-off; a car or land does not go away."""
    laid_off = found(employment_status="inactive", monthly_wage=False, termination_date=True)
    still_covered = found(membership_status="active", jkn_class=2, pbi=False, segment="PPU")
    old_wages = with_fields(HIMBARA, average_balance_3m=False)
    decision = decide(
        evidence({BPJSTK: laid_off, BPJS_KESEHATAN: still_covered, HIMBARA: old_wages}), CRITERIA
    )
    assert (decision.outcome, decision.emergency) == ("eligible", True)
    assert "jkn_class_paying" not in codes(decision)
    assert "average_balance" not in codes(decision)

    with_car = decide(
        evidence({BPJSTK: laid_off, POLRI: with_fields(POLRI, car_count=True)}), CRITERIA
    )
    assert (with_car.outcome, with_car.emergency) == ("ineligible", False)
    assert "car" in codes(with_car)


def test_without_a_job_loss_the_same_signals_exclude() -> None:
    decision = decide(
        evidence(
            {
                BPJS_KESEHATAN: found(
                    membership_status="active", jkn_class=2, pbi=False, segment="PPU"
                ),
                HIMBARA: with_fields(HIMBARA, average_balance_3m=False),
            }
        ),
        CRITERIA,
    )
    assert decision.outcome == "ineligible"
    assert {"jkn_class_paying", "average_balance"} <= set(codes(decision))
