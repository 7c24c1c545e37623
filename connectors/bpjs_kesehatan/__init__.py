"""BPJS Kesehatan (JKN): a simulated VClaim-style membership API and its connector adapter."""

from connectors.bpjs_kesehatan.adapter import (
    AGENCY_ID,
    CATALOGUE,
    MEMBERSHIP_SERVICE,
    BpjsKesehatanAgency,
    make_adapter,
    vclaim_signature,
)
from connectors.bpjs_kesehatan.sim import make_app, new_credentials
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency(
    name="bpjs_kesehatan",
    title="BPJS Kesehatan",
    agency_id=AGENCY_ID,
    services={MEMBERSHIP_SERVICE: tuple(spec.name for spec in CATALOGUE)},
    catalogue=CATALOGUE,
    make_app=make_app,
    make_adapter=make_adapter,
    new_credentials=new_credentials,
)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "MEMBERSHIP_SERVICE",
    "SIMULATED",
    "BpjsKesehatanAgency",
    "make_adapter",
    "vclaim_signature",
]
