"""What a citizen is asked to agree to, as the hub has it: the consent request the
eligibility service made (grantee, purpose and its sentence, services and fields, how long)
and, per field, the form the hub's policy releases it in (its treatment and detail) and the
agency's own description from its catalogue. Nothing on the consent screen is typed here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from jembatan.v1 import common_pb2, consent_pb2, registry_pb2

__all__ = ["ConsentOffer", "OfferedField", "OfferedService", "make_offer"]


@dataclass(frozen=True, slots=True)
class OfferedField:
    name: str
    description: str  # the agency's catalogue
    treatment: str  # RAW, MASKED, BUCKETED or PREDICATE, as the policy releases it
    detail: str  # the policy's parameters: "< 3000000", bucket edges…


@dataclass(frozen=True, slots=True)
class OfferedService:
    service_id: str
    agency_id: str
    fields: tuple[OfferedField, ...]


@dataclass(frozen=True, slots=True)
class ConsentOffer:
    request_id: str
    grantee: str
    purpose: str
    purpose_text: str
    valid_for_s: int
    data_life_s: int
    respond_by: str
    policy_version: str
    services: tuple[OfferedService, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ConsentOffer:
        data = json.loads(text)
        services = tuple(
            OfferedService(
                s["service_id"], s["agency_id"], tuple(OfferedField(**f) for f in s["fields"])
            )
            for s in data.pop("services")
        )
        return cls(**data, services=services)

    @property
    def granted(self) -> dict[str, list[str]]:
        """Service id → field names, as the artefact grants them."""
        return {s.service_id: [f.name for f in s.fields] for s in self.services}


def make_offer(
    record: consent_pb2.ConsentRecord, allowed: registry_pb2.AllowedServicesResponse
) -> ConsentOffer:
    """The offer of consent request ``record``, each field in the form ``allowed`` (the
    grantee's AllowedServices for the purpose) says the hub releases it."""
    by_service = {s.service_id: s for s in allowed.services}
    services = []
    for entry in record.requested:
        service = by_service.get(entry.service_id)
        forms = {f.spec.name: f for f in service.fields} if service else {}
        fields = []
        for name in entry.fields:
            form = forms.get(name)
            fields.append(
                OfferedField(
                    name=name,
                    description=form.spec.description if form else "",
                    treatment=common_pb2.Treatment.Name(form.treatment) if form else "",
                    detail=form.detail if form else "",
                )
            )
        services.append(
            OfferedService(entry.service_id, service.agency_id if service else "", tuple(fields))
        )
    return ConsentOffer(
        request_id=record.consent_id,
        grantee=record.grantee,
        purpose=record.purpose,
        purpose_text=record.purpose_text,
        valid_for_s=record.valid_for_s,
        data_life_s=record.data_life_s,
        respond_by=record.respond_by,
        policy_version=allowed.policy_version,
        services=tuple(services),
    )
