"""How well the formula targets, per village, against ground truth and against DTKS alone.

The pilot exists to fix "salah sasaran" (mis-targeting): DTKS pays households that are no
longer poor (inclusion error) and misses households that are (exclusion error). The target group
is the poor and the vulnerable. The service selects an applicant when it decides "eligible";
"needs_review" is not a selection yet, as DTKS selects only those it lists (an unknown listing is
not a selection either), so both are judged by what they would pay today.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from examples.eligibility.formula import Determination

Welfare = Literal["poor", "vulnerable", "non_poor"]
# The target group: the poor and the vulnerable.
TARGET: frozenset[str] = frozenset({"poor", "vulnerable"})


class Row(NamedTuple):
    """One applicant: a plain ``(village, welfare, determination, in_dtks)`` tuple also works."""

    village: str
    welfare: Welfare
    determination: Determination
    in_dtks: bool | None


@dataclass(slots=True)
class Targeting:
    """Who one method selected, set against the target group."""

    selected: int = 0
    selected_non_poor: int = 0
    target: int = 0
    target_missed: int = 0

    @property
    def inclusion_error(self) -> float | None:
        """Share of those selected who are not poor or vulnerable."""
        return self.selected_non_poor / self.selected if self.selected else None

    @property
    def exclusion_error(self) -> float | None:
        """Share of the poor and vulnerable who were not selected."""
        return self.target_missed / self.target if self.target else None

    def count(self, *, selected: bool, in_target: bool) -> None:
        self.selected += selected
        self.selected_non_poor += selected and not in_target
        self.target += in_target
        self.target_missed += in_target and not selected

    def merge(self, other: Targeting) -> None:
        self.selected += other.selected
        self.selected_non_poor += other.selected_non_poor
        self.target += other.target
        self.target_missed += other.target_missed


@dataclass(slots=True)
class VillageReport:
    village: str
    applicants: int = 0
    eligible: int = 0
    ineligible: int = 0
    needs_review: int = 0
    emergency: int = 0
    ineligible_by_reason: Counter[str] = field(default_factory=Counter)
    service: Targeting = field(default_factory=Targeting)
    dtks: Targeting = field(default_factory=Targeting)

    def add(self, row: Row) -> None:
        decision = row.determination
        self.applicants += 1
        self.eligible += decision.outcome == "eligible"
        self.ineligible += decision.outcome == "ineligible"
        self.needs_review += decision.outcome == "needs_review"
        self.emergency += decision.emergency
        # Counted per reason, so one applicant excluded for a car and land counts under both.
        self.ineligible_by_reason.update(reason.code for reason in decision.exclusions)
        in_target = row.welfare in TARGET
        self.service.count(selected=decision.outcome == "eligible", in_target=in_target)
        self.dtks.count(selected=row.in_dtks is True, in_target=in_target)

    def merge(self, other: VillageReport) -> None:
        self.applicants += other.applicants
        self.eligible += other.eligible
        self.ineligible += other.ineligible
        self.needs_review += other.needs_review
        self.emergency += other.emergency
        self.ineligible_by_reason.update(other.ineligible_by_reason)
        self.service.merge(other.service)
        self.dtks.merge(other.dtks)


def evaluate(
    rows: Iterable[tuple[str, Welfare, Determination, bool | None]],
) -> dict[str, VillageReport]:
    """One report per village, in the order villages first appear."""
    reports: dict[str, VillageReport] = {}
    for row in map(Row._make, rows):
        if row.welfare not in ("poor", "vulnerable", "non_poor"):
            raise ValueError(f"unknown welfare {row.welfare!r}")
        reports.setdefault(row.village, VillageReport(row.village)).add(row)
    return reports


def total(reports: Mapping[str, VillageReport], name: str = "All villages") -> VillageReport:
    combined = VillageReport(name)
    for report in reports.values():
        combined.merge(report)
    return combined


# --- the demo's table


_COUNTS = ("applicants", "eligible", "ineligible", "needs review", "emergency")
_ERRORS = ("service", "DTKS alone", "service", "DTKS alone")
_VILLAGE_WIDTH = 14
_ERROR_WIDTH = 18


def _share(part: int, whole: int, rate: float | None) -> str:
    # An empty denominator has no error rate at all, which is not the same as 0 %.
    return "-" if rate is None else f"{rate:.1%} ({part}/{whole})"


def _counts_line(report: VillageReport) -> str:
    counts = (
        report.applicants,
        report.eligible,
        report.ineligible,
        report.needs_review,
        report.emergency,
    )
    cells = (f"{count:>{len(title)}}" for count, title in zip(counts, _COUNTS, strict=True))
    return f"{report.village:<{_VILLAGE_WIDTH}}  " + "  ".join(cells)


def _errors_line(report: VillageReport) -> str:
    service, dtks = report.service, report.dtks
    cells = (
        _share(service.selected_non_poor, service.selected, service.inclusion_error),
        _share(dtks.selected_non_poor, dtks.selected, dtks.inclusion_error),
        _share(service.target_missed, service.target, service.exclusion_error),
        _share(dtks.target_missed, dtks.target, dtks.exclusion_error),
    )
    return f"{report.village:<{_VILLAGE_WIDTH}}  " + "  ".join(
        f"{cell:>{_ERROR_WIDTH}}" for cell in cells
    )


def _counts_table(reports: list[VillageReport]) -> list[str]:
    header = f"{'village':<{_VILLAGE_WIDTH}}  " + "  ".join(_COUNTS)
    return [header, "-" * len(header), *map(_counts_line, reports)]


def _errors_table(reports: list[VillageReport]) -> list[str]:
    half = 2 * _ERROR_WIDTH + 2
    groups = f"{'':<{_VILLAGE_WIDTH}}  {'inclusion error':^{half}}  {'exclusion error':^{half}}"
    header = f"{'village':<{_VILLAGE_WIDTH}}  " + "  ".join(
        f"{title:>{_ERROR_WIDTH}}" for title in _ERRORS
    )
    return [groups.rstrip(), header, "-" * len(header), *map(_errors_line, reports)]


def _reasons(report: VillageReport) -> list[str]:
    counts = report.ineligible_by_reason.most_common()
    return [f"{report.village}: ineligible by reason"] + [
        f"  {code:<24} {count}" for code, count in counts
    ]


def render(reports: Mapping[str, VillageReport]) -> str:
    """Plain-text tables per village (and all villages): outcomes, targeting errors, reasons.

    Inclusion error: the share of those selected who are not poor or vulnerable. Exclusion
    error: the share of the poor and vulnerable not selected. Each with its counts.
    """
    rows = [*reports.values()]
    if len(rows) > 1:
        rows.append(total(reports))
    lines = [*_counts_table(rows), "", *_errors_table(rows), ""]
    for report in rows:
        lines.extend(_reasons(report))
    return "\n".join(lines)
