"""Each treatment on real values, boundaries included, plus properties over many values."""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import FieldRule, PolicyValueError, TreatmentError

TODAY = datetime.date(2025, 6, 30)
WAGE_EDGES = [0, 1000000, 2000000, 3000000, 5000000]


def apply(rule: FieldRule, value: Any) -> object:
    return rule.apply(value, today=TODAY)


def test_raw_releases_the_value_unchanged() -> None:
    rule = FieldRule.raw("employment_status")
    assert (rule.treatment, rule.detail) == ("raw", "")
    for value in ("active", 7, 2.5, True, TODAY):
        assert apply(rule, value) == value


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("PT Sinar Jaya", "P* S**** J***"),
        ("  CV  Maju\tBersama ", "  C*  M***\tB****** "),
        ("X", "X"),
        ("", ""),
        (1234567, "*******"),
        (-12.5, "*****"),
        (datetime.date(2024, 1, 31), "**********"),
    ],
)
def test_masked_keeps_only_each_words_first_character(value: object, shown: str) -> None:
    rule = FieldRule.masked("employer")
    assert rule.detail == "masked"
    assert apply(rule, value) == shown


def test_masked_refuses_a_flag_whose_length_would_reveal_it() -> None:
    with pytest.raises(PolicyValueError, match="flag"):
        apply(FieldRule.masked("insured"), True)


@pytest.mark.parametrize(
    ("wage", "label"),
    [
        (-1, "< 0"),
        (0, "[0, 1000000)"),
        (999999, "[0, 1000000)"),
        (1000000, "[1000000, 2000000)"),
        (2999999.99, "[2000000, 3000000)"),
        (3000000, "[3000000, 5000000)"),
        (4999999, "[3000000, 5000000)"),
        (5000000, ">= 5000000"),
        (10**12, ">= 5000000"),
    ],
)
def test_bucketed_labels_are_closed_below_open_above(wage: float, label: str) -> None:
    rule = FieldRule.bucketed("monthly_wage", WAGE_EDGES)
    assert rule.detail == "edges 0,1000000,2000000,3000000,5000000"
    assert apply(rule, wage) == label


def test_bucketed_with_one_edge_has_two_buckets() -> None:
    rule = FieldRule.bucketed("age", [18])
    assert [apply(rule, age) for age in (17, 18, 60)] == ["< 18", ">= 18", ">= 18"]


@pytest.mark.parametrize("value", ["3000000", True, TODAY, math.nan])
def test_bucketed_refuses_values_that_are_not_numbers(value: object) -> None:
    with pytest.raises(PolicyValueError):
        apply(FieldRule.bucketed("monthly_wage", WAGE_EDGES), value)


@pytest.mark.parametrize(
    ("edges", "item", "problem"),
    [
        ([], None, "at least one edge"),
        ([0, "1000"], 1, "not a finite number"),
        ([0, True], 1, "not a finite number"),
        ([datetime.date(2020, 1, 1)], 0, "not a finite number"),
        ([0, math.inf], 1, "not a finite number"),
        ([0, 10, 10], 2, "strictly increasing"),
        ([5, 1], 1, "strictly increasing"),
    ],
)
def test_bucketed_refuses_bad_edges(edges: list[object], item: int | None, problem: str) -> None:
    with pytest.raises(TreatmentError, match=problem) as raised:
        FieldRule.bucketed("x", edges)
    assert raised.value.item == item


