"""Legal bases in the rule format: consent by default, a non-consent basis names its law, and
the decision carries all of it for the pipeline to enforce."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import PolicyFileError, load_policies

HEAD = "rules:\n  - client: C\n    purpose: P\n    service: S\n"
FIELDS = "    fields: {a: raw}\n"


def load(tmp_path: Path, extra: str) -> str:
    """Load a rule with ``extra`` keys (from line 5); the error's ``line: problem``, or ''."""
    path = tmp_path / "x.yaml"
    path.write_text(HEAD + extra + FIELDS)
    try:
        load_policies(tmp_path)
    except PolicyFileError as exc:
        return str(exc).removeprefix(f"{path}:")
    return ""


def test_a_rule_without_basis_rests_on_consent(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(HEAD + FIELDS)
    decision = load_policies(tmp_path).decide("C", "P", "S", ["a"])
    assert (decision.basis, decision.legal_reference, decision.two_person_approval) == (
        "consent",
        None,
        False,
    )


def test_a_non_consent_basis_reaches_the_decision(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        HEAD + "    basis: legal-obligation\n    legal_reference: UU 11/2009, Pasal 6\n"
        "    two_person_approval: true\n" + FIELDS
    )
    policy = load_policies(tmp_path)
    decision = policy.decide("C", "P", "S", ["a"])
    assert (decision.basis, decision.legal_reference, decision.two_person_approval) == (
        "legal-obligation",
        "UU 11/2009, Pasal 6",
        True,
    )
    assert decision.refusal_reason is None
    no_rule = policy.decide("C", "other", "S", ["a"])
    assert (no_rule.basis, no_rule.refusal_reason) == ("consent", "NO_POLICY")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "    basis: public-interest\n",
            "5: unknown basis 'public-interest' (expected consent, legal-obligation, "
            "vital-interest)",
        ),
        (
            "    basis: vital-interest\n",
            "5: basis 'vital-interest' needs 'legal_reference' naming the law that allows the "
            'release (e.g. "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48")',
        ),
        ("    basis: vital-interest\n    legal_reference: ''\n", "6: legal_reference is empty"),
        (
            "    legal_reference: UU 24/2007\n",
            "5: 'legal_reference' applies only to a non-consent basis (set basis: "
            "legal-obligation or vital-interest, or remove it)",
        ),
        (
            "    two_person_approval: true\n",
            "5: 'two_person_approval' applies only to a non-consent basis (set basis: "
            "legal-obligation or vital-interest, or remove it)",
        ),
        (
            "    basis: vital-interest\n    legal_reference: UU 24/2007\n"
            "    two_person_approval: yes please\n",
            "7: two_person_approval must be true or false, got 'yes please'",
        ),
    ],
)
def test_basis_errors_name_file_and_line(tmp_path: Path, extra: str, expected: str) -> None:
    assert load(tmp_path, extra) == expected
