"""Helpers shared by the agency tests (fixtures are in conftest.py)."""

from __future__ import annotations

import datetime
import traceback
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

import pytest
from aiohttp import web

from connectors.population import Population
from connectors.sdk.agency import Agency, AgencyUnavailable
from connectors.simulation.agency import SimHandle, SimulatedAgency
from jembatan.values import FieldValue
from policies import Decision, load_policies

# The Python type a fetched value has, by the catalogue's declared type.
PYTHON_TYPES = {"text": str, "integer": int, "flag": bool, "date": datetime.date}
# The factory conftest.py's running_sim fixture gives.
RunningSim = Callable[..., AbstractAsyncContextManager[SimHandle]]  # (agency, faults=None)
# The pilot's one client and purpose in the policy file.
CLIENT, PURPOSE = "ID/GOV/KEMENSOS/eligibility", "bansos-eligibility"
# The day the policy tests release on.
POLICY_DAY = datetime.date(2026, 11, 1)


AnyAgency = TypeVar("AnyAgency", bound=Agency)


@asynccontextmanager
async def closing(adapter: AnyAgency) -> AsyncIterator[AnyAgency]:
    """Use ``adapter`` and close it after, however the use ends."""
    try:
        yield adapter
    finally:
        await adapter.close()


def adapter_of(
    agency: SimulatedAgency, sim: SimHandle, **changes: str
) -> AbstractAsyncContextManager[Agency]:
    """``agency``'s adapter for ``sim`` with the credentials it issued (``changes`` changed),
    closed after."""
    return closing(agency.make_adapter(sim.url, {**sim.credentials, **changes}))


def assert_no_subject_in(error: BaseException, nik: str) -> None:
    """Neither the message nor anything in the traceback names the subject."""
    assert nik not in "".join(traceback.format_exception(error))


async def assert_unavailable(
    adapter: Agency, nik: str, fields: Sequence[str], match: str | None = None
) -> AgencyUnavailable:
    """Fetching ``nik`` raises ``AgencyUnavailable`` (matching ``match``) naming no subject."""
    with pytest.raises(AgencyUnavailable, match=match) as caught:
        await adapter.fetch(nik, fields)
    assert_no_subject_in(caught.value, nik)
    return caught.value


def assert_offers(
    agency: SimulatedAgency, agency_id: str, services: Mapping[str, tuple[str, ...]]
) -> None:
    """``agency`` is member ``agency_id`` offering exactly ``services``, and its catalogue is
    their fields, in order, and nothing else."""
    assert agency.agency_id == agency_id
    assert dict(agency.services) == services
    offered = dict.fromkeys(name for fields in services.values() for name in fields)
    assert tuple(spec.name for spec in agency.catalogue) == tuple(offered)


def pilot_decision(service_id: str, fields: Sequence[str]) -> Decision:
    """What the policy file lets the pilot's client see of ``fields`` from ``service_id``."""
    return load_policies().decide(CLIENT, PURPOSE, service_id, fields)


async def released_of(
    agency: Agency, nik: str, service_id: str, fields: Sequence[str]
) -> dict[str, FieldValue]:
    """What the pilot's client is released of ``agency``'s answer on ``nik``, on POLICY_DAY."""
    values = await agency.fetch(nik, fields)
    assert values is not None
    return pilot_decision(service_id, fields).apply(values, today=POLICY_DAY)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Any app (a stand-in agency, say) on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def answering(method: str, path: str, body: object, status: int = 200) -> AsyncIterator[str]:
    """A stand-in agency that checks no credentials and always answers ``body``."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route(method, path, answer)
    async with serve(app) as url:
        yield url


# --- sample people, by what an agency holds on them --------------------------------------------


def in_dtks(population: Population) -> str:
    """A head DTKS lists as a social-assistance target."""
    return next(nik for nik, record in population.dtks.items() if record.in_dtks)


def deceased(population: Population) -> str:
    return next(nik for nik, r in population.dukcapil.items() if not r.alive)


def living(population: Population) -> str:
    return next(nik for nik, r in population.dukcapil.items() if r.alive and not r.moved_out)


def jkn_members(population: Population) -> list[str]:
    """One member of each BPJS Kesehatan segment, and one whose membership lapsed."""
    records = population.bpjs_kesehatan
    by_segment = {record.segment: nik for nik, record in records.items()}
    lapsed = next(nik for nik, r in records.items() if r.membership_status == "inactive")
    assert len(by_segment) == 5  # every segment occurs even at this scale
    return [*by_segment.values(), lapsed]


def parcel_holders(population: Population) -> list[str]:
    """Holders of one, two and the most parcels."""
    records = population.atr_bpn
    one = next(nik for nik, r in records.items() if r.parcel_count == 1)
    two = next(nik for nik, r in records.items() if r.parcel_count == 2)
    most = max(records, key=lambda nik: records[nik].parcel_count)
    assert records[most].parcel_count >= 3
    return [one, two, most]


def with_car(population: Population) -> str:
    return next(nik for nik, r in population.polri.items() if r.car_count > 0)


def banked(population: Population) -> str:
    """A head with several bank accounts, so totals are really sums."""
    return next(nik for nik, r in population.bank.items() if r.account_count > 1)
