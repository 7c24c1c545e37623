"""Check policy files against the services' field catalogues, before the hub loads them.

The loader stops at a file's first problem and refuses the whole set; lint reads every file on
its own and reports every problem it can find, each as ``path:line: error|warning: problem``:

- errors: a file the loader refuses; two rules for one client, purpose and service (a repeat is
  shadowed, a differing one conflicts); a rule for an unknown service or a client that is no
  member; a field the service's catalogue does not have; a treatment that can never be applied
  to the field's catalogue type (the hub would refuse every such release);
- warnings: a field the catalogue marks sensitive released raw, worse on a non-consent basis.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jembatan.catalogue import FieldSpec
from jembatan.values import FieldValue
from policies.engine import FieldRule, Rule, RuleKey
from policies.loader import (
    DEFAULT_DIRECTORY,
    PolicyFileError,
    load_policy_file,
    read_policy_files,
)
from policies.transforms import PolicyValueError

Severity = Literal["error", "warning"]
# Service id -> its field catalogue, as the hub's registry or the connectors hold it.
Catalogues = Mapping[str, Sequence[FieldSpec]]

# One value of each catalogue type: a treatment that refuses it refuses every value of the type.
_SAMPLES: Mapping[str, FieldValue] = {
    "text": "sample",
    "integer": 1,
    "number": 1.5,
    "flag": True,
    "date": datetime.date(2000, 1, 1),
}
_TODAY = datetime.date(2000, 1, 2)


@dataclass(frozen=True)
class Finding:
    source: str
    line: int | None
    severity: Severity
    problem: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.severity}: {self.problem}"


def lint(
    directory: Path | None,
    catalogues: Catalogues,
    members: Collection[str] | None = None,
) -> list[Finding]:
    """Every problem of the policy files in ``directory`` (default: the shipped ones), in file
    and line order. ``members``: the hub's member ids, when known, to find rules no client can
    use. Raises ``PolicyFileError`` only when the directory itself is missing."""
    findings: list[Finding] = []
    seen: dict[RuleKey, Rule] = {}
    files = read_policy_files(directory)
    if not files:
        # A hub serving this directory would release nothing to anyone: surely a wrong --dir.
        where = str(directory or DEFAULT_DIRECTORY)
        return [Finding(where, None, "error", "no policy files (*.yaml) here")]
    for path, data in files:
        try:
            rules = load_policy_file(path, data)
        except PolicyFileError as exc:
            findings.append(Finding(exc.path, exc.line, "error", exc.problem))
            continue
        for rule in rules:
            findings.extend(_check_rule(rule, seen.get(rule.key), catalogues, members))
            seen.setdefault(rule.key, rule)
    return findings


def _check_rule(
    rule: Rule, earlier: Rule | None, catalogues: Catalogues, members: Collection[str] | None
) -> list[Finding]:
    def error(problem: str, line: int = rule.line) -> Finding:
        return Finding(rule.source, line, "error", problem)

    found: list[Finding] = []
    if earlier is not None:
        found.append(error(_repeat_problem(rule, earlier)))
    if members is not None and rule.client not in members:
        found.append(
            error(f"rule can never apply: client {rule.client!r} is not a member of this hub")
        )
    catalogue = catalogues.get(rule.service)
    if catalogue is None:
        found.append(error(f"unknown service {rule.service!r}: no catalogue offers it"))
        return found
    specs = {spec.name: spec for spec in catalogue}
    for field_rule in rule.fields.values():
        spec = specs.get(field_rule.name)
        if spec is None:
            offered = ", ".join(specs) or "nothing"
            found.append(
                error(
                    f"unknown field {field_rule.name!r}: the catalogue of {rule.service} "
                    f"has {offered}",
                    field_rule.line,
                )
            )
            continue
        unfit = _unfit(field_rule, spec)
        if unfit is not None:
            found.append(
                error(
                    f"field {field_rule.name!r} can never be released: {field_rule.treatment} "
                    f"does not fit its catalogue type {spec.type} ({unfit})",
                    field_rule.line,
                )
            )
        elif field_rule.treatment == "raw" and spec.sensitivity == "sensitive":
            found.append(_sensitive_raw(rule, field_rule))
    return found


def _repeat_problem(rule: Rule, earlier: Rule) -> str:
    key = f"client {rule.client!r}, purpose {rule.purpose!r}, service {rule.service!r}"
    same = dict(rule.fields) == dict(earlier.fields) and (
        (rule.basis, rule.legal_reference, rule.two_person_approval)
        == (earlier.basis, earlier.legal_reference, earlier.two_person_approval)
    )
    if same:
        return f"rule is shadowed by {earlier.location}, which says the same for {key}"
    return (
        f"rule conflicts with {earlier.location}: both decide {key}, differently "
        f"(the hub loads at most one rule per client, purpose and service)"
    )


def _unfit(field_rule: FieldRule, spec: FieldSpec) -> str | None:
    sample = _SAMPLES.get(spec.type)
    if sample is None:
        return None  # a type this hub does not know: nothing to check against
    try:
        field_rule.apply(sample, today=_TODAY)
    except PolicyValueError as exc:
        return str(exc)
    return None


def _sensitive_raw(rule: Rule, field_rule: FieldRule) -> Finding:
    name = field_rule.name
    if rule.basis == "consent":
        problem = (
            f"field {name!r} is SENSITIVE in the catalogue of {rule.service} and released raw; "
            f"a predicate or bucket usually answers the question"
        )
    else:
        problem = (
            f"field {name!r} is SENSITIVE and released raw on basis {rule.basis}, without "
            f"the citizen's consent; release a predicate or bucket instead"
        )
    return Finding(rule.source, field_rule.line, "warning", problem)
