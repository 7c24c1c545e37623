"""The portal's two parts that talk to the hub, each as a member through its public API.

- ``ConsentManager``: the portal itself (``ID/GOV/KEMENSOS/perlinsos-portal``, enrolled with
  no role: the hub knows the consent manager by its member id). It signs what the citizen
  agreed to with the consent manager's key and grants it through ``ConsentRegistry.Grant``,
  or turns the request down (``Reject``).
- ``EligibilityDesk``: the reference eligibility service (``examples/eligibility``), run in
  the portal's process under its own member certificate (``ID/GOV/KEMENSOS/eligibility``):
  it asks for the citizen's consent (``RequestConsent``, with its ``AllowedServices`` for the
  purpose, which is where the consent screen's fields and forms come from), and once
  granted it queries every agency in one fan-out and decides with its formula.

Neither keeps the artefact (it holds the NIK): the desk gets it from the manager in memory,
for the one fan-out.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.resources
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent.artefact import grant, sign_consent, sign_revocation, sign_subject_token
from consent.receipt import verify_consent_receipt
from examples.eligibility.evidence import Evidence, ServiceEvidence
from examples.eligibility.formula import Criteria, decide
from examples.eligibility.service import PURPOSE, PURPOSE_TEXT, SERVICES, EligibilityService
from jembatan.client import HubClient
from jembatan.v1 import audit_pb2, consent_pb2, registry_pb2
from jembatan.values import FieldValue
from portal.offer import ConsentOffer, make_offer

__all__ = ["CONSENT_MANAGER_ID", "ConsentManager", "EligibilityDesk", "load_formula"]

CONSENT_MANAGER_ID = "ID/GOV/KEMENSOS/perlinsos-portal"
REFUSED = "citizen-declined"
VALID_FOR = datetime.timedelta(days=30)
DATA_LIFE = datetime.timedelta(days=90)
# A subject token is made for each call on the citizen's behalf and used at once: a minute
# is ample, and one copied from a log or a trace is soon worth nothing.
SUBJECT_TOKEN_FOR = datetime.timedelta(seconds=60)


class ConsentManager:
    def __init__(
        self, client: HubClient, key: Ed25519PrivateKey, log_key: Ed25519PublicKey | None = None
    ) -> None:
        self._client, self._key = client, key
        # The hub's log key, which signs consent receipts: the portal checks each one
        # before handing it to the citizen.
        self._log_key = log_key

    async def grant(self, nik: str, offer: ConsentOffer) -> tuple[str, str]:
        """Sign and grant exactly what ``offer`` asked for: (consent id, artefact)."""
        artefact = grant(
            issuer=CONSENT_MANAGER_ID,
            subject=nik,
            grantee=offer.grantee,
            purpose=offer.purpose,
            services=offer.granted,
            valid_for=datetime.timedelta(seconds=offer.valid_for_s),
            consent_id=offer.request_id,
        )
        token = sign_consent(artefact, self._key)
        record = await self._client.grant_consent(token, request_id=offer.request_id)
        return record.consent_id, token

    async def refuse(self, offer: ConsentOffer) -> None:
        await self._client.reject_consent(offer.request_id, REFUSED)

    # --- the citizen's own view, with a subject token for each call --------------------

    def _token(self, nik: str) -> str:
        return sign_subject_token(
            nik, self._key, issuer=CONSENT_MANAGER_ID, valid_for=SUBJECT_TOKEN_FOR
        )

    async def accesses(
        self, nik: str, *, limit: int, before_index: int | None = None
    ) -> audit_pb2.CitizenAccessList:
        """One page of who accessed the citizen's data, newest first (``Audit.CitizenAccesses``)."""
        return await self._client.citizen_accesses(
            self._token(nik), limit=limit, before_index=before_index
        )

    async def consents(self, nik: str) -> list[consent_pb2.ConsentRecord]:
        """Every consent of the citizen the hub holds (``ConsentRegistry.ListMine``)."""
        return await self._client.citizen_consents(self._token(nik))

    async def receipt(self, nik: str, consent_id: str) -> tuple[str, dict[str, Any]]:
        """The hub-signed receipt of one of the citizen's consents, checked with the hub's
        log key: (compact JWS, the document it signs). The hub refuses another's consent
        (``CONSENT_REQUEST_UNKNOWN``)."""
        token = await self._client.consent_receipt(self._token(nik), consent_id)
        if self._log_key is None:
            raise ValueError("the hub's log key is needed to check a receipt")
        return token, verify_consent_receipt(token, self._log_key)

    async def services(self) -> list[registry_pb2.ServiceDescriptor]:
        """The hub's discovery: every service, its agency and its fields' descriptions."""
        return await self._client.list_services()

    async def revoke(self, consent_id: str) -> consent_pb2.RevokeResponse:
        """Withdraw a consent: the consent manager's signed revocation
        (``ConsentRegistry.Revoke``). The hub checks only the signature: the caller makes
        sure the consent is the signed-in citizen's."""
        revocation = sign_revocation(consent_id, self._key, issuer=CONSENT_MANAGER_ID)
        return await self._client.revoke_consent(revocation)


