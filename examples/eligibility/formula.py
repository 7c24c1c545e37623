"""The bansos eligibility formula: exclusion rules with reasons, never a score.

A household head is eligible unless a rule excludes them. Each rule reads what one agency
released through the hub and, when it applies, says so in a sentence a case worker can read out
("owns a car per Polri"). Every rule that applies is listed, not just the first, so an appeal can
answer all of them. When an agency that could exclude did not answer, the formula does not guess:
the applicant needs review, naming the agency, unless another rule already excludes them.

A recent job loss (the seeds' "sudden loss of livelihood") makes an applicant an emergency
candidate, eligible even if DTKS does not list them. DTKS's own listing is reported but decides
nothing: the pilot exists because DTKS alone misses the poor and keeps the no-longer-poor.

The thresholds and which rules are on come from ``criteria.yaml`` (see ``Criteria``).
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from examples.eligibility.evidence import (
    ATR_BPN,
    BPJS_KESEHATAN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    POLRI,
    Evidence,
    ServiceEvidence,
    agency_name,
)
from jembatan.errors import JembatanError
from jembatan.values import FieldValue

__all__ = [
    "RULES",
    "SWITCHES",
    "THIN_EVIDENCE",
    "Criteria",
    "CriteriaError",
    "Determination",
    "Evidence",
    "Outcome",
    "Reason",
    "Rule",
    "ServiceEvidence",
    "decide",
    "load_criteria",
]

Outcome = Literal["eligible", "ineligible", "needs_review"]
# What a reason does to the outcome: excludes -> ineligible, review -> needs_review,
# emergency -> the emergency flag; info is reported and changes nothing.
Kind = Literal["excludes", "review", "emergency", "info"]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    text: str
    source_service: str
    kind: Kind = "info"


@dataclass(frozen=True, slots=True)
class Determination:
    outcome: Outcome
    emergency: bool
    reasons: tuple[Reason, ...]

    @property
    def exclusions(self) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if reason.kind == "excludes")


# --- criteria


class CriteriaError(JembatanError, ValueError):
    """The criteria file is malformed: an unknown rule or threshold, or a wrongly typed value."""


_NUMBERS = (
    "wage_rp",
    "balance_rp",
    "average_balance_rp",
    "land_value_rp",
    "land_area_m2",
    "motorcycles",
    "new_vehicle_year",
    "job_loss_days",
)
_SETS: Mapping[str, type] = {"jkn_classes": int, "jkn_self_paying": str}


@dataclass(frozen=True, slots=True)
class Criteria:
    """Which rules are on, and their thresholds.

    Thresholds of fields the hub releases only as a yes/no predicate (wage, balances, land value,
    vehicle year, job-loss window) are applied by the hub's policy, not here; the criteria state
    them so reasons can quote them, and the formula checks each released predicate matches
    (a mismatch sends the applicant to review rather than quoting a wrong number). Thresholds of
    raw or bucketed fields (land area, motorcycles, JKN class and segment) are applied here.
    """

    enabled: frozenset[str]
    wage_rp: int = 3_000_000
    balance_rp: int = 5_000_000
    average_balance_rp: int = 2_000_000
    land_value_rp: int = 500_000_000
    land_area_m2: int = 2_500
    motorcycles: int = 3
    new_vehicle_year: int = 2022
    job_loss_days: int = 90
    jkn_classes: frozenset[int] = frozenset({1, 2})
    jkn_self_paying: frozenset[str] = frozenset({"PPU", "PBPU", "BP"})

    @classmethod
    def from_yaml(cls, text: str) -> Criteria:
        document = yaml.safe_load(text)
        if not isinstance(document, dict) or set(document) - {"rules", "thresholds"}:
            raise CriteriaError("criteria need a 'rules' mapping and an optional 'thresholds'")
        enabled = _enabled_rules(document.get("rules"))
        thresholds = _thresholds(document.get("thresholds") or {})
        return cls(enabled, **thresholds)


def load_criteria(path: Path | None = None) -> Criteria:
    """The criteria at ``path``, or the ones shipped beside this module."""
    if path is not None:
        return Criteria.from_yaml(path.read_text(encoding="utf-8"))
    shipped = importlib.resources.files("examples.eligibility").joinpath("criteria.yaml")
    return Criteria.from_yaml(shipped.read_text(encoding="utf-8"))


def _enabled_rules(rules: object) -> frozenset[str]:
    # Every rule must be switched explicitly, so a new rule never turns on (or off) unnoticed.
    if not isinstance(rules, dict):
        raise CriteriaError("'rules' must map each rule code to true or false")
    known = SWITCHES
    if unknown := set(rules) - known:
        raise CriteriaError(f"unknown rules: {', '.join(sorted(map(str, unknown)))}")
    if missing := known - set(rules):
        raise CriteriaError(f"rules not switched on or off: {', '.join(sorted(missing))}")
    if bad := [code for code, on in rules.items() if not isinstance(on, bool)]:
        raise CriteriaError(f"rules must be true or false: {', '.join(sorted(bad))}")
    return frozenset(code for code, on in rules.items() if on)


def _thresholds(values: object) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise CriteriaError("'thresholds' must be a mapping")
    if unknown := set(values) - {*_NUMBERS, *_SETS}:
        raise CriteriaError(f"unknown thresholds: {', '.join(sorted(map(str, unknown)))}")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in _SETS:
            checked[name] = _value_set(name, value, _SETS[name])
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            checked[name] = value
        else:
            raise CriteriaError(f"threshold {name} must be a whole number >= 0")
    return checked


def _value_set(name: str, value: object, item_type: type) -> frozenset[Any]:
    if not isinstance(value, list) or not value or any(type(v) is not item_type for v in value):
        raise CriteriaError(f"threshold {name} must be a non-empty list of {item_type.__name__}")
    return frozenset(value)


# --- reading released fields


class _Unchecked(Exception):
    """A rule could not be checked from what was released; the message says why."""


def _flag(fields: Mapping[str, FieldValue], name: str) -> bool:
    value = fields.get(name)
    if not isinstance(value, bool):
        raise _Unchecked(f"{name} not released as yes/no")
    return value


def _int(fields: Mapping[str, FieldValue], name: str) -> int:
    value = fields.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Unchecked(f"{name} not released as a number")
    return value


def _text(fields: Mapping[str, FieldValue], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise _Unchecked(f"{name} not released as text")
    return value


_BUCKET = re.compile(r"< (?P<below>\S+)|\[(?P<low>[^,]+), (?P<high>[^)]+)\)|>= (?P<above>\S+)")


def _bucket_at_or_above(fields: Mapping[str, FieldValue], name: str, threshold: int) -> bool:
    """Whether a bucketed value is at or above ``threshold``, from its label alone.

    Labels are the hub's: ``"< e0"``, ``"[a, b)"``, ``">= en"``. A bucket that straddles the
    threshold cannot answer; that means the criteria and the policy's edges disagree.
    """
    label = _text(fields, name)
    match = _BUCKET.fullmatch(label)
    if match is None:
        raise _Unchecked(f"{name} {label!r} is not a bucket label")
    low = float(match["low"] or match["above"] or "-inf")
    high = float(match["high"] or match["below"] or "inf")
    if low >= threshold:
        return True
    if high <= threshold:
        return False
    raise _Unchecked(f"{name} bucket {label} straddles the threshold {threshold:,}")


# --- the rules


Check = Callable[[Mapping[str, FieldValue], Criteria], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: which agency it reads, what it checks, and the sentence it states.

    ``topic`` names what the rule checks, for "not checked" messages. ``predicates`` gives, per
    field released as a predicate, the hub's description the criteria expect (e.g. ``< 3000000``).
    ``when_no_record`` is the rule's answer for a person the agency does not know.
    """

    code: str
    service: str
    kind: Kind
    topic: str
    check: Check
    sentence: Callable[[Criteria], str]
    predicates: Mapping[str, Callable[[Criteria], str]] = field(default_factory=dict)
    when_no_record: bool = False
    # The signal still reflects a job the household has just lost (JKN cover and the average
    # balance outlive the wage): a recent job loss sets such an exclusion aside.
    outlived_by_job_loss: bool = False


