"""Korlantas Polri (vehicle registrations): the simulated agency and its connector adapter."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from connectors.polri.adapter import (
    AGENCY_ID,
    CATALOGUE,
    VEHICLES_SERVICE,
    PolriAgency,
)
from connectors.polri.sim import make_app
from connectors.sdk.agency import Agency
from connectors.simulation.agency import SimulatedAgency


def _new_credentials() -> Mapping[str, str]:
    return {"api_key": secrets.token_urlsafe(32)}


def _make_adapter(base_url: str, credentials: Mapping[str, str]) -> Agency:
    return PolriAgency(base_url, credentials["api_key"])


SIMULATED = SimulatedAgency(
    name="polri",
    title="Korlantas Polri (vehicle registrations)",
    agency_id=AGENCY_ID,
    services={VEHICLES_SERVICE: tuple(spec.name for spec in CATALOGUE)},
    catalogue=CATALOGUE,
    make_app=make_app,
    make_adapter=_make_adapter,
    new_credentials=_new_credentials,
)

__all__ = ["AGENCY_ID", "CATALOGUE", "SIMULATED", "VEHICLES_SERVICE", "PolriAgency"]