@pytest.mark.parametrize(
    ("op", "operand", "detail", "cases"),
    [
        ("lt", 3000000, "< 3000000", [(2999999, True), (3000000, False), (3000000.0, False)]),
        ("le", 3000000, "<= 3000000", [(3000000, True), (3000001, False)]),
        ("gt", 0, "> 0", [(0, False), (0.01, True)]),
        ("ge", 0, ">= 0", [(0, True), (-1, False)]),
        ("eq", "active", "= active", [("active", True), ("Active", False)]),
        ("ne", "none", "!= none", [("none", False), ("active", True)]),
        ("eq", True, "= True", [(True, True), (False, False)]),
        ("in", ["active", "inactive"], "in [active, inactive]", [("inactive", True), ("x", False)]),
        ("not_in", [1, 2], "not in [1, 2]", [(2, False), (3, True), (2.0, False)]),
        (
            "lt",
            datetime.date(2000, 1, 1),
            "< 2000-01-01",
            [(datetime.date(1999, 12, 31), True), (datetime.date(2000, 1, 1), False)],
        ),
    ],
)
def test_predicate_releases_only_a_flag(
    op: str, operand: object, detail: str, cases: list[tuple[object, bool]]
) -> None:
    rule = FieldRule.predicate("f", op, operand)
    assert (rule.treatment, rule.detail) == ("predicate", detail)
    for value, expected in cases:
        assert apply(rule, value) is expected, value


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(0, True), (1, True), (90, True), (91, False), (-1, False), (3650, False)],
)
def test_within_days_counts_today_and_exactly_n_days_but_not_the_future(
    days_ago: int, expected: bool
) -> None:
    rule = FieldRule.predicate("termination_date", "within_days", 90)
    assert rule.detail == "within 90 days"
    assert apply(rule, TODAY - datetime.timedelta(days=days_ago)) is expected


def test_within_zero_days_is_today_only() -> None:
    rule = FieldRule.predicate("d", "within_days", 0)
    assert apply(rule, TODAY) is True
    assert apply(rule, TODAY - datetime.timedelta(days=1)) is False


@pytest.mark.parametrize(
    ("op", "operand", "value"),
    [
        ("lt", 3000000, "2000000"),
        ("lt", 3000000, True),
        ("lt", 3000000, math.nan),
        ("lt", datetime.date(2000, 1, 1), 5),
        ("eq", 1, True),
        ("eq", "1", 17),
        ("in", ["a", "b"], 1),
        ("within_days", 90, "2025-06-01"),
        ("within_days", 90, datetime.datetime(2025, 6, 1, 12, 0)),
    ],
)
def test_predicate_refuses_a_value_of_another_kind(op: str, operand: object, value: object) -> None:
    rule = FieldRule.predicate("f", op, operand)
    with pytest.raises(PolicyValueError) as raised:
        apply(rule, value)
    # The refusal may be logged: it names kinds, never the value.
    assert str(value) not in str(raised.value)


@pytest.mark.parametrize(
    ("op", "operand", "problem"),
    [
        ("below", 1, "unknown operator 'below'"),
        ("lt", "3e6", "must be a number or a date, got text '3e6'"),
        ("lt", True, "must be a number or a date, got flag"),
        ("lt", [1], "got a list"),
        ("eq", None, "got nothing"),
        ("eq", math.nan, "got number 'nan'"),
        ("in", [], "at least one value"),
        ("in", "abc", "must be a list"),
        ("in", [1, "a"], "all be of one kind"),
        ("within_days", -1, "whole number >= 0"),
        ("within_days", 1.5, "whole number >= 0"),
        ("within_days", True, "whole number >= 0"),
    ],
)
def test_predicate_refuses_bad_operands(op: str, operand: object, problem: str) -> None:
    with pytest.raises(TreatmentError, match=re.escape(problem)):
        FieldRule.predicate("f", op, operand)


@given(
    edges=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=8, unique=True).map(sorted),
    value=st.one_of(
        st.integers(-(10**10), 10**10), st.floats(allow_nan=False, allow_infinity=True)
    ),
)
def test_bucketed_label_names_the_interval_holding_the_value(
    edges: list[int], value: float
) -> None:
    label = FieldRule.bucketed("n", edges).apply(value, today=TODAY)
    assert isinstance(label, str)
    if label.startswith("< "):
        assert value < int(label[2:]) == edges[0]
    elif label.startswith(">= "):
        assert value >= int(label[3:]) == edges[-1]
    else:
        low, high = (int(part) for part in label.strip("[)").split(", "))
        assert low <= value < high
        assert edges.index(high) == edges.index(low) + 1


@given(st.text())
def test_masked_text_keeps_length_and_hides_all_but_word_initials(text: str) -> None:
    shown = FieldRule.masked("t").apply(text, today=TODAY)
    assert isinstance(shown, str)
    assert len(shown) == len(text)
    for index, (original, masked_char) in enumerate(zip(text, shown, strict=True)):
        word_start = not original.isspace() and (index == 0 or text[index - 1].isspace())
        if original.isspace() or word_start:
            assert masked_char == original
        else:
            assert masked_char == "*"