def _rp(amount: int) -> str:
    return f"Rp {amount:,}"


def _jkn_classes(criteria: Criteria) -> str:
    return " or ".join(str(number) for number in sorted(criteria.jkn_classes))


def _formal_wage(fields: Mapping[str, FieldValue], _criteria: Criteria) -> bool:
    # Only a current job says anything about today's income; an old wage does not.
    return _text(fields, "employment_status") == "active" and not _flag(fields, "monthly_wage")


def _recent_job_loss(fields: Mapping[str, FieldValue], _criteria: Criteria) -> bool:
    return _text(fields, "employment_status") == "inactive" and _flag(fields, "termination_date")


def _jkn_paying(fields: Mapping[str, FieldValue], criteria: Criteria) -> bool:
    # A lapsed membership is no sign of means (often the opposite): only active ones count.
    return (
        _text(fields, "membership_status") == "active"
        and _int(fields, "jkn_class") in criteria.jkn_classes
        and _text(fields, "segment") in criteria.jkn_self_paying
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "deceased",
        DUKCAPIL,
        "excludes",
        "alive",
        lambda f, _c: not _flag(f, "alive"),
        lambda _c: "deceased per Dukcapil",
    ),
    Rule(
        "moved_out",
        DUKCAPIL,
        "excludes",
        "residence",
        lambda f, _c: _flag(f, "moved_out"),
        lambda _c: "moved out of the village per Dukcapil",
    ),
    Rule(
        "identity_unverified",
        DUKCAPIL,
        "review",
        "identity",
        lambda _f, _c: False,
        lambda _c: "NIK not found in Dukcapil: identity to be checked",
        when_no_record=True,
    ),
    Rule(
        "formal_wage",
        BPJSTK,
        "excludes",
        "formal wage",
        _formal_wage,
        lambda c: f"formal wage at or above {_rp(c.wage_rp)} per BPJS Ketenagakerjaan",
        {"monthly_wage": lambda c: f"< {c.wage_rp}"},
    ),
    Rule(
        "jkn_class_paying",
        BPJS_KESEHATAN,
        "excludes",
        "JKN class",
        _jkn_paying,
        lambda c: f"JKN class {_jkn_classes(c)} as a wage earner or self-payer per BPJS Kesehatan",
        outlived_by_job_loss=True,
    ),
    Rule(
        "land_value",
        ATR_BPN,
        "excludes",
        "land value",
        lambda f, _c: _flag(f, "njop_total"),
        lambda c: f"land with tax value at or above {_rp(c.land_value_rp)} per ATR/BPN",
        {"njop_total": lambda c: f">= {c.land_value_rp}"},
    ),
    Rule(
        "land_area",
        ATR_BPN,
        "excludes",
        "land area",
        lambda f, c: _bucket_at_or_above(f, "total_area_m2", c.land_area_m2),
        lambda c: f"land area {c.land_area_m2:,} m² or more per ATR/BPN",
    ),
    Rule(
        "car",
        POLRI,
        "excludes",
        "car ownership",
        lambda f, _c: _flag(f, "car_count"),
        lambda _c: "owns a car per Polri",
    ),
    Rule(
        "motorcycles",
        POLRI,
        "excludes",
        "motorcycles",
        lambda f, c: _bucket_at_or_above(f, "motorcycle_count", c.motorcycles),
        lambda c: f"owns {c.motorcycles} or more motorcycles per Polri",
    ),
    Rule(
        "new_vehicle",
        POLRI,
        "excludes",
        "vehicle year",
        lambda f, _c: _flag(f, "newest_vehicle_year"),
        lambda c: f"owns a vehicle from {c.new_vehicle_year} or later per Polri",
        {"newest_vehicle_year": lambda c: f">= {c.new_vehicle_year}"},
    ),
    Rule(
        "bank_balance",
        HIMBARA,
        "excludes",
        "bank balance",
        lambda f, _c: not _flag(f, "total_balance"),
        lambda c: f"bank balance at or above {_rp(c.balance_rp)} per Himbara",
        {"total_balance": lambda c: f"< {c.balance_rp}"},
    ),
    Rule(
        "average_balance",
        HIMBARA,
        "excludes",
        "average balance",
        lambda f, _c: not _flag(f, "average_balance_3m"),
        lambda c: (
            f"average bank balance over 3 months at or above {_rp(c.average_balance_rp)} "
            "per Himbara"
        ),
        {"average_balance_3m": lambda c: f"< {c.average_balance_rp}"},
        outlived_by_job_loss=True,
    ),
    Rule(
        "recent_job_loss",
        BPJSTK,
        "emergency",
        "job loss",
        _recent_job_loss,
        lambda c: (
            f"recent job loss (within {c.job_loss_days} days) per BPJS Ketenagakerjaan "
            "→ emergency candidate"
        ),
        {"termination_date": lambda c: f"within {c.job_loss_days} days"},
    ),
)


