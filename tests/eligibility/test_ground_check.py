"""The ground check's figures: who is visited and why, and the errors before and after,
checked against a direct count on hand-made households."""

from __future__ import annotations

import random

import pytest

from examples.eligibility.evaluation import Welfare
from examples.eligibility.formula import Determination, Outcome
from examples.eligibility.ground_check import (
    FieldAssumptions,
    Household,
    ground_check,
    render,
)

NOBODY_ACTS = FieldAssumptions(
    officer_error=0.0,
    consent_refused=0.0,
    objects_if_wrongly_excluded=0.0,
    objects_if_rightly_excluded=0.0,
    reported_if_wrongly_selected=0.0,
    reported_if_rightly_selected=0.0,
)


def household(n: int, welfare: Welfare, outcome: Outcome, village: str = "Kemiren") -> Household:
    return Household(f"{village}-{n}", village, welfare, Determination(outcome, False, ()))


# Two of each: selected rightly and wrongly, excluded rightly and wrongly, and to review.
HOUSEHOLDS = [
    household(1, "poor", "eligible"),
    household(2, "vulnerable", "eligible"),
    household(3, "non_poor", "eligible"),
    household(4, "non_poor", "eligible"),
    household(5, "non_poor", "ineligible"),
    household(6, "non_poor", "ineligible"),
    household(7, "poor", "ineligible"),
    household(8, "poor", "ineligible"),
    household(9, "poor", "needs_review"),
    household(10, "non_poor", "needs_review"),
]


def test_with_nobody_objecting_only_reviews_are_visited_and_resolved_to_the_truth() -> None:
    (report,) = ground_check(HOUSEHOLDS, NOBODY_ACTS).values()
    assert (report.households, report.visited, dict(report.visits)) == (10, 2, {"needs_review": 2})
    # Before: 4 selected of whom 2 not poor; 5 poor or vulnerable of whom 3 missed (2 excluded,
    # 1 waiting for review). After: the poor one under review is selected, the other is not.
    assert (report.system.inclusion_error, report.system.exclusion_error) == (2 / 4, 3 / 5)
    assert (report.after.inclusion_error, report.after.exclusion_error) == (2 / 5, 2 / 5)
    assert report.changed == 1


def test_every_wrong_decision_contested_and_a_perfect_officer_leaves_no_error() -> None:
    everyone_contests = FieldAssumptions(
        officer_error=0.0,
        consent_refused=0.0,
        objects_if_wrongly_excluded=1.0,
        objects_if_rightly_excluded=0.0,
        reported_if_wrongly_selected=1.0,
        reported_if_rightly_selected=0.0,
    )
    (report,) = ground_check(HOUSEHOLDS, everyone_contests).values()
    assert dict(report.visits) == {"needs_review": 2, "objection": 2, "report": 2}
    assert (report.after.inclusion_error, report.after.exclusion_error) == (0.0, 0.0)
    assert report.changed == 5


def test_an_officer_always_wrong_turns_every_visited_verdict() -> None:
    everyone_refuses = FieldAssumptions(
        officer_error=1.0,
        consent_refused=1.0,
        objects_if_wrongly_excluded=0.0,
        objects_if_rightly_excluded=0.0,
        reported_if_wrongly_selected=0.0,
        reported_if_rightly_selected=0.0,
    )
    (report,) = ground_check(HOUSEHOLDS, everyone_refuses).values()
    assert dict(report.visits) == {"consent_refused": 10}
    # Every poor or vulnerable household is turned away, every other one selected.
    assert (report.after.selected, report.after.selected_non_poor) == (5, 5)
    assert report.after.exclusion_error == 1.0


def test_the_draws_are_the_households_own_whatever_their_order() -> None:
    rng = random.Random(7)
    many = [
        household(n, rng.choice(["poor", "vulnerable", "non_poor"]), outcome, village)
        for n in range(400)
        for village, outcome in [
            (rng.choice(["Kemiren", "Lateng"]), rng.choice(["eligible", "ineligible"]))
        ]
    ]
    assumptions = FieldAssumptions()
    first = ground_check(many, assumptions)
    shuffled = many[:]
    rng.shuffle(shuffled)
    again = ground_check(shuffled, assumptions)
    assert {v: (r.visits, r.after) for v, r in first.items()} == {
        v: (r.visits, r.after) for v, r in again.items()
    }
    other_seed = ground_check(many, assumptions, seed=1)
    assert {v: r.visits for v, r in first.items()} != {v: r.visits for v, r in other_seed.items()}
    # Roughly the stated rate of refusals: 5 % of 400.
    refused = sum(r.visits["consent_refused"] for r in first.values())
    assert 5 <= refused <= 40


def test_the_table_shows_each_village_the_total_and_the_assumptions() -> None:
    split = [*HOUSEHOLDS, household(11, "poor", "eligible", "Lateng")]
    text = render(ground_check(split, NOBODY_ACTS), NOBODY_ACTS)
    lines = text.splitlines()
    assert lines[2].startswith("Kemiren") and "50.0% → 40.0%" in lines[2]
    assert lines[3].startswith("Lateng") and lines[4].startswith("All villages")
    assert lines[-1].startswith("assumed: officer_error 0%, consent_refused 0%")


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_a_rate_that_is_not_a_probability_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="officer_error must be a probability"):
        FieldAssumptions(officer_error=rate)
