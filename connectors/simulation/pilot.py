"""The agencies of the Perlinsos pilot, as simulated here."""

from __future__ import annotations

import importlib

from connectors.simulation.agency import SimulatedAgency
from jembatan.catalogue import FieldSpec
from jembatan.errors import JembatanError

# Kemensos's own register, the identity anchor, then the five agencies the pilot checks.
PILOT_AGENCIES = ("dtks", "dukcapil", "bpjstk", "bpjs_kesehatan", "atr_bpn", "polri", "himbara")


class UnknownAgency(JembatanError, ValueError):
    pass


def simulated_agency(name: str) -> SimulatedAgency:
    """The simulated agency named ``name`` (one of PILOT_AGENCIES)."""
    if name not in PILOT_AGENCIES:
        raise UnknownAgency(f"unknown agency {name!r} (one of {', '.join(PILOT_AGENCIES)})")
    agency = importlib.import_module(f"connectors.{name}").SIMULATED
    assert isinstance(agency, SimulatedAgency)
    return agency


def pilot_catalogues() -> dict[str, list[FieldSpec]]:
    """Every pilot service's field catalogue, as its connector registers it with the hub."""
    return {
        service_id: agency.service_catalogue(service_id)
        for agency in map(simulated_agency, PILOT_AGENCIES)
        for service_id in agency.services
    }
