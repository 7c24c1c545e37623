"""Predicate treatments: release only a yes/no answer derived from the value, never the value.

A predicate has exactly one operator:

- ``lt``, ``le``, ``gt``, ``ge``: operand is a number or a date; the value must be of that kind.
- ``eq``, ``ne``: operand is text, a number, a flag or a date; the value must be of that kind.
- ``in``, ``not_in``: operand is a non-empty list whose items are all of one kind.
- ``within_days``: operand is a whole number N >= 0; the value must be a date. True when the
  date is not in the future and at most N days before today (today itself counts, as does
  exactly N days ago).

Comparing across kinds (a number with text, a flag with a number) is refused at query time
rather than answered: ``True == 1`` in Python, but a policy never meant that.
"""

from __future__ import annotations

import datetime
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from jembatan.values import FieldValue
from policies.transforms import (
    Compiled,
    Kind,
    PolicyValueError,
    TreatmentError,
    as_date,
    format_operand,
    require_kind,
    value_kind,
)

_ORDER: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "lt": (operator.lt, "<"),
    "le": (operator.le, "<="),
    "gt": (operator.gt, ">"),
    "ge": (operator.ge, ">="),
}
_EQUALITY: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "eq": (operator.eq, "="),
    "ne": (operator.ne, "!="),
}
_MEMBERSHIP: dict[str, tuple[bool, str]] = {"in": (True, "in"), "not_in": (False, "not in")}

PREDICATE_OPS: tuple[str, ...] = (*_ORDER, *_EQUALITY, *_MEMBERSHIP, "within_days")
_ANY_KIND: tuple[Kind, ...] = ("text", "number", "flag", "date")


def predicate(op: str, operand: object) -> Compiled:
    """Compile ``{op: operand}``; raises ``TreatmentError`` for an unknown op or bad operand."""
    if op in _ORDER:
        return _comparison(_ORDER[op], op, operand, ("number", "date"))
    if op in _EQUALITY:
        return _comparison(_EQUALITY[op], op, operand, _ANY_KIND)
    if op in _MEMBERSHIP:
        return _membership(op, operand)
    if op == "within_days":
        return _within_days(operand)
    raise TreatmentError(f"unknown operator {op!r} (expected {', '.join(PREDICATE_OPS)})")


def _comparison(
    compare_and_symbol: tuple[Callable[[Any, Any], bool], str],
    op: str,
    operand: object,
    allowed: tuple[Kind, ...],
) -> Compiled:
    compare, symbol = compare_and_symbol
    kind = _operand_kind(op, operand, allowed)
    detail = f"{symbol} {format_operand(operand)}"

    def transform(value: FieldValue, _today: datetime.date) -> FieldValue:
        require_kind(value, kind, f"predicate '{detail}'")
        return bool(compare(value, operand))

    return Compiled(transform, detail)


def _membership(op: str, operand: object) -> Compiled:
    positive, word = _MEMBERSHIP[op]
    if not isinstance(operand, Sequence) or isinstance(operand, str):
        raise TreatmentError(f"operand of {op!r} must be a list, got {_describe(operand)}")
    if not operand:
        raise TreatmentError(f"operand of {op!r} must list at least one value")
    kind = _operand_kind(op, operand[0], _ANY_KIND, item=0)
    for index, item in enumerate(operand):
        if _operand_kind(op, item, _ANY_KIND, item=index) != kind:
            raise TreatmentError(
                f"items of {op!r} must all be of one kind: {_describe(item)} among {kind}s",
                item=index,
            )
    members = frozenset(operand)
    detail = f"{word} [{', '.join(format_operand(item) for item in operand)}]"

    def transform(value: FieldValue, _today: datetime.date) -> FieldValue:
        require_kind(value, kind, f"predicate '{detail}'")
        return (value in members) == positive

    return Compiled(transform, detail)


def _within_days(operand: object) -> Compiled:
    if not isinstance(operand, int) or isinstance(operand, bool) or operand < 0:
        raise TreatmentError(
            f"operand of 'within_days' must be a whole number >= 0, got {_describe(operand)}"
        )
    days = operand
    detail = f"within {days} days"

    def transform(value: FieldValue, today: datetime.date) -> FieldValue:
        date = as_date(value, f"predicate '{detail}'")
        return date <= today and (today - date).days <= days

    return Compiled(transform, detail)


def _operand_kind(
    op: str, operand: object, allowed: tuple[Kind, ...], item: int | None = None
) -> Kind:
    try:
        kind = value_kind(operand)
    except PolicyValueError:
        kind = None
    if kind is None or kind not in allowed or (isinstance(operand, float) and math.isnan(operand)):
        expected = " or ".join(f"a {name}" for name in allowed)
        raise TreatmentError(
            f"operand of {op!r} must be {expected}, got {_describe(operand)}", item=item
        )
    return kind


def _describe(operand: object) -> str:
    """Name a bad operand for an error message (policy parameters are not secret)."""
    if isinstance(operand, datetime.datetime):
        return f"a timestamp {operand.isoformat()!r}"
    if isinstance(operand, list | tuple):
        return "a list"
    if isinstance(operand, dict):
        return "a mapping"
    if operand is None:
        return "nothing"
    try:
        return f"{value_kind(operand)} {format_operand(operand)!r}"
    except PolicyValueError:
        return type(operand).__name__
