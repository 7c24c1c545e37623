"""`policy test` cases and `policy explain`, on the shipped policies and on wrong cases."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from policies import DEFAULT_DIRECTORY, PolicyFileError, PolicySet, load_policies
from policies.cases import load_cases, run_case
from policies.explain import explain

KEMENSOS = "ID/GOV/KEMENSOS/eligibility"
EMPLOYMENT = "ID/GOV/BPJSTK/wages/employment"
SHIPPED_BPJSTK = DEFAULT_DIRECTORY / "bansos-bpjstk.yaml"


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies()


def case_file(directory: Path, body: str) -> Path:
    path = directory / "cases.yaml"
    path.write_text(textwrap.dedent(body))
    return path


QUERY = f"""\
    cases:
      - name: status
        client: {KEMENSOS}
        purpose: bansos-eligibility
        service: {EMPLOYMENT}
        fields: [employment_status, monthly_wage]
"""


def test_the_shipped_suite_passes_and_covers_the_emergency_rule(shipped: PolicySet) -> None:
    cases = load_cases(DEFAULT_DIRECTORY / "tests")
    results = [run_case(shipped, case) for case in cases]
    assert [r.case.name for r in results if not r.passed] == []
    emergency = [c for c in cases if c.purpose == "bansos-emergency" and c.release is not None]
    assert emergency and emergency[0].basis == "vital-interest"


def test_a_wrong_treatment_fails_naming_expected_and_actual(
    tmp_path: Path, shipped: PolicySet
) -> None:
    case_file(tmp_path, QUERY + "        release: {employment_status: raw, monthly_wage: raw}\n")
    (result,) = [run_case(shipped, case) for case in load_cases(tmp_path)]
    assert not result.passed
    assert result.expected == "release employment_status raw, monthly_wage raw"
    assert result.actual == "release employment_status raw, monthly_wage predicate < 3000000"


def test_an_expected_refusal_that_is_a_release_fails(tmp_path: Path, shipped: PolicySet) -> None:
    case_file(tmp_path, QUERY + "        refuse: FIELD_NOT_ALLOWED\n")
    (result,) = [run_case(shipped, case) for case in load_cases(tmp_path)]
    assert (result.passed, result.expected) == (False, "refused FIELD_NOT_ALLOWED")
    assert result.actual.startswith("release employment_status raw")


def test_a_wrong_basis_fails(tmp_path: Path, shipped: PolicySet) -> None:
    body = QUERY + (
        "        release: {employment_status: raw, monthly_wage: {predicate: {lt: 3000000}}}\n"
        "        basis: vital-interest\n"
    )
    case_file(tmp_path, body)
    (result,) = [run_case(shipped, case) for case in load_cases(tmp_path)]
    assert not result.passed
    assert result.expected.endswith("[basis vital-interest]")
    assert result.actual.endswith("[basis consent]")


@pytest.mark.parametrize(
    ("expect", "problem"),
    [
        (
            "        refuse: NOPE\n",
            "7: unknown refusal 'NOPE' (a policy refuses with NO_POLICY, FIELD_NOT_ALLOWED)",
        ),
        ("", "2: case 'status' needs exactly one of 'release' or 'refuse'"),
        (
            "        release: {employment_status: raw}\n",
            "7: 'release' must give a treatment "
            "for each requested field and no other: requested employment_status, monthly_wage; "
            "release names employment_status",
        ),
    ],
)
def test_a_malformed_case_file_is_one_line_naming_file_and_line(
    tmp_path: Path, expect: str, problem: str
) -> None:
    path = case_file(tmp_path, QUERY + expect)
    with pytest.raises(PolicyFileError) as raised:
        load_cases(tmp_path)
    assert str(raised.value) == f"{path}:{problem}"


def test_explain_a_released_field_names_rule_field_line_and_basis(shipped: PolicySet) -> None:
    released = explain(shipped, KEMENSOS, "bansos-emergency", EMPLOYMENT, "termination_date")
    assert released.released
    assert released.text.startswith(f"released predicate (within 90 days): rule {SHIPPED_BPJSTK}:")
    assert "basis vital-interest under UU 24/2007 tentang Penanggulangan Bencana, Pasal 48" in (
        released.text
    )
    assert released.text.endswith("two-person approval required")


def test_explain_a_field_the_rule_does_not_list(shipped: PolicySet) -> None:
    denied = explain(shipped, KEMENSOS, "bansos-emergency", EMPLOYMENT, "monthly_wage")
    assert not denied.released
    assert " does not list field 'monthly_wage'; it releases employment_status, " in denied.text


def test_explain_a_purpose_without_rule_suggests_the_ones_there_are(shipped: PolicySet) -> None:
    denied = explain(shipped, KEMENSOS, "bansos", EMPLOYMENT, "employment_status")
    assert not denied.released
    assert denied.text == (
        f"not released: no rule covers client {KEMENSOS}, purpose bansos, service {EMPLOYMENT} "
        "(this client has rules for that service with purpose bansos-eligibility, "
        "bansos-emergency); deny by default"
    )
