"""Resolve alone: the registry knows a service of that name, it is enabled, and its catalogue
has every field asked for."""

from __future__ import annotations

import pytest

from hub.pipeline.stages import Resolve
from jembatan.errors import Refusal
from tests.pipeline.fakes import (
    OTHER_SERVICE_ID,
    SERVICE_ID,
    FakeRegistry,
    employment_route,
    exchange,
    query_body,
    refusal,
)


async def test_a_registered_enabled_service_is_routed() -> None:
    resolve = Resolve(FakeRegistry().route(employment_route()).snapshot())
    x = exchange(body=query_body())
    await resolve(x)
    assert x.route == employment_route()


async def test_a_service_the_registry_does_not_know_is_unknown_service() -> None:
    resolve = Resolve(FakeRegistry().route(employment_route()).snapshot())
    x = exchange(body=query_body(service_id=OTHER_SERVICE_ID))
    assert await refusal(resolve, x) == "UNKNOWN_SERVICE"
    assert x.route is None


async def test_a_disabled_service_is_service_disabled() -> None:
    resolve = Resolve(FakeRegistry().route(employment_route(enabled=False)).snapshot())
    x = exchange(body=query_body())
    assert await refusal(resolve, x) == "SERVICE_DISABLED"
    assert x.route is None


async def test_a_misspelled_field_is_unknown_field_with_the_nearest_name() -> None:
    resolve = Resolve(FakeRegistry().route(employment_route()).snapshot())
    x = exchange(body=query_body(fields=["employment_status", "monthly_wages", "shoe_size"]))
    with pytest.raises(Refusal) as refused:
        await resolve(x)
    assert refused.value.reason == "UNKNOWN_FIELD"
    assert refused.value.detail == (
        f"{SERVICE_ID} has no field 'monthly_wages' (did you mean 'monthly_wage'?),"
        " field 'shoe_size'"
    )
