"""Run simulated agencies beside a hub home: each its REST simulator and its connector.

Used by ``jembatan sim``, the demo, the tests and the benchmarks, so they all run the
agencies the same way an operator would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.population import Population
from connectors.sdk import ConnectorIdentity, ConnectorServer, ConnectorSettings
from connectors.sdk.server import UnsafeMisbehaviour
from connectors.simulation.agency import SimHandle, SimulatedAgency, start_sim
from connectors.simulation.faults import FaultSettings
from connectors.simulation.pilot import simulated_agency
from hub.home import HUB_MEMBER_ID, HubHome
from hub.provisioning import register_service
from jembatan.errors import JembatanError


class AgencyNotEnrolled(JembatanError):
    pass


@dataclass
class RunningAgency:
    agency: SimulatedAgency
    sim: SimHandle
    connector: ConnectorServer
    endpoint: str  # host:port the hub dials

    async def stop(self) -> None:
        await self.connector.stop()  # also closes the adapter
        await self.sim.close()


def identity_of(home: HubHome, agency: SimulatedAgency) -> ConnectorIdentity:
    directory = home.member_dir(agency.agency_id)
    try:
        return ConnectorIdentity(
            cert_pem=(directory / "cert.pem").read_bytes(),
            key_pem=(directory / "key.pem").read_bytes(),
            ca_pem=home.ca_cert.read_bytes(),
        )
    except OSError as exc:
        raise AgencyNotEnrolled(
            f"{agency.title} has no certificate in {directory} "
            f"(run `jembatan pki enrol --member {agency.agency_id}`)"
        ) from exc


async def start_agency(
    home: HubHome,
    agency: SimulatedAgency,
    population: Population,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    sim_port: int = 0,
    faults: FaultSettings | None = None,
    misbehaviour: UnsafeMisbehaviour | None = None,
) -> RunningAgency:
    identity = identity_of(home, agency)
    sim = await start_sim(agency, population, host=host, port=sim_port, faults=faults)
    connector = ConnectorServer(
        agency.make_adapter(sim.url, sim.credentials),
        ConnectorSettings(
            identity=identity,
            service_ids=tuple(agency.services),
            hub_id=HUB_MEMBER_ID,
            listen=f"{host}:{port}",
            unsafe_misbehaviour=misbehaviour,
        ),
    )
    await connector.start()
    return RunningAgency(agency, sim, connector, f"{host}:{connector.port}")


def register(home: HubHome, running: RunningAgency, *, advertise_host: str | None = None) -> None:
    """Route each of the agency's services to its connector, with that service's catalogue."""
    agency = running.agency
    host = advertise_host or running.endpoint.rsplit(":", 1)[0]
    endpoint = f"{host}:{running.connector.port}"
    cert_pem = identity_of(home, agency).cert_pem
    for service_id in agency.services:
        register_service(home, service_id, cert_pem, endpoint, agency.service_catalogue(service_id))


async def start_agencies(
    home: HubHome,
    names: Sequence[str],
    population: Population,
    *,
    host: str = "127.0.0.1",
    base_port: int = 0,
    base_sim_port: int = 0,
    faults: Mapping[str, FaultSettings] | None = None,
    misbehaviour: Mapping[str, UnsafeMisbehaviour] | None = None,
) -> list[RunningAgency]:
    """Start ``names`` in order; with a base port, agency i listens on base + i."""
    running: list[RunningAgency] = []
    try:
        for i, name in enumerate(names):
            running.append(
                await start_agency(
                    home,
                    simulated_agency(name),
                    population,
                    host=host,
                    port=base_port + i if base_port else 0,
                    sim_port=base_sim_port + i if base_sim_port else 0,
                    faults=(faults or {}).get(name),
                    misbehaviour=(misbehaviour or {}).get(name),
                )
            )
    except BaseException:
        for agency in running:
            await agency.stop()
        raise
    return running
