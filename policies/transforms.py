"""Field treatments that change a value's shape: raw, masked, bucketed.

Each treatment is compiled once, at load, into a ``Compiled`` pair: a transform function and the
human ``detail`` shown in audit views. Compile-time problems (bad bucket edges) raise
``TreatmentError``; a value that does not fit its treatment at query time raises
``PolicyValueError``, so the hub refuses the query instead of releasing something the policy
author did not foresee. Neither error message ever contains the field's value.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import math
import re
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple, cast

from jembatan.errors import JembatanError
from jembatan.values import FieldValue

Kind = Literal["text", "number", "flag", "date"]
Transform = Callable[[FieldValue, datetime.date], FieldValue]


class PolicyValueError(JembatanError, ValueError):
    """A field value whose type does not fit its treatment (e.g. ``lt`` applied to text)."""


class TreatmentError(JembatanError, ValueError):
    """A treatment's parameters are invalid; ``item`` indexes the offending list element."""

    def __init__(self, problem: str, *, item: int | None = None) -> None:
        super().__init__(problem)
        self.item = item


class Compiled(NamedTuple):
    transform: Transform
    detail: str


def value_kind(value: object) -> Kind:
    """Classify a value; datetimes and anything outside ``FieldValue`` are refused."""
    # bool before number: bool is a subclass of int, and True must never compare equal to 1.
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, int | float):
        return "number"
    # A datetime is a date subclass, but it cannot be compared with or subtracted from a date.
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return "date"
    if isinstance(value, str):
        return "text"
    raise PolicyValueError(f"unsupported value type {type(value).__name__}")


def require_kind(value: FieldValue, expected: Kind, treatment: str) -> None:
    kind = value_kind(value)
    if kind != expected:
        raise PolicyValueError(f"{treatment} needs a {expected} value, got a {kind}")
    if isinstance(value, float) and math.isnan(value):
        raise PolicyValueError(f"{treatment} cannot place NaN")


def as_number(value: FieldValue, treatment: str) -> int | float:
    require_kind(value, "number", treatment)
    return cast(int | float, value)


def as_date(value: FieldValue, treatment: str) -> datetime.date:
    require_kind(value, "date", treatment)
    return cast(datetime.date, value)


def format_operand(value: object) -> str:
    """Render a policy parameter for ``detail`` strings: dates as ISO, others as written."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def raw() -> Compiled:
    return Compiled(lambda value, _today: value, "")


_WORD = re.compile(r"\S+")


def mask(value: FieldValue) -> str:
    """Hide a value, keeping only its outline.

    Text: every maximal run of non-whitespace characters (a "word") keeps its first character and
    has every other character replaced by ``*``; whitespace is kept as is, so the result has the
    same length ("PT Sinar Jaya" -> "P* S**** J***"). Numbers and dates become ``*`` repeated
    to the length of their printed form (``str(n)``, or the ISO date), which still reveals the
    number's order of magnitude. Flags are refused: "****" versus "*****" would reveal the value.
    """
    kind = value_kind(value)
    if kind == "flag":
        raise PolicyValueError("masked cannot hide a flag (its length would reveal it)")
    if kind == "text":
        return _WORD.sub(lambda word: word[0][0] + "*" * (len(word[0]) - 1), str(value))
    return "*" * len(format_operand(value))


def masked() -> Compiled:
    return Compiled(lambda value, _today: mask(value), "masked")


def bucketed(edges: Sequence[object]) -> Compiled:
    """Release a number as the label of the interval it falls in, never the number itself.

    Edges must be finite, strictly increasing numbers. With edges e0 < ... < en the labels are
    ``"< e0"``, ``"[e0, e1)"``, ..., ``">= en"``: intervals are closed below, open above.
    """
    checked = _check_edges(edges)
    shown = [format_operand(edge) for edge in checked]
    labels = (
        f"< {shown[0]}",
        *(f"[{low}, {high})" for low, high in itertools.pairwise(shown)),
        f">= {shown[-1]}",
    )

    def transform(value: FieldValue, _today: datetime.date) -> FieldValue:
        # bisect_right: a value equal to an edge belongs to the bucket that starts at it.
        return labels[bisect.bisect_right(checked, as_number(value, "bucketed"))]

    return Compiled(transform, "edges " + ",".join(shown))


def _check_edges(edges: Sequence[object]) -> list[float | int]:
    if not edges:
        raise TreatmentError("needs at least one edge")
    checked: list[float | int] = []
    for index, edge in enumerate(edges):
        if not isinstance(edge, int | float) or isinstance(edge, bool) or not math.isfinite(edge):
            raise TreatmentError(
                f"edge {format_operand(edge)!r} is not a finite number", item=index
            )
        if checked and edge <= checked[-1]:
            raise TreatmentError(
                f"edges must be strictly increasing: {edge} after {checked[-1]}", item=index
            )
        checked.append(edge)
    return checked
