"""Dukcapil, the civil registry and identity anchor: a simulated agency and its connector."""

from connectors.dukcapil import sim
from connectors.dukcapil.adapter import (
    AGENCY_ID,
    CATALOGUE,
    IDENTITY_SERVICE,
    SERVICE_IDS,
    DukcapilAgency,
    make_adapter,
)
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency(
    name="dukcapil",
    title="Dukcapil (civil registry)",
    agency_id=AGENCY_ID,
    services={IDENTITY_SERVICE: tuple(spec.name for spec in CATALOGUE)},
    catalogue=CATALOGUE,
    make_app=sim.make_app,
    make_adapter=make_adapter,
    new_credentials=sim.new_credentials,
)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "IDENTITY_SERVICE",
    "SERVICE_IDS",
    "SIMULATED",
    "DukcapilAgency",
    "make_adapter",
]
