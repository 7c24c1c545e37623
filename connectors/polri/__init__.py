"""Korlantas Polri (vehicle registrations): the simulated agency and its connector adapter."""

from connectors.polri import adapter, sim
from connectors.polri.adapter import AGENCY_ID, CATALOGUE, VEHICLES_SERVICE, PolriAgency
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of("polri", "Korlantas Polri (vehicle registrations)", adapter, sim)

__all__ = ["AGENCY_ID", "CATALOGUE", "SIMULATED", "VEHICLES_SERVICE", "PolriAgency"]