@dataclass(frozen=True)
class Formula:
    criteria: Criteria
    version: str  # the first 12 hex digits of the criteria file's SHA-256


def load_formula(path: Path | None = None) -> Formula:
    """The eligibility criteria (shipped, or ``path``) and their version."""
    if path is None:
        shipped = importlib.resources.files("examples.eligibility").joinpath("criteria.yaml")
        text = shipped.read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Formula(Criteria.from_yaml(text), version)


class EligibilityDesk:
    def __init__(self, client: HubClient, formula: Formula, answer_within_s: int = 0) -> None:
        self._client, self.formula = client, formula
        # How long the citizen has to answer a consent request (0: the hub's limit, a day).
        self._answer_within_s = answer_within_s

    async def ask_consent(self, nik: str) -> ConsentOffer:
        """Request the citizen's consent for what the formula reads, as far as the policy
        releases it to this service; the offer the consent screen shows."""
        allowed = await self._client.allowed_services(PURPOSE)
        released = {s.service_id: {f.spec.name for f in s.fields} for s in allowed.services}
        services = {
            service: [f for f in fields if f in released.get(service, set())]
            for service, fields in SERVICES.items()
        }
        record = await self._client.request_consent(
            subject=nik,
            purpose=PURPOSE,
            purpose_text=PURPOSE_TEXT,
            services={s: f for s, f in services.items() if f},
            valid_for_s=int(VALID_FOR.total_seconds()),
            data_life_s=int(DATA_LIFE.total_seconds()),
            respond_within_s=self._answer_within_s,
        )
        return make_offer(record, allowed)

    async def decide(self, nik: str, artefact: str, offer: ConsentOffer) -> dict[str, Any]:
        """Ask every agency under ``artefact`` and decide: the decision as the portal keeps
        it (sealed), with the reasons, the evidence in the form released, the formula."""
        service = EligibilityService(self._client, self.formula.criteria, lambda _nik: artefact)
        # The applicant id is the hub's correlation id for the fan-out: never the NIK.
        applicant = service.applicant(nik, f"portal-{uuid.uuid4().hex[:16]}")
        legs = tuple(body for body in applicant.legs if body.service_id in offer.granted)
        answer = await self._client.fan_out(type(applicant)(applicant.applicant_id, legs))
        evidence = Evidence.from_answer(answer)
        determination = decide(evidence, self.formula.criteria)
        forms = {
            leg.service_id: leg.answer.fields
            for leg in answer.legs
            if leg.answer is not None and leg.answer.subject_found
        }
        return {
            "outcome": determination.outcome,
            "emergency": determination.emergency,
            "formula_version": self.formula.version,
            "thresholds": thresholds_of(self.formula.criteria),
            "reasons": [
                {"code": r.code, "kind": r.kind, "service": r.source_service}
                for r in determination.reasons
            ],
            "evidence": {
                service_id: _evidence(evidence.of(service_id), forms.get(service_id, {}))
                for service_id in offer.granted
            },
            "decided_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }


def thresholds_of(criteria: Criteria) -> dict[str, Any]:
    """The criteria's thresholds, as reasons (and the field officer's form) quote them."""
    return {
        "wage_rp": criteria.wage_rp,
        "balance_rp": criteria.balance_rp,
        "average_balance_rp": criteria.average_balance_rp,
        "land_value_rp": criteria.land_value_rp,
        "land_area_m2": criteria.land_area_m2,
        "motorcycles": criteria.motorcycles,
        "new_vehicle_year": criteria.new_vehicle_year,
        "job_loss_days": criteria.job_loss_days,
        "jkn_classes": sorted(criteria.jkn_classes),
    }


def _evidence(found: ServiceEvidence, forms: dict[str, Any]) -> dict[str, Any]:
    fields = [
        {
            "name": name,
            "value": _json_value(value),
            "treatment": forms[name].treatment if name in forms else "",
            "detail": forms[name].detail if name in forms else "",
        }
        for name, value in found.fields.items()
    ]
    return {"state": found.state, "fields": fields}


def _json_value(value: FieldValue) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value
