"""The Himbara state banks (balances): the simulated SNAP API and its connector adapter."""

from connectors.himbara import adapter, sim
from connectors.himbara.adapter import AGENCY_ID, BALANCES_SERVICE, CATALOGUE, HimbaraAgency
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of(
    "himbara", "Himbara state banks (BRI, BNI, Mandiri, BTN)", adapter, sim
)

__all__ = ["AGENCY_ID", "BALANCES_SERVICE", "CATALOGUE", "SIMULATED", "HimbaraAgency"]
