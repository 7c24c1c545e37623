"""Transform alone: each released field is transformed exactly as its rule says, with
"today" the pilot's today (WIB), and a value the rule was not written for is refused."""

from __future__ import annotations

import datetime

import pytest

from hub.pipeline.exchange import Exchange
from hub.pipeline.stages import Transform
from jembatan.v1 import common_pb2, connector_pb2, exchange_pb2
from jembatan.values import FieldValue, to_wire
from tests.pipeline.fakes import (
    CLIENT_ID,
    FIELDS,
    NOW_DT,
    PURPOSE,
    SERVICE_ID,
    exchange,
    policy_set,
    refusal,
)

POLICIES = policy_set()
# NOW is 18:00 UTC on 31 October: already 1 November in Jakarta.
TODAY_WIB = datetime.date(2026, 11, 1)
ANSWER: dict[str, FieldValue] = {
    "employment_status": "active",
    "employer": "PT Sinar Jaya",
    "monthly_wage": 2500000,
    "termination_date": TODAY_WIB,
}


def _fetched(values: dict[str, FieldValue | common_pb2.Value]) -> connector_pb2.FetchResult:
    result = connector_pb2.FetchResult(subject_found=True)
    for name, value in values.items():
        result.fields[name].CopyFrom(
            value if isinstance(value, common_pb2.Value) else to_wire(value)
        )
    return result


def _query(
    values: dict[str, FieldValue | common_pb2.Value], requested: tuple[str, ...] = FIELDS
) -> Exchange:
    return exchange(
        decision=POLICIES.decide(CLIENT_ID, PURPOSE, SERVICE_ID, list(requested)),
        fetched=_fetched(dict(values)),
    )


async def test_each_field_is_released_as_its_rule_says_in_request_order() -> None:
    assert NOW_DT.date() < TODAY_WIB  # the clock the fakes fix is chosen for this
    x = _query(dict(ANSWER), requested=tuple(reversed(FIELDS)))
    await Transform()(x)
    assert x.released == [
        exchange_pb2.ReleasedField(
            name="termination_date",
            treatment=common_pb2.PREDICATE,
            detail="within 90 days",
            # Today in WIB: the date is today, so within the window (in UTC it would lie
            # in the future, and be False).
            value=to_wire(True),
        ),
        exchange_pb2.ReleasedField(
            name="monthly_wage",
            treatment=common_pb2.BUCKETED,
            detail="edges 1000000,3000000",
            value=to_wire("[1000000, 3000000)"),
        ),
        exchange_pb2.ReleasedField(
            name="employer",
            treatment=common_pb2.MASKED,
            detail="masked",
            value=to_wire("P* S**** J***"),
        ),
        exchange_pb2.ReleasedField(
            name="employment_status", treatment=common_pb2.RAW, detail="", value=to_wire("active")
        ),
    ]
    assert x.released_names() == (
        ("termination_date", "predicate"),
        ("monthly_wage", "bucketed"),
        ("employer", "masked"),
        ("employment_status", "raw"),
    )


async def test_a_field_the_agency_does_not_hold_is_absent() -> None:
    x = _query({"employment_status": "inactive"})
    await Transform()(x)
    assert [f.name for f in x.released] == ["employment_status"]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"monthly_wage": "2500000"}, id="text-for-a-bucketed-number"),
        pytest.param({"employer": True}, id="flag-to-mask"),
        pytest.param({"termination_date": 20261101}, id="number-for-a-date-predicate"),
        pytest.param({"termination_date": common_pb2.Value(date="2026-13-45")}, id="bad-date"),
        pytest.param({"employment_status": common_pb2.Value()}, id="empty-value"),
    ],
)
async def test_a_value_that_does_not_fit_its_rule_is_agency_response_invalid(
    values: dict[str, FieldValue | common_pb2.Value],
) -> None:
    x = _query(values)
    assert await refusal(Transform(), x) == "AGENCY_RESPONSE_INVALID"
    assert x.released == []
