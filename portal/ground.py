"""The ground check (verifikasi lapangan): where the system does not decide alone, a case for
an officer who visits the household (``portal.cases``), and what the visit changes.

- Opening: an application whose consent was refused, or for which no decision could be made
  through the hub (the hub failed, or the portal stopped mid-way), or whose decision fell in
  the formula's borderline band (``needs_review``: an agency did not answer, or its answer
  could not be read) gets a case in its household's village.
- The visit form checks each criterion of the formula the portal decides by (read from
  ``examples/eligibility``'s rules and criteria, never retyped): what was observed (true,
  false, could not be checked) and a short note; who was met; the outcome.
- Closing revises the application's decision (``revise``): eligible or not, "decided after
  a field check by <role> on <time>", with the case's history beside it.
"""

from __future__ import annotations

import datetime
import json
import time
from dataclasses import dataclass
from typing import Any

from examples.eligibility.formula import RULES, Criteria
from jembatan.locale import WIB
from jembatan.subject import may_hold_nik
from portal import explain
from portal.cases import open_case
from portal.keys import PortalSecrets
from portal.members import thresholds_of
from portal.store import Application, Case, PortalStore

__all__ = [
    "MET",
    "OBSERVED",
    "OUTCOMES",
    "Criterion",
    "Visit",
    "criteria_checked",
    "open_for",
    "parse_visit",
    "revise",
]

OUTCOMES = {"layak": "eligible", "tidak_layak": "ineligible"}
MET = ("head", "spouse", "other_member", "nobody")
OBSERVED = ("yes", "no", "unknown")
NOTE_MAX = 200


@dataclass(frozen=True)
class Criterion:
    code: str
    text: str  # the statement the officer checks, in the request's language


def criteria_checked(criteria: Criteria) -> list[Criterion]:
    """The formula's rules that are on, in the formula's order, as the officer checks them."""
    thresholds = thresholds_of(criteria)
    return [
        Criterion(rule.code, explain.criterion_text(rule.code, rule.topic, thresholds))
        for rule in RULES
        if rule.code in criteria.enabled
    ]


def village_of(application: Application) -> str:
    household: dict[str, Any] = json.loads(application.household)
    return str(household.get("village", "")).lower()


def open_for(
    store: PortalStore, keys: PortalSecrets, application: Application, kind: str, **details: Any
) -> Case:
    """A case for ``application`` (the system's act), unless it has an open one already:
    a page reloaded, or two paths reaching the same end, make one case, not two."""
    for case in store.cases_of_application(application.id):
        if case.status != "selesai":
            return case
    return open_case(
        store,
        keys.case_key,
        kind=kind,
        village=village_of(application),
        application_id=application.id,
        account_id=application.account_id,
        details={"application": application.id, **details},
    )


@dataclass(frozen=True)
class Visit:
    visited_on: str  # YYYY-MM-DD, in WIB
    met: str
    checks: list[dict[str, str]]  # {"criterion", "observed", "note"}
    outcome: str  # layak / tidak_layak

    def details(self) -> dict[str, Any]:
        return {"visited_on": self.visited_on, "met": self.met, "checks": self.checks}


def parse_visit(
    form: dict[str, str], criteria: list[Criterion], opened_at: int
) -> tuple[Visit | None, dict[str, str]]:
    """The visit form as posted: the visit, or the problems by field name (nothing kept)."""
    problems: dict[str, str] = {}
    today = datetime.datetime.now(WIB).date()
    opened = datetime.datetime.fromtimestamp(opened_at, WIB).date()
    try:
        day = datetime.date.fromisoformat(form.get("visited_on", ""))
        if not opened <= day <= today:
            problems["visited_on"] = "range"
    except ValueError:
        problems["visited_on"] = "missing"
    met = form.get("met", "")
    if met not in MET:
        problems["met"] = "missing"
    checks = []
    for criterion in criteria:
        observed = form.get(f"obs_{criterion.code}", "")
        note = " ".join(form.get(f"note_{criterion.code}", "").split())
        if observed not in OBSERVED:
            problems[f"obs_{criterion.code}"] = "missing"
        if len(note) > NOTE_MAX:
            problems[f"note_{criterion.code}"] = "long"
        elif may_hold_nik(note):
            problems[f"note_{criterion.code}"] = "nik"
        checks.append({"criterion": criterion.code, "observed": observed, "note": note})
    outcome = form.get("outcome", "")
    if outcome not in OUTCOMES:
        problems["outcome"] = "missing"
    if problems:
        return None, problems
    return Visit(form["visited_on"], met, checks, outcome), {}


def revise(
    decision: dict[str, Any] | None,
    *,
    outcome: str,
    role: str,
    case_id: str,
    formula_version: str,
    at: int | None = None,
) -> dict[str, Any]:
    """The application's decision after the field check: its outcome the officer's, and
    what the automated check found (if it ran) kept beside it for the record."""
    moment = int(time.time()) if at is None else at
    revised = (
        dict(decision)
        if decision
        else {
            "emergency": False,
            "formula_version": formula_version,
            "thresholds": {},
            "reasons": [],
            "evidence": {},
            "decided_at": datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(),
        }
    )
    if decision:
        revised["automated_outcome"] = decision["outcome"]
    revised["outcome"] = OUTCOMES[outcome]
    revised["field_check"] = {"outcome": outcome, "role": role, "at": moment, "case_id": case_id}
    return revised
