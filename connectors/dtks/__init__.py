"""DTKS, Kemensos's social welfare register: a simulated agency and its connector."""

from connectors.dtks import adapter, sim
from connectors.dtks.adapter import (
    AGENCY_ID,
    CATALOGUE,
    REGISTRY_SERVICE,
    SERVICE_IDS,
    DtksAgency,
    make_adapter,
)
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of("dtks", "DTKS (Kemensos)", adapter, sim)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "REGISTRY_SERVICE",
    "SERVICE_IDS",
    "SIMULATED",
    "DtksAgency",
    "make_adapter",
]