# The review band: an applicant no rule excludes, but whom no register shows in need either
# (DTKS does not list them, no recent job loss) is eligible only by the absence of records,
# which is as true of a trader paid in cash as of a poor farmer. Such a decision is borderline
# and goes to a ground check instead of being made on silence. It reads the outcome of every
# other rule, so it is switched on and off like a rule but is not one of ``RULES``.
THIN_EVIDENCE = "thin_evidence"
_THIN_EVIDENCE_REASON = Reason(
    THIN_EVIDENCE,
    "no register shows need (not listed in DTKS, no recent job loss) and none shows means: "
    "to be confirmed by a ground check",
    DTKS,
    "review",
)
# Everything the criteria file switches on or off.
SWITCHES: frozenset[str] = frozenset({rule.code for rule in RULES} | {THIN_EVIDENCE})


# --- deciding


@dataclass(frozen=True, slots=True)
class _Verdict:
    applies: bool
    # Set when the rule could not be checked: the reason code and the sentence saying why.
    unchecked: tuple[str, str] | None = None


def _evaluate(rule: Rule, answer: ServiceEvidence, criteria: Criteria) -> _Verdict:
    agency = agency_name(rule.service)
    if answer.state == "unavailable":
        return _Verdict(False, ("agency_unavailable", f"{agency} unavailable ({answer.why})"))
    if answer.state == "no_record":
        return _Verdict(rule.when_no_record)
    try:
        _check_predicates(rule, answer, criteria)
        return _Verdict(rule.check(answer.fields, criteria))
    except _Unchecked as problem:
        return _Verdict(False, ("evidence_unreadable", f"{agency}: {problem}"))


