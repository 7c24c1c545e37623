"""Fixtures for the simulated agencies, shared by every agency's tests.

A test module names its agency as ``SIMULATED`` (the module-level SimulatedAgency it
imports); test_every_agency.py overrides ``simulated`` to run over all PILOT_AGENCIES.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from connectors.population import Population, generate
from connectors.sdk.agency import Agency
from connectors.simulation.agency import SimHandle, SimulatedAgency, start_sim
from connectors.simulation.faults import FaultSettings
from tests.connectors.support import RunningSim, adapter_of


@pytest.fixture(scope="session")
def population() -> Population:
    """The synthetic population every simulator serves, small enough to query all of it."""
    return generate(scale=0.05)


@pytest.fixture
def simulated(request: pytest.FixtureRequest) -> SimulatedAgency:
    """The agency under test: the test module's ``SIMULATED``."""
    agency = getattr(request.module, "SIMULATED", None)
    assert isinstance(agency, SimulatedAgency), f"{request.module.__name__} names no SIMULATED"
    return agency


@pytest.fixture
def running_sim(population: Population) -> RunningSim:
    """``running_sim(agency, faults=None)``: a fresh simulator of ``agency``, closed after."""

    @asynccontextmanager
    async def run(
        agency: SimulatedAgency, faults: FaultSettings | None = None
    ) -> AsyncIterator[SimHandle]:
        handle = await start_sim(agency, population, port=0, faults=faults)
        try:
            yield handle
        finally:
            await handle.close()

    return run


@pytest.fixture
async def sim(simulated: SimulatedAgency, running_sim: RunningSim) -> AsyncIterator[SimHandle]:
    """The agency's simulator, running for one test."""
    async with running_sim(simulated) as handle:
        yield handle


@pytest.fixture
async def agency(simulated: SimulatedAgency, sim: SimHandle) -> AsyncIterator[Agency]:
    """The agency's adapter, with the credentials ``sim`` issued it."""
    async with adapter_of(simulated, sim) as adapter:
        yield adapter


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client, for talking to a simulator directly."""
    async with aiohttp.ClientSession() as session:
        yield session
