"""BPJS Ketenagakerjaan: employment and reported wages, a simulated agency and its connector."""

from connectors.bpjstk import sim
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

SIMULATED = SimulatedAgency(
    name="bpjstk",
    title="BPJS Ketenagakerjaan",
    agency_id=AGENCY_ID,
    services={
        EMPLOYMENT_SERVICE: ("employment_status", "employer", "monthly_wage", "termination_date"),
        WAGE_BAND_SERVICE: ("monthly_wage",),
    },
    catalogue=CATALOGUE,
    make_app=sim.make_app,
    make_adapter=make_adapter,
    new_credentials=sim.new_credentials,
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