def _check_predicates(rule: Rule, answer: ServiceEvidence, criteria: Criteria) -> None:
    # The hub says which question it answered; a different one means the policy and the
    # criteria disagree, and quoting the criteria's threshold would then be untrue.
    for name, expected in rule.predicates.items():
        detail = answer.details.get(name)
        if detail is not None and _normal(detail) != _normal(expected(criteria)):
            raise _Unchecked(
                f"{name} answers '{detail}' but the criteria expect '{expected(criteria)}'"
            )


def _normal(detail: str) -> tuple[str | float, ...]:
    # "< 3000000" and "< 3000000.0" ask the same question.
    return tuple(_number_or_word(word) for word in detail.split())


def _number_or_word(word: str) -> str | float:
    try:
        return float(word)
    except ValueError:
        return word


def _review_reasons(unchecked: Iterable[tuple[Rule, tuple[str, str]]]) -> list[Reason]:
    # One reason per agency and cause, listing everything that agency left unchecked.
    topics: dict[tuple[str, str, str], list[str]] = {}
    for rule, (code, why) in unchecked:
        topics.setdefault((rule.service, code, why), []).append(rule.topic)
    return [
        Reason(code, f"{why}: {', '.join(names)} not checked", service, "review")
        for (service, code, why), names in topics.items()
    ]


def _dtks_listing(answer: ServiceEvidence) -> Reason:
    if answer.state == "unavailable":
        return Reason("dtks_unavailable", f"DTKS unavailable ({answer.why})", DTKS)
    listed = answer.fields.get("in_dtks")
    if listed is True:
        decile = answer.fields.get("decile")
        text = "listed in DTKS" + (f" (decile {decile})" if isinstance(decile, int) else "")
        if answer.fields.get("last_verified") is False:
            text += ", last verified more than 2 years ago"
        return Reason("listed_in_dtks", text, DTKS)
    if answer.state == "no_record" or listed is False:
        return Reason("not_in_dtks", "not listed in DTKS", DTKS)
    return Reason("dtks_unavailable", "DTKS did not release in_dtks", DTKS)


def decide(evidence: Evidence, criteria: Criteria) -> Determination:
    """Decide one applicant from the evidence; every reason that applies is stated."""
    verdicts = [
        (rule, _evaluate(rule, evidence.of(rule.service), criteria))
        for rule in RULES
        if rule.code in criteria.enabled
    ]
    applied = [
        Reason(rule.code, rule.sentence(criteria), rule.service, rule.kind)
        for rule, verdict in verdicts
        if verdict.applies
    ]
    listing = _dtks_listing(evidence.of(DTKS))
    emergencies = [reason for reason in applied if reason.kind == "emergency"]
    outlived = {rule.code for rule in RULES if rule.outlived_by_job_loss} if emergencies else set()
    exclusions = [r for r in applied if r.kind == "excludes" and r.code not in outlived]
    if exclusions:
        # Exclusions settle it: a missing agency or a job loss cannot make them eligible.
        return Determination("ineligible", False, (*exclusions, listing))
    # Only a rule that could have excluded makes a missing answer matter.
    reviews = [reason for reason in applied if reason.kind == "review"] + _review_reasons(
        (rule, verdict.unchecked)
        for rule, verdict in verdicts
        if verdict.unchecked is not None and rule.kind == "excludes"
    )
    if (
        not reviews
        and not emergencies
        and listing.code == "not_in_dtks"
        and THIN_EVIDENCE in criteria.enabled
    ):
        reviews.append(_THIN_EVIDENCE_REASON)
    outcome: Outcome = "needs_review" if reviews else "eligible"
    return Determination(outcome, bool(emergencies), (*reviews, *emergencies, listing))
