"""BPJS Ketenagakerjaan: employment and reported wages, a simulated agency and its connector."""

from connectors.bpjstk import adapter, sim
from connectors.bpjstk.adapter import (
    AGENCY_ID,
    CATALOGUE,
    EMPLOYMENT_SERVICE,
    SERVICE_IDS,
    WAGE_BAND_SERVICE,
    BpjsTkAgency,
    make_adapter,
)
from connectors.bpjstk.samples import SampleNiks, sample_niks
from connectors.simulation.agency import SimulatedAgency

SIMULATED = SimulatedAgency.of(
    "bpjstk",
    "BPJS Ketenagakerjaan",
    adapter,
    sim,
    services={
        EMPLOYMENT_SERVICE: ("employment_status", "employer", "monthly_wage", "termination_date"),
        WAGE_BAND_SERVICE: ("monthly_wage",),
    },
)

__all__ = [
    "AGENCY_ID",
    "CATALOGUE",
    "EMPLOYMENT_SERVICE",
    "SERVICE_IDS",
    "SIMULATED",
    "WAGE_BAND_SERVICE",
    "BpjsTkAgency",
    "SampleNiks",
    "make_adapter",
    "sample_niks",
]
