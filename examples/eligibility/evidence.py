"""What the agencies said about one applicant, as the eligibility formula reads it.

Per service, one of three things: the fields the hub released, "no record" (the agency does not
know this person: no land, no vehicle, no bank account, never formally employed), or
"unavailable" (the leg was refused, the agency was down or too slow). The formula treats the last
two very differently, so they are never folded into one "missing".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from jembatan.client import FanOutAnswer, LegAnswer
from jembatan.values import FieldValue

DTKS = "ID/GOV/KEMENSOS/dtks/registry"
DUKCAPIL = "ID/GOV/DUKCAPIL/civil-registry/identity"
BPJSTK = "ID/GOV/BPJSTK/wages/employment"
BPJS_KESEHATAN = "ID/GOV/BPJSKES/jkn/membership"
ATR_BPN = "ID/GOV/ATRBPN/land/parcels"
POLRI = "ID/GOV/POLRI/korlantas/vehicles"
HIMBARA = "ID/COM/HIMBARA/banks/balances"

# The names case workers and citizens know the agencies by; every reason sentence uses them.
AGENCY_NAMES: Mapping[str, str] = MappingProxyType(
    {
        DTKS: "DTKS",
        DUKCAPIL: "Dukcapil",
        BPJSTK: "BPJS Ketenagakerjaan",
        BPJS_KESEHATAN: "BPJS Kesehatan",
        ATR_BPN: "ATR/BPN",
        POLRI: "Polri",
        HIMBARA: "Himbara",
    }
)


def agency_name(service_id: str) -> str:
    return AGENCY_NAMES.get(service_id, service_id)


State = Literal["found", "no_record", "unavailable"]


@dataclass(frozen=True, slots=True)
class ServiceEvidence:
    """One service's answer: ``fields`` when found, ``why`` when unavailable.

    ``details`` keeps the hub's description of each released field's treatment (e.g. ``< 3000000``
    for a predicate), so the formula can check it is reading the question it thinks it asked.
    """

    state: State
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)
    why: str = ""


NO_RECORD = ServiceEvidence("no_record")


def found(**fields: FieldValue) -> ServiceEvidence:
    return ServiceEvidence("found", fields)


def unavailable(why: str = "no answer") -> ServiceEvidence:
    return ServiceEvidence("unavailable", why=why)


# A service the applicant's fan-out never asked is as unknown as one that did not answer.
_NOT_ASKED = unavailable("not asked")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Per service id, what that service said; build by hand or with ``from_answer``."""

    services: Mapping[str, ServiceEvidence]

    def of(self, service_id: str) -> ServiceEvidence:
        return self.services.get(service_id, _NOT_ASKED)

    @classmethod
    def from_answer(cls, answer: FanOutAnswer) -> Evidence:
        return cls({leg.service_id: _leg_evidence(leg) for leg in answer.legs})


def _leg_evidence(leg: LegAnswer) -> ServiceEvidence:
    if leg.answer is None:
        refusal = leg.refusal
        # The status and reason code, never the hub's free text: it is shown to case workers.
        why = f"{refusal.status.name} {refusal.reason}" if refusal is not None else "no answer"
        return unavailable(why)
    if not leg.answer.subject_found:
        return NO_RECORD
    released = leg.answer.fields
    return ServiceEvidence(
        "found",
        fields={name: item.value for name, item in released.items()},
        details={name: item.detail for name, item in released.items() if item.detail},
    )
