"""The policy decision: which requested fields a client may receive, and in what form.

Deny by default: a (client, purpose, service) without a rule gets nothing, and a field the rule
does not list is denied. Everything is compiled at load so that ``PolicySet.decide``, called on
every query, is one dict lookup and a loop over the requested fields.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from jembatan.values import FieldValue
from policies import predicates, transforms

Treatment = Literal["raw", "masked", "bucketed", "predicate"]
TREATMENTS: tuple[Treatment, ...] = ("raw", "masked", "bucketed", "predicate")
# Why the hub may release at all: the citizen's consent, or a law that obliges or permits the
# release without it (UU PDP 27/2022, Pasal 20). A non-consent basis names its law.
Basis = Literal["consent", "legal-obligation", "vital-interest"]
BASES: tuple[Basis, ...] = ("consent", "legal-obligation", "vital-interest")
RuleKey = tuple[str, str, str]
# The refusal reasons (``Reason`` in common.proto) a policy decision can give.
POLICY_REFUSALS = ("NO_POLICY", "FIELD_NOT_ALLOWED")


@dataclass(frozen=True)
class FieldRule:
    """How one field is released. Build with the ``raw``/``masked``/... constructors."""

    name: str
    treatment: Treatment
    detail: str
    _transform: transforms.Transform = field(repr=False, compare=False)
    # Where the field is written (0: built in code), so lint and explain can point at it.
    line: int = field(default=0, compare=False)

    @classmethod
    def raw(cls, name: str) -> FieldRule:
        return cls._of(name, "raw", transforms.raw())

    @classmethod
    def masked(cls, name: str) -> FieldRule:
        return cls._of(name, "masked", transforms.masked())

    @classmethod
    def bucketed(cls, name: str, edges: Sequence[object]) -> FieldRule:
        """Raises ``TreatmentError`` unless edges are finite, strictly increasing numbers."""
        return cls._of(name, "bucketed", transforms.bucketed(edges))

    @classmethod
    def predicate(cls, name: str, op: str, operand: object) -> FieldRule:
        """Raises ``TreatmentError`` for an unknown op or an operand that does not fit it."""
        return cls._of(name, "predicate", predicates.predicate(op, operand))

    @classmethod
    def _of(cls, name: str, treatment: Treatment, compiled: transforms.Compiled) -> FieldRule:
        return cls(name, treatment, compiled.detail, compiled.transform)

    def apply(self, value: FieldValue, *, today: datetime.date) -> FieldValue:
        """The value as released; ``PolicyValueError`` when its type does not fit the treatment."""
        return self._transform(value, today)


@dataclass(frozen=True)
class Rule:
    """What one client may see from one service for one purpose; ``source:line`` locates it."""

    client: str
    purpose: str
    service: str
    fields: Mapping[str, FieldRule]
    source: str = "<memory>"
    line: int = 0
    basis: Basis = "consent"
    # Required for (and only for) a non-consent basis: the law that allows the release.
    legal_reference: str | None = None
    two_person_approval: bool = False

    @property
    def key(self) -> RuleKey:
        return (self.client, self.purpose, self.service)

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"


_NOTHING: Mapping[str, FieldRule] = MappingProxyType({})


@dataclass(frozen=True)
class Decision:
    """The policy's answer for one query's requested fields.

    Requested fields are taken once each, in request order; a repeated name is ignored.
    """

    rule_found: bool
    releases: Mapping[str, FieldRule]
    denied: tuple[str, ...]
    # The matched rule's legal basis, for the pipeline to enforce (consent when no rule).
    basis: Basis = "consent"
    legal_reference: str | None = None
    two_person_approval: bool = False

    @property
    def refusal_reason(self) -> str | None:
        """The ``Reason`` the hub refuses with, or ``None`` when every field is released."""
        if not self.rule_found:
            return "NO_POLICY"
        if self.denied:
            return "FIELD_NOT_ALLOWED"
        return None

    def apply(
        self, values: Mapping[str, FieldValue], *, today: datetime.date
    ) -> dict[str, FieldValue]:
        """Transform an agency's answer: released fields only, in request order.

        Fields the agency sent but the decision does not release are dropped; released fields
        the agency did not send are absent. Raises ``PolicyValueError`` like ``FieldRule.apply``.
        """
        return {
            name: rule.apply(values[name], today=today)
            for name, rule in self.releases.items()
            if name in values
        }


class PolicySet:
    """An immutable set of rules, at most one per (client, purpose, service)."""

    def __init__(self, rules: Iterable[Rule], version: str) -> None:
        self.version = version
        self._rules = tuple(rules)
        self._index: dict[RuleKey, Rule] = {}
        for rule in self._rules:
            if rule.key in self._index:
                raise ValueError(f"two rules for client, purpose, service {rule.key}")
            self._index[rule.key] = rule

    def decide(self, client: str, purpose: str, service: str, fields: Sequence[str]) -> Decision:
        rule = self._index.get((client, purpose, service))
        if rule is None:
            return Decision(False, _NOTHING, tuple(dict.fromkeys(fields)))
        releases: dict[str, FieldRule] = {}
        denied: dict[str, None] = {}
        for name in fields:
            field_rule = rule.fields.get(name)
            if field_rule is None:
                denied[name] = None
            else:
                releases[name] = field_rule
        return Decision(
            True,
            MappingProxyType(releases),
            tuple(denied),
            basis=rule.basis,
            legal_reference=rule.legal_reference,
            two_person_approval=rule.two_person_approval,
        )

    def rule(self, client: str, purpose: str, service: str) -> Rule | None:
        """The one rule for this client, purpose and service, if any."""
        return self._index.get((client, purpose, service))

    def allowed_fields(self, client: str, purpose: str, service: str) -> tuple[str, ...]:
        rule = self._index.get((client, purpose, service))
        return () if rule is None else tuple(rule.fields)

    def rules(self) -> tuple[Rule, ...]:
        """Every rule, in load order (files by name, rules as written)."""
        return self._rules

    def __repr__(self) -> str:
        return f"PolicySet(version={self.version!r}, rules={len(self._rules)})"
