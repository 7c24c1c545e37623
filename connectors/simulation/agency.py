"""A simulated agency: its REST simulator, its connector adapter, what it offers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from connectors.population import Population
from connectors.sdk.agency import Agency
from connectors.simulation.faults import FaultSettings
from jembatan.catalogue import FieldSpec


@dataclass
class SimHandle:
    """A running simulator: where it listens and the credentials it issued its connector."""

    url: str
    credentials: Mapping[str, str]
    _runner: web.AppRunner = field(repr=False)

    async def close(self) -> None:
        await self._runner.cleanup()


# Builds the agency's aiohttp app over the population, with the credentials it accepts.
AppFactory = Callable[[Population, Mapping[str, str]], web.Application]
# Builds the connector adapter for the simulator at a URL, with those credentials.
AdapterFactory = Callable[[str, Mapping[str, str]], Agency]


class AdapterModule(Protocol):
    """An agency package's ``adapter`` module: who the agency is (its member subsystem and the
    services it offers through the hub), what it holds, and its connector adapter."""

    @property
    def AGENCY_ID(self) -> str: ...

    @property
    def SERVICE_IDS(self) -> tuple[str, ...]: ...

    @property
    def CATALOGUE(self) -> tuple[FieldSpec, ...]: ...

    def make_adapter(self, base_url: str, credentials: Mapping[str, str]) -> Agency: ...


class SimModule(Protocol):
    """An agency package's ``sim`` module: its simulated API, and credentials for one run."""

    def make_app(
        self, population: Population, credentials: Mapping[str, str]
    ) -> web.Application: ...

    def new_credentials(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class SimulatedAgency:
    name: str  # short name on the command line, e.g. "bpjstk"
    title: str  # e.g. "BPJS Ketenagakerjaan"
    agency_id: str  # member subsystem, e.g. ID/GOV/BPJSTK/wages
    # service id -> the catalogue fields it offers
    services: Mapping[str, tuple[str, ...]]
    catalogue: tuple[FieldSpec, ...]
    make_app: AppFactory
    make_adapter: AdapterFactory
    # Fresh credentials for one run: the secret between the agency and its own connector.
    new_credentials: Callable[[], Mapping[str, str]]

    @classmethod
    def of(
        cls,
        name: str,
        title: str,
        adapter: AdapterModule,
        sim: SimModule,
        services: Mapping[str, tuple[str, ...]] | None = None,
    ) -> SimulatedAgency:
        """The agency an agency package's ``adapter`` and ``sim`` modules make up. Unless
        ``services`` says otherwise, each of its ``SERVICE_IDS`` offers the whole catalogue."""
        if services is None:
            every_field = tuple(spec.name for spec in adapter.CATALOGUE)
            services = dict.fromkeys(adapter.SERVICE_IDS, every_field)
        return cls(
            name=name,
            title=title,
            agency_id=adapter.AGENCY_ID,
            services=services,
            catalogue=adapter.CATALOGUE,
            make_app=sim.make_app,
            make_adapter=adapter.make_adapter,
            new_credentials=sim.new_credentials,
        )

    def service_catalogue(self, service_id: str) -> list[FieldSpec]:
        """The catalogue entries of the fields ``service_id`` offers."""
        fields = self.services[service_id]
        return [spec for spec in self.catalogue if spec.name in fields]


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def start_sim(
    agency: SimulatedAgency,
    population: Population,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultSettings | None = None,
) -> SimHandle:
    """Serve the agency's API over ``population`` on ``host:port`` (port 0: any free one)."""
    credentials = agency.new_credentials()
    app = agency.make_app(population, credentials)
    if faults is not None and faults.active:
        app.middlewares.insert(0, faults.middleware())
    # No access log: request paths carry NIKs.
    # A short shutdown: a simulated timeout holds its request open for a minute.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_port = runner.addresses[0][1]
    return SimHandle(_base_url(host, bound_port), credentials, runner)
