"""The eligibility service as a hub user: what it asks each agency, and the bulk run.

It asks only for the fields the formula reads or reports, under the purpose the citizen
consented to; the hub decides how much of each it may see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Protocol

from examples.eligibility.evidence import (
    ATR_BPN,
    BPJS_KESEHATAN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    POLRI,
    Evidence,
)
from examples.eligibility.formula import Criteria, Determination, decide
from jembatan.client import Applicant, FanOutAnswer
from jembatan.v1 import exchange_pb2

PURPOSE = "bansos-eligibility"
# The sentence the citizen reads on the consent screen, saying why the data is asked for
# (the consent request carries it, and the portal shows it as the hub recorded it).
PURPOSE_TEXT = (
    "Memeriksa apakah keluarga Anda berhak menerima bantuan sosial (bansos) dari Kemensos"
)

# Per service, the fields asked for one applicant (the household head).
SERVICES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        DTKS: ("in_dtks", "decile", "last_verified", "household_size", "programmes"),
        DUKCAPIL: ("alive", "birth_date", "village", "family_card_members", "moved_out"),
        BPJSTK: ("employment_status", "employer", "monthly_wage", "termination_date"),
        BPJS_KESEHATAN: ("membership_status", "jkn_class", "pbi", "segment"),
        ATR_BPN: ("parcel_count", "total_area_m2", "njop_total"),
        POLRI: ("car_count", "motorcycle_count", "newest_vehicle_year"),
        HIMBARA: ("account_count", "total_balance", "average_balance_3m"),
    }
)


class QueryClient(Protocol):
    """The part of ``hub.client.HubClient`` the service uses (a seam for offline tests)."""

    def body(
        self,
        *,
        service_id: str,
        subject: str,
        purpose: str,
        fields: tuple[str, ...],
        consent: str,
    ) -> exchange_pb2.QueryBody: ...

    def bulk(self, applicants: Iterable[Applicant]) -> AsyncIterator[FanOutAnswer]: ...


class EligibilityService:
    """Decides applicants by asking the hub; ``consent_for(nik)`` gives each one's artefact."""

    def __init__(
        self, client: QueryClient, criteria: Criteria, consent_for: Callable[[str], str]
    ) -> None:
        self._client = client
        self._criteria = criteria
        self._consent_for = consent_for

    def applicant(self, nik: str, applicant_id: str) -> Applicant:
        """One leg per service, all under the applicant's one consent artefact."""
        consent = self._consent_for(nik)
        legs = tuple(
            self._client.body(
                service_id=service_id,
                subject=nik,
                purpose=PURPOSE,
                fields=fields,
                consent=consent,
            )
            for service_id, fields in SERVICES.items()
        )
        return Applicant(applicant_id, legs)

    async def run(
        self,
        applicants: Iterable[tuple[str, str]],
        progress: Callable[[int], None] | None = None,
    ) -> AsyncIterator[tuple[str, Determination, Evidence]]:
        """Decide ``(applicant_id, nik)`` pairs over one bulk stream, as answers arrive.

        Applicants are built lazily as the stream pulls them, so memory stays flat for a whole
        regency. ``progress`` is called with the number decided so far after each one.
        """
        done = 0
        async for answer in self._client.bulk(self._applicants(applicants)):
            evidence = Evidence.from_answer(answer)
            yield answer.applicant_id, decide(evidence, self._criteria), evidence
            done += 1
            if progress is not None:
                progress(done)

    def _applicants(self, pairs: Iterable[tuple[str, str]]) -> Iterator[Applicant]:
        for applicant_id, nik in pairs:
            yield self.applicant(nik, applicant_id)
