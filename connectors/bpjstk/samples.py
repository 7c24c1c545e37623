"""People the demo, the tests and the benchmarks can ask BPJS Ketenagakerjaan about.

One NIK per case the eligibility rules care about, picked from a population by what the
agency holds (not by ground truth), so each case shows in what the connector returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.population import (
    RECENT_JOB_LOSS_DAYS,
    REFERENCE_DATE,
    BpjstkRecord,
    Population,
    unknown_nik,
)


@dataclass(frozen=True, slots=True)
class SampleNiks:
    employed: str  # a head with an active membership
    recently_terminated: str  # a head whose employment ended within RECENT_JOB_LOSS_DAYS
    unregistered: str  # a head the agency has no record of
    unknown: str  # well-formed, belongs to nobody in the population


def sample_niks(population: Population) -> SampleNiks:
    """The first head of each case, in household order; raises LookupError if one is missing."""
    return SampleNiks(
        employed=_first_head(population, lambda r: r is not None and r.termination_date is None),
        recently_terminated=_first_head(population, _recently_terminated),
        unregistered=_first_head(population, lambda r: r is None),
        unknown=unknown_nik(population),
    )


def _recently_terminated(record: BpjstkRecord | None) -> bool:
    if record is None or record.termination_date is None:
        return False
    return 0 <= (REFERENCE_DATE - record.termination_date).days <= RECENT_JOB_LOSS_DAYS


def _first_head(population: Population, wanted: Callable[[BpjstkRecord | None], bool]) -> str:
    for household in population.households:
        if wanted(household.views.bpjstk):
            return household.head.nik
    raise LookupError("no household of this BPJS Ketenagakerjaan case in the population")
