"""The Himbara state banks (balances): the simulated SNAP API and its connector adapter."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from connectors.himbara.adapter import (
    AGENCY_ID,
    BALANCES_SERVICE,
    CATALOGUE,
    HimbaraAgency,
)
from connectors.himbara.sim import make_app
from connectors.sdk.agency import Agency
from connectors.simulation.agency import SimulatedAgency


def _new_credentials() -> Mapping[str, str]:
    # The partner id is an identifier, not a secret, but a fresh one per run costs nothing.
    return {
        "partner_id": f"JEMBATAN{secrets.randbelow(10**8):08d}",
        "client_secret": secrets.token_urlsafe(48),
    }


def _make_adapter(base_url: str, credentials: Mapping[str, str]) -> Agency:
    return HimbaraAgency(base_url, credentials["partner_id"], credentials["client_secret"])


SIMULATED = SimulatedAgency(
    name="himbara",
    title="Himbara state banks (BRI, BNI, Mandiri, BTN)",
    agency_id=AGENCY_ID,
    services={BALANCES_SERVICE: tuple(spec.name for spec in CATALOGUE)},
    catalogue=CATALOGUE,
    make_app=make_app,
    make_adapter=_make_adapter,
    new_credentials=_new_credentials,
)

__all__ = ["AGENCY_ID", "BALANCES_SERVICE", "CATALOGUE", "SIMULATED", "HimbaraAgency"]
