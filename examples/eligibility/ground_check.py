"""What the ground check changes: the system's decisions with field visits behind them.

The pilot's promise is that the system decides and a ground check in the field (verifikasi
lapangan) backs it up where technology falls short. A household is visited when it refuses
consent (no agency is asked, so nothing else can decide), when the formula cannot decide
(``needs_review``: an agency did not answer, or the review band: eligible on silence alone),
when it objects to being excluded (sanggah), or when a neighbour reports it as a recipient
that should not be. The visiting officer's verdict then replaces the system's.

Over the synthetic villages the simulator's ground truth stands in for what the officer
observes, with an error rate of its own; how often citizens refuse, object or report are
assumptions too (``FieldAssumptions``), stated beside every figure, not measurements. The
draw for each household is seeded by its id, so a report is reproducible.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Literal

from examples.eligibility.evaluation import TARGET, Targeting, Welfare
from examples.eligibility.formula import Determination

__all__ = ["CAUSES", "FieldAssumptions", "FieldReport", "Household", "ground_check", "render"]

Cause = Literal["consent_refused", "needs_review", "objection", "report"]
# Why a household was visited, in the order they are looked for.
CAUSES: tuple[Cause, ...] = ("consent_refused", "needs_review", "objection", "report")


@dataclass(frozen=True, slots=True)
class FieldAssumptions:
    """How citizens and officers behave in the simulation; each a probability."""

    # A visiting officer's verdict is the opposite of the truth this often.
    officer_error: float = 0.10
    # Applicants who refuse the consent screen (and so go straight to a visit).
    consent_refused: float = 0.05
    # Excluded households that object: more often when the exclusion is wrong.
    objects_if_wrongly_excluded: float = 0.50
    objects_if_rightly_excluded: float = 0.10
    # Selected households a neighbour reports: more often when they are not poor.
    reported_if_wrongly_selected: float = 0.20
    reported_if_rightly_selected: float = 0.02

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{item.name} must be a probability, got {value}")

    def describe(self) -> str:
        return ", ".join(f"{item.name} {getattr(self, item.name):.0%}" for item in fields(self))


@dataclass(frozen=True, slots=True)
class Household:
    """One applicant household: its id (seeds its draws), village, true welfare and the
    system's decision."""

    household_id: str
    village: str
    welfare: Welfare
    determination: Determination


@dataclass(slots=True)
class FieldReport:
    village: str
    households: int = 0
    visits: Counter[Cause] = field(default_factory=Counter)
    # Visits whose verdict changed whether the household is selected.
    changed: int = 0
    system: Targeting = field(default_factory=Targeting)
    after: Targeting = field(default_factory=Targeting)

    @property
    def visited(self) -> int:
        return sum(self.visits.values())

    def merge(self, other: FieldReport) -> None:
        self.households += other.households
        self.visits.update(other.visits)
        self.changed += other.changed
        self.system.merge(other.system)
        self.after.merge(other.after)


def _draws(household_id: str, seed: int) -> random.Random:
    # One stream per household, independent of the order households come in.
    digest = hashlib.sha256(f"{seed}:{household_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _cause(
    draw: random.Random,
    selected: bool,
    decision: Determination,
    in_target: bool,
    a: FieldAssumptions,
) -> Cause | None:
    # Every draw is taken whatever the branch, so changing one rate moves no other household.
    refuses, objects, reported = draw.random(), draw.random(), draw.random()
    if refuses < a.consent_refused:
        return "consent_refused"
    if decision.outcome == "needs_review":
        return "needs_review"
    if not selected:
        rate = a.objects_if_rightly_excluded if not in_target else a.objects_if_wrongly_excluded
        return "objection" if objects < rate else None
    rate = a.reported_if_rightly_selected if in_target else a.reported_if_wrongly_selected
    return "report" if reported < rate else None


def ground_check(
    households: Iterable[Household], assumptions: FieldAssumptions, *, seed: int = 2026
) -> dict[str, FieldReport]:
    """Per village: the visits by cause, and the targeting errors of the system's decisions
    alone (``needs_review`` selects no one, as in ``evaluation``) and after the visits."""
    reports: dict[str, FieldReport] = {}
    for household in households:
        report = reports.setdefault(household.village, FieldReport(household.village))
        in_target = household.welfare in TARGET
        selected = household.determination.outcome == "eligible"
        draw = _draws(household.household_id, seed)
        cause = _cause(draw, selected, household.determination, in_target, assumptions)
        officer_right = draw.random() >= assumptions.officer_error
        report.households += 1
        report.system.count(selected=selected, in_target=in_target)
        if cause is None:
            final = selected
        else:
            report.visits[cause] += 1
            final = in_target if officer_right else not in_target
            report.changed += final != selected
        report.after.count(selected=final, in_target=in_target)
    return reports


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def render(reports: Mapping[str, FieldReport], assumptions: FieldAssumptions) -> str:
    """Plain-text table per village and in total: visits by cause, decisions changed, and the
    inclusion and exclusion errors before and after the visits."""
    rows = [*reports.values()]
    if len(rows) > 1:
        whole = FieldReport("All villages")
        for report in rows:
            whole.merge(report)
        rows.append(whole)
    header = (
        f"{'village':<14}  {'households':>10}  {'visits':>6}  {'refused':>7}  {'review':>6}  "
        f"{'objection':>9}  {'report':>6}  {'changed':>7}  {'inclusion':>15}  {'exclusion':>15}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        inclusion = f"{_rate(r.system.inclusion_error)} → {_rate(r.after.inclusion_error)}"
        exclusion = f"{_rate(r.system.exclusion_error)} → {_rate(r.after.exclusion_error)}"
        lines.append(
            f"{r.village:<14}  {r.households:>10}  {r.visited:>6}  "
            f"{r.visits['consent_refused']:>7}  {r.visits['needs_review']:>6}  "
            f"{r.visits['objection']:>9}  {r.visits['report']:>6}  {r.changed:>7}  "
            f"{inclusion:>15}  {exclusion:>15}"
        )
    lines += ["", f"assumed: {assumptions.describe()}"]
    return "\n".join(lines)
