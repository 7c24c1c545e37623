"""DTKS, Kemensos's social welfare register: a simulated agency and its connector."""

from connectors.dtks import sim
from connectors.dtks.adapter import (
    AGENCY_ID,
    CATALOGUE,
    REGISTRY_SERVICE,
    SERVICE_IDS,
    DtksAgency,
    make_adapter,
)
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency(
    name="dtks",
    title="DTKS (Kemensos)",
    agency_id=AGENCY_ID,
    services={REGISTRY_SERVICE: tuple(spec.name for spec in CATALOGUE)},
    catalogue=CATALOGUE,
    make_app=sim.make_app,
    make_adapter=make_adapter,
    new_credentials=sim.new_credentials,
)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "REGISTRY_SERVICE",
    "SERVICE_IDS",
    "SIMULATED",
    "DtksAgency",
    "make_adapter",
]
