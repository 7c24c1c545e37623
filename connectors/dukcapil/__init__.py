"""Dukcapil, the civil registry and identity anchor: a simulated agency and its connector."""

from connectors.dukcapil import adapter, sim
from connectors.dukcapil.adapter import (
    AGENCY_ID,
    CATALOGUE,
    IDENTITY_SERVICE,
    SERVICE_IDS,
    DukcapilAgency,
    make_adapter,
)
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of("dukcapil", "Dukcapil (civil registry)", adapter, sim)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "IDENTITY_SERVICE",
    "SERVICE_IDS",
    "SIMULATED",
    "DukcapilAgency",
    "make_adapter",
]
