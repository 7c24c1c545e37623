"""Deny-by-default decisions, the shipped policy file, and the package's public surface."""

from __future__ import annotations

import datetime
import subprocess
import sys
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policies
from policies import Decision, FieldRule, PolicySet, PolicyValueError, Rule, load_policies

KEMENSOS = "ID/GOV/KEMENSOS/eligibility"
PURPOSE = "bansos-eligibility"
EMPLOYMENT = "ID/GOV/BPJSTK/wages/employment"
WAGE_BAND = "ID/GOV/BPJSTK/wages/wage-band"
TODAY = datetime.date(2025, 6, 30)
EMPLOYMENT_FIELDS = ["employment_status", "employer", "monthly_wage", "termination_date"]


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies()


def test_shipped_policy_releases_the_documented_treatments(shipped: PolicySet) -> None:
    assert shipped.version.startswith("sha256:")
    assert shipped.allowed_fields(KEMENSOS, PURPOSE, EMPLOYMENT) == (
        "employment_status",
        "employer",
        "monthly_wage",
        "termination_date",
    )
    decision = shipped.decide(KEMENSOS, PURPOSE, EMPLOYMENT, list(reversed(EMPLOYMENT_FIELDS)))
    assert [(r.name, r.treatment, r.detail) for r in decision.releases.values()] == [
        ("termination_date", "predicate", "within 90 days"),
        ("monthly_wage", "predicate", "< 3000000"),
        ("employer", "masked", "masked"),
        ("employment_status", "raw", ""),
    ]
    band = shipped.decide(KEMENSOS, PURPOSE, WAGE_BAND, ["monthly_wage"]).releases
    assert band["monthly_wage"].apply(2500000, today=TODAY) == "[2000000, 3000000)"


def test_shipped_policy_transforms_an_agency_answer(shipped: PolicySet) -> None:
    decision = shipped.decide(KEMENSOS, PURPOSE, EMPLOYMENT, EMPLOYMENT_FIELDS)
    answer = {
        "employment_status": "inactive",
        "employer": "PT Sinar Jaya",
        "monthly_wage": 2750000,
        "termination_date": datetime.date(2025, 5, 2),
        "nik": "3510000000000001",  # sent by the agency, never asked for: dropped
    }
    assert decision.apply(answer, today=TODAY) == {
        "employment_status": "inactive",
        "employer": "P* S**** J***",
        "monthly_wage": True,
        "termination_date": True,
    }


def test_released_field_missing_from_the_answer_is_absent(shipped: PolicySet) -> None:
    decision = shipped.decide(KEMENSOS, PURPOSE, EMPLOYMENT, ["employer", "termination_date"])
    assert decision.apply({"employer": "CV Maju"}, today=TODAY) == {"employer": "C* M***"}


def test_apply_refuses_a_value_that_does_not_fit(shipped: PolicySet) -> None:
    decision = shipped.decide(KEMENSOS, PURPOSE, EMPLOYMENT, ["monthly_wage"])
    with pytest.raises(PolicyValueError):
        decision.apply({"monthly_wage": "2750000"}, today=TODAY)


@pytest.mark.parametrize(
    ("client", "purpose", "service"),
    [
        ("ID/GOV/POLRI/vehicles", PURPOSE, EMPLOYMENT),
        (KEMENSOS, "marketing", EMPLOYMENT),
        (KEMENSOS, PURPOSE, "ID/GOV/BPN/land/parcels"),
        (KEMENSOS.lower(), PURPOSE, EMPLOYMENT),
        ("", "", ""),
    ],
)
def test_no_rule_denies_everything(
    shipped: PolicySet, client: str, purpose: str, service: str
) -> None:
    decision = shipped.decide(client, purpose, service, ["employer", "monthly_wage"])
    assert decision == Decision(False, MappingProxyType({}), ("employer", "monthly_wage"))
    assert shipped.allowed_fields(client, purpose, service) == ()


def test_unlisted_fields_are_denied_in_request_order(shipped: PolicySet) -> None:
    decision = shipped.decide(
        KEMENSOS, PURPOSE, EMPLOYMENT, ["nik", "employer", "address", "nik", "employer"]
    )
    assert decision.rule_found
    assert list(decision.releases) == ["employer"]
    assert decision.denied == ("nik", "address")


def test_a_field_allowed_by_one_service_is_denied_by_another(shipped: PolicySet) -> None:
    decision = shipped.decide(KEMENSOS, PURPOSE, WAGE_BAND, ["employer", "monthly_wage"])
    assert decision.denied == ("employer",)
    assert decision.releases["monthly_wage"].treatment == "bucketed"


def rule(client: str, fields: dict[str, FieldRule]) -> Rule:
    return Rule(client, "p", "s", MappingProxyType(fields))


@given(
    allowed=st.sets(st.sampled_from("abcdefgh")),
    requested=st.lists(st.sampled_from("abcdefghij")),
)
def test_every_requested_field_is_released_or_denied_never_both(
    allowed: set[str], requested: list[str]
) -> None:
    policy = PolicySet([rule("c", {name: FieldRule.raw(name) for name in allowed})], "v")
    decision = policy.decide("c", "p", "s", requested)
    assert set(decision.releases) | set(decision.denied) == set(requested)
    assert set(decision.releases) <= allowed
    assert not set(decision.releases) & set(decision.denied)
    assert list(decision.releases) == [n for n in dict.fromkeys(requested) if n in allowed]


def test_policy_set_refuses_two_rules_for_one_key() -> None:
    with pytest.raises(ValueError, match="two rules"):
        PolicySet([rule("c", {}), rule("c", {})], "v")


def test_public_surface_is_pinned() -> None:
    assert sorted(policies.__all__) == [
        "DEFAULT_DIRECTORY",
        "Decision",
        "FieldRule",
        "PolicyFileError",
        "PolicySet",
        "PolicyValueError",
        "Rule",
        "Treatment",
        "TreatmentError",
        "load_policies",
    ]


def test_the_package_does_not_import_the_hub() -> None:
    # The hub imports policies; the reverse would be a cycle.
    code = "import sys, policies; sys.exit(any(m.split('.')[0] == 'hub' for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
