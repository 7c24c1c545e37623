"""BPJS Ketenagakerjaan: a simulated agency and its connector adapter.

The REST simulator lives in ``connectors.bpjstk.sim`` and is not imported here, so that
``python -m connectors.bpjstk.sim`` runs it without importing it twice.
"""

from connectors.bpjstk.adapter import CATALOGUE, AgencyUnavailable, BpjsTkAgency, InvalidSubject
from connectors.bpjstk.population import (
    REFERENCE_DATE,
    Employment,
    Participant,
    SampleNiks,
    generate_participants,
    sample_niks,
    unknown_nik,
)

__all__ = [
    "CATALOGUE",
    "REFERENCE_DATE",
    "AgencyUnavailable",
    "BpjsTkAgency",
    "Employment",
    "InvalidSubject",
    "Participant",
    "SampleNiks",
    "generate_participants",
    "sample_niks",
    "unknown_nik",
]
