"""Targeting figures per village on a small hand-made table, checked by hand."""

from __future__ import annotations

from collections import Counter

import pytest

from examples.eligibility.evaluation import Row, Targeting, Welfare, evaluate, render, total
from examples.eligibility.evidence import ATR_BPN, BPJSTK, DUKCAPIL, POLRI
from examples.eligibility.formula import Determination, Reason

CAR = Reason("car", "owns a car per Polri", POLRI, "excludes")
LAND = Reason("land_value", "land with tax value ...", ATR_BPN, "excludes")
DEAD = Reason("deceased", "deceased per Dukcapil", DUKCAPIL, "excludes")
LOSS = Reason("recent_job_loss", "recent job loss ...", BPJSTK, "emergency")
DOWN = Reason("agency_unavailable", "Polri unavailable", POLRI, "review")

ELIGIBLE = Determination("eligible", False, ())
EMERGENCY = Determination("eligible", True, (LOSS,))
REVIEW = Determination("needs_review", False, (DOWN,))


def ineligible(*reasons: Reason) -> Determination:
    return Determination("ineligible", False, reasons)


ROWS: list[Row] = [
    Row("Kemiren", "poor", ELIGIBLE, True),
    Row("Kemiren", "poor", ineligible(CAR), False),  # a wrong exclusion by the service
    Row("Kemiren", "vulnerable", EMERGENCY, None),  # DTKS did not answer
    Row("Kemiren", "non_poor", ELIGIBLE, True),  # both include a non-poor household
    Row("Kemiren", "non_poor", ineligible(CAR, LAND), True),
    Row("Kemiren", "poor", REVIEW, True),  # pending review is not (yet) selected
    Row("Lateng", "non_poor", ineligible(DEAD), False),
    Row("Lateng", "poor", ELIGIBLE, False),
]


def test_counts_per_village() -> None:
    reports = evaluate(ROWS)
    assert list(reports) == ["Kemiren", "Lateng"]
    kemiren, lateng = reports["Kemiren"], reports["Lateng"]
    assert (kemiren.applicants, kemiren.eligible, kemiren.ineligible) == (6, 3, 2)
    assert (kemiren.needs_review, kemiren.emergency) == (1, 1)
    assert kemiren.ineligible_by_reason == Counter({"car": 2, "land_value": 1})
    assert (lateng.applicants, lateng.eligible, lateng.ineligible, lateng.needs_review) == (
        2,
        1,
        1,
        0,
    )
    assert lateng.ineligible_by_reason == Counter({"deceased": 1})


def test_inclusion_and_exclusion_errors_for_the_service_and_dtks_alone() -> None:
    kemiren, lateng = evaluate(ROWS).values()
    # Service selects rows 1, 3, 4; the target group is rows 1, 2, 3, 6.
    assert kemiren.service == Targeting(selected=3, selected_non_poor=1, target=4, target_missed=2)
    assert kemiren.service.inclusion_error == pytest.approx(1 / 3)
    assert kemiren.service.exclusion_error == 0.5
    # DTKS selects rows 1, 4, 5, 6; it misses row 2 (not listed) and row 3 (unknown).
    assert kemiren.dtks == Targeting(selected=4, selected_non_poor=2, target=4, target_missed=2)
    assert (kemiren.dtks.inclusion_error, kemiren.dtks.exclusion_error) == (0.5, 0.5)
    assert lateng.service == Targeting(selected=1, selected_non_poor=0, target=1, target_missed=0)
    assert (lateng.service.inclusion_error, lateng.service.exclusion_error) == (0.0, 0.0)
    # DTKS selects nobody in Lateng: its inclusion error is undefined, not zero.
    assert lateng.dtks == Targeting(selected=0, selected_non_poor=0, target=1, target_missed=1)
    assert (lateng.dtks.inclusion_error, lateng.dtks.exclusion_error) == (None, 1.0)


def test_the_total_adds_the_villages_up() -> None:
    combined = total(evaluate(ROWS))
    assert (combined.village, combined.applicants, combined.eligible) == ("All villages", 8, 4)
    assert (combined.ineligible, combined.needs_review, combined.emergency) == (3, 1, 1)
    assert combined.ineligible_by_reason == Counter({"car": 2, "land_value": 1, "deceased": 1})
    assert combined.service == Targeting(4, 1, 5, 2)
    assert combined.dtks == Targeting(4, 2, 5, 3)
    assert (combined.dtks.inclusion_error, combined.dtks.exclusion_error) == (0.5, 0.6)


def test_plain_tuples_are_rows_too() -> None:
    plain: list[tuple[str, Welfare, Determination, bool | None]] = [
        ("Kemiren", "poor", ELIGIBLE, None)
    ]
    assert evaluate(plain)["Kemiren"].service == Targeting(1, 0, 1, 0)


def test_an_unknown_welfare_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown welfare 'rich'"):
        evaluate([("Kemiren", "rich", ELIGIBLE, True)])  # type: ignore[list-item]


def test_render_shows_every_village_the_total_and_the_reasons() -> None:
    lines = render(evaluate(ROWS)).splitlines()
    assert lines[0].split() == [
        "village",
        "applicants",
        "eligible",
        "ineligible",
        "needs",
        "review",
        "emergency",
    ]
    counts = [line.split() for line in lines if line.startswith(("Kemiren ", "Lateng ", "All "))]
    assert counts[:3] == [
        ["Kemiren", "6", "3", "2", "1", "1"],
        ["Lateng", "2", "1", "1", "0", "0"],
        ["All", "villages", "8", "4", "3", "1", "1"],
    ]
    errors = [line.split("  ") for line in lines if line.startswith(("Kemiren ", "Lateng "))][2:]
    kemiren, lateng = ([cell.strip() for cell in line if cell.strip()] for line in errors)
    assert kemiren == ["Kemiren", "33.3% (1/3)", "50.0% (2/4)", "50.0% (2/4)", "50.0% (2/4)"]
    # DTKS selected nobody in Lateng: no inclusion error to show.
    assert lateng == ["Lateng", "0.0% (0/1)", "-", "0.0% (0/1)", "100.0% (1/1)"]
    assert "  car                      2" in lines
    assert "Lateng: ineligible by reason" in lines
    assert max(map(len, lines)) <= 100
