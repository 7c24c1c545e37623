"""Policy test cases: what a query should get, written beside the policies (``tests/*.yaml``)::

    cases:
      - name: the wage is released only against the programme threshold
        client: ID/GOV/KEMENSOS/eligibility
        purpose: bansos-eligibility
        service: ID/GOV/BPJSTK/wages/employment
        fields: [employment_status, monthly_wage]
        release:                        # every requested field, in the policy's own syntax
          employment_status: raw
          monthly_wage: {predicate: {lt: 3000000}}
      - name: the wage itself is not released to anyone else
        client: ID/GOV/POLRI/korlantas
        purpose: bansos-eligibility
        service: ID/GOV/BPJSTK/wages/employment
        fields: [monthly_wage]
        refuse: NO_POLICY               # or FIELD_NOT_ALLOWED
      # optional on either: basis: vital-interest, two_person_approval: true

A case passes when the policy set decides exactly that; a failing one says what was expected
and what the policy decided instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from yaml.nodes import Node, SequenceNode

from policies.engine import POLICY_REFUSALS, Basis, Decision, FieldRule, PolicySet
from policies.loader import PolicyFileError, parse_basis, parse_field, parse_yaml_file
from policies.yaml_nodes import (
    NodeProblem,
    document_items,
    flag,
    mapping,
    require_keys,
    shape,
    text,
)

_QUERY_KEYS = ("name", "client", "purpose", "service", "fields")
_EXPECT_KEYS = ("release", "refuse", "basis", "two_person_approval")


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    line: int
    client: str
    purpose: str
    service: str
    fields: tuple[str, ...]
    release: Mapping[str, FieldRule] | None  # None: the case expects a refusal
    refuse: str | None
    basis: Basis | None  # None: not checked
    two_person_approval: bool | None

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class CaseResult:
    case: Case
    expected: str
    actual: str

    @property
    def passed(self) -> bool:
        return self.expected == self.actual


def load_cases(directory: Path) -> list[Case]:
    """Every case in ``directory/*.yaml``, files by name; ``PolicyFileError`` for a bad file."""
    if not directory.is_dir():
        raise PolicyFileError(str(directory), None, "policy test directory not found")
    cases: list[Case] = []
    for path in sorted(directory.glob("*.yaml")):
        parsed = parse_yaml_file(path, path.read_bytes(), _parse_cases)
        cases.extend(dataclasses.replace(case, source=str(path)) for case in parsed)
    return cases


def run_case(policies: PolicySet, case: Case) -> CaseResult:
    decision = policies.decide(case.client, case.purpose, case.service, case.fields)
    return CaseResult(case, _expected(case), _actual(case, decision))


def _expected(case: Case) -> str:
    outcome = f"refused {case.refuse}" if case.release is None else _describe_releases(case.release)
    return outcome + _describe_basis(case.basis, case.two_person_approval)


def _actual(case: Case, decision: Decision) -> str:
    reason = decision.refusal_reason
    if reason is None:
        outcome = _describe_releases(decision.releases)
    else:
        denied = f" (denies {', '.join(decision.denied)})" if decision.rule_found else ""
        outcome = f"refused {reason}{denied}"
        if case.refuse == reason:
            outcome = f"refused {reason}"  # which fields were denied is not part of the case
    # Only what the case states is compared, so a case need not restate every attribute.
    basis = decision.basis if case.basis is not None else None
    approval = decision.two_person_approval if case.two_person_approval is not None else None
    return outcome + _describe_basis(basis, approval)


def _describe_releases(releases: Mapping[str, FieldRule]) -> str:
    return "release " + ", ".join(
        f"{name} {_treatment(rule)}" for name, rule in sorted(releases.items())
    )


def _treatment(rule: FieldRule) -> str:
    shown = rule.detail if rule.detail and rule.detail != rule.treatment else ""
    return f"{rule.treatment} {shown}".strip()


def _describe_basis(basis: Basis | None, approval: bool | None) -> str:
    parts = [] if basis is None else [f"basis {basis}"]
    if approval is not None:
        parts.append("two-person approval" if approval else "no two-person approval")
    return f" [{', '.join(parts)}]" if parts else ""


def _parse_cases(root: Node | None) -> list[Case]:
    items = document_items(root, "cases", "policy test file")
    cases = [_parse_case(item) for item in items]
    names: dict[str, Case] = {}
    for case, item in zip(cases, items, strict=True):
        if case.name in names:
            first = names[case.name].line
            raise NodeProblem(item, f"duplicate case name {case.name!r} (first at line {first})")
        names[case.name] = case
    return cases


def _parse_case(node: Node) -> Case:
    entries = mapping(node, "a case")
    require_keys(entries, node, _QUERY_KEYS, where="case", optional=_EXPECT_KEYS)
    name, client, purpose, service = (text(entries[key][1], key) for key in _QUERY_KEYS[:4])
    fields = _parse_field_list(entries["fields"][1])
    if ("release" in entries) == ("refuse" in entries):
        raise NodeProblem(node, f"case {name!r} needs exactly one of 'release' or 'refuse'")
    release = None
    refuse = None
    if "release" in entries:
        release = _parse_release(entries["release"][1], fields)
    else:
        refuse_node = entries["refuse"][1]
        refuse = text(refuse_node, "refuse")
        if refuse not in POLICY_REFUSALS:
            raise NodeProblem(
                refuse_node,
                f"unknown refusal {refuse!r} (a policy refuses with {', '.join(POLICY_REFUSALS)})",
            )
    basis = parse_basis(entries["basis"][1]) if "basis" in entries else None
    approval = None
    if "two_person_approval" in entries:
        approval = flag(entries["two_person_approval"][1], "two_person_approval")
    line = node.start_mark.line + 1
    return Case(name, "", line, client, purpose, service, fields, release, refuse, basis, approval)


def _parse_field_list(node: Node) -> tuple[str, ...]:
    if not isinstance(node, SequenceNode) or not node.value:
        raise NodeProblem(node, f"'fields' must be a non-empty list of names, got {shape(node)}")
    return tuple(text(item, "field name") for item in node.value)


def _parse_release(node: Node, fields: tuple[str, ...]) -> Mapping[str, FieldRule]:
    entries = mapping(node, "'release' (field name: treatment)", duplicate="field")
    if set(entries) != set(fields):
        raise NodeProblem(
            node,
            f"'release' must give a treatment for each requested field and no other: "
            f"requested {', '.join(fields)}; release names {', '.join(entries) or 'none'}",
        )
    return {name: parse_field(name, value) for name, (_key, value) in entries.items()}
