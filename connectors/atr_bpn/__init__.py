"""ATR/BPN (land): a simulated parcel-search API and its connector adapter."""

from connectors.atr_bpn import adapter, sim
from connectors.atr_bpn.adapter import (
    AGENCY_ID,
    CATALOGUE,
    PARCELS_SERVICE,
    AtrBpnAgency,
    make_adapter,
)
from connectors.atr_bpn.sim import Parcel, parcels_of
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of("atr_bpn", "ATR/BPN", adapter, sim)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "PARCELS_SERVICE",
    "SIMULATED",
    "AtrBpnAgency",
    "Parcel",
    "make_adapter",
    "parcels_of",
]
