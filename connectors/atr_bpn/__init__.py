"""ATR/BPN (land): a simulated parcel-search API and its connector adapter."""

from connectors.atr_bpn.adapter import (
    AGENCY_ID,
    CATALOGUE,
    PARCELS_SERVICE,
    AtrBpnAgency,
    make_adapter,
)
from connectors.atr_bpn.sim import Parcel, make_app, new_credentials, parcels_of
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency(
    name="atr_bpn",
    title="ATR/BPN",
    agency_id=AGENCY_ID,
    services={PARCELS_SERVICE: tuple(spec.name for spec in CATALOGUE)},
    catalogue=CATALOGUE,
    make_app=make_app,
    make_adapter=make_adapter,
    new_credentials=new_credentials,
)

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
