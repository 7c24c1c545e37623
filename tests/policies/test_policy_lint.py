"""`policy lint`: every problem class as one `file:line: severity: problem` finding."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from connectors.simulation.pilot import pilot_catalogues
from policies.lint import Catalogues, Finding, lint

KEMENSOS = "ID/GOV/KEMENSOS/eligibility"
EMPLOYMENT = "ID/GOV/BPJSTK/wages/employment"


@pytest.fixture(scope="module")
def catalogues() -> Catalogues:
    return pilot_catalogues()


def rule(fields: str, *, client: str = KEMENSOS, service: str = EMPLOYMENT, extra: str = "") -> str:
    """One rule as a list item; its first field is on the item's 6th line (5th plus extras)."""
    head = f"  - client: {client}\n    purpose: bansos-eligibility\n    service: {service}\n"
    body = textwrap.indent(textwrap.dedent(fields), "      ")
    return head + textwrap.indent(textwrap.dedent(extra), "    ") + "    fields:\n" + body


def write(directory: Path, name: str, *rules: str) -> Path:
    path = directory / name
    path.write_text("rules:\n" + "".join(rules))
    return path


def only(findings: list[Finding]) -> str:
    assert len(findings) == 1, [str(f) for f in findings]
    return str(findings[0])


def test_the_shipped_policies_have_no_errors_and_only_the_deliberate_warnings(
    catalogues: Catalogues,
) -> None:
    findings = lint(None, catalogues)
    assert [f for f in findings if f.severity == "error"] == []
    # The four raw releases of SENSITIVE fields the policies' own comments argue for.
    warned = sorted(
        (Path(f.source).name, f.problem.split("'")[1]) for f in findings if f.severity == "warning"
    )
    assert warned == [
        ("bansos-bpjs_kesehatan.yaml", "pbi"),
        ("bansos-bpjs_kesehatan.yaml", "segment"),
        ("bansos-dtks.yaml", "decile"),
        ("bansos-dtks.yaml", "programmes"),
    ]


# One rule alone in a file: its fields, its other options for ``rule``, and the one finding
# it gives (after its file's path).
ONE_RULE_FINDINGS = [
    pytest.param(
        "x: raw\n",
        {"service": "ID/GOV/BPJSTK/wages/pension"},
        "2: error: unknown service 'ID/GOV/BPJSTK/wages/pension': no catalogue offers it",
        id="unknown-service",
    ),
    pytest.param(
        "employment_status: raw\nsalary: masked\n",
        {},
        f"7: error: unknown field 'salary': the catalogue of {EMPLOYMENT} has "
        "employment_status, employer, monthly_wage, termination_date",
        id="unknown-field",
    ),
    # employer is text: a bucket needs a number, so the hub would refuse every such query.
    pytest.param(
        "employer: {bucketed: [0, 10]}\n",
        {},
        "6: error: field 'employer' can never be released: bucketed does not fit its "
        "catalogue type text (bucketed needs a number value, got a text)",
        id="treatment-that-never-fits-the-field-type",
    ),
    pytest.param(
        "employment_status: raw\n",
        {"client": "ID/GOV/X/gone"},
        "2: error: rule can never apply: client 'ID/GOV/X/gone' is not a member of this hub",
        id="client-that-is-no-member",
    ),
    pytest.param(
        "monthly_wage: raw\n",
        {"extra": "basis: vital-interest\nlegal_reference: UU 24/2007, Pasal 48\n"},
        "8: warning: field 'monthly_wage' is SENSITIVE and released raw on basis "
        "vital-interest, without the citizen's consent; release a predicate or bucket instead",
        id="sensitive-field-raw-without-consent",
    ),
]


@pytest.mark.parametrize(("fields", "options", "finding"), ONE_RULE_FINDINGS)
def test_a_problem_of_one_rule_is_one_finding_at_its_line(
    tmp_path: Path, catalogues: Catalogues, fields: str, options: dict[str, str], finding: str
) -> None:
    path = write(tmp_path, "a.yaml", rule(fields, **options))
    # Linted as the hub knows its members: the everyday client is one.
    assert only(lint(tmp_path, catalogues, members={KEMENSOS})) == f"{path}:{finding}"


def test_a_repeated_rule_is_shadowed(tmp_path: Path, catalogues: Catalogues) -> None:
    first = write(tmp_path, "a.yaml", rule("employment_status: raw\n"))
    second = write(tmp_path, "b.yaml", rule("employment_status: raw\n"))
    assert only(lint(tmp_path, catalogues)) == (
        f"{second}:2: error: rule is shadowed by {first}:2, which says the same for client "
        f"'{KEMENSOS}', purpose 'bansos-eligibility', service '{EMPLOYMENT}'"
    )


def test_two_different_rules_for_one_key_conflict(tmp_path: Path, catalogues: Catalogues) -> None:
    path = write(tmp_path, "a.yaml", rule("employment_status: raw\n"), rule("employer: masked\n"))
    assert only(lint(tmp_path, catalogues)) == (
        f"{path}:7: error: rule conflicts with {path}:2: both decide client '{KEMENSOS}', "
        f"purpose 'bansos-eligibility', service '{EMPLOYMENT}', differently (the hub loads at "
        "most one rule per client, purpose and service)"
    )


def test_a_sensitive_field_released_raw_is_a_warning(
    tmp_path: Path, catalogues: Catalogues
) -> None:
    path = write(tmp_path, "a.yaml", rule("employment_status: raw\nmonthly_wage: raw\n"))
    finding = only(lint(tmp_path, catalogues))
    assert finding.startswith(f"{path}:7: warning: field 'monthly_wage' is SENSITIVE")


def test_a_file_that_does_not_load_is_reported_and_the_others_still_checked(
    tmp_path: Path, catalogues: Catalogues
) -> None:
    broken = write(tmp_path, "a.yaml", rule("employment_status: shredded\n"))
    other = write(tmp_path, "b.yaml", rule("salary: raw\n"))
    assert [str(f) for f in lint(tmp_path, catalogues)] == [
        f"{broken}:6: error: unknown treatment 'shredded' for field 'employment_status' "
        "(expected raw, masked, bucketed, predicate)",
        f"{other}:6: error: unknown field 'salary': the catalogue of {EMPLOYMENT} has "
        "employment_status, employer, monthly_wage, termination_date",
    ]
