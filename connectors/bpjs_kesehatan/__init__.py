"""BPJS Kesehatan (JKN): a simulated VClaim-style membership API and its connector adapter."""

from connectors.bpjs_kesehatan import adapter, sim
from connectors.bpjs_kesehatan.adapter import (
    AGENCY_ID,
    CATALOGUE,
    MEMBERSHIP_SERVICE,
    BpjsKesehatanAgency,
    make_adapter,
    vclaim_signature,
)
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of("bpjs_kesehatan", "BPJS Kesehatan", adapter, sim)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "MEMBERSHIP_SERVICE",
    "SIMULATED",
    "BpjsKesehatanAgency",
    "make_adapter",
    "vclaim_signature",
]
