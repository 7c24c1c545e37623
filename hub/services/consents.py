"""The ConsentRegistry service: a consent's life from request to its end.

REQUESTED (a member asks; it is the grantee) -> ACTIVE (the consent manager registers the
artefact it signed) or REJECTED (the consent manager says no); ACTIVE -> REVOKED (a signed
revocation). EXPIRED is not stored: a request nobody acted on by its ``respond_by``, or an
artefact past its validity, is reported EXPIRED from the clock. Every other transition is
refused ``CONSENT_STATE_INVALID`` and changes nothing; each transition is one conditional
write in the store, so two racing calls cannot both win.

The consent manager may also grant directly (no request id): the hub then records the
artefact as it stands (ACTIVE, no data life). Either way the query pipeline honours only
artefacts granted here, and only the exact artefact granted under its id.

Every call, allowed or refused, is appended to the audit log through ``CallRecorder``
(purpose ``consent``), under the rule the Admin service keeps too: *nothing is done unless
it is recorded, and what is recorded is what was done*. A request is recorded, then
stored. A transition claims the consent first (a second call answering the same request
is refused ``CONSENT_STATE_INVALID`` before anything is recorded as done), checks its
preconditions, records the answer, and only then commits with the conditional write; if
the record cannot be made durable the caller is told ``AUDIT_UNAVAILABLE`` and nothing
changed (``hub.claims`` explains the order).

The citizen's own views (``ListMine``, ``Receipt``) are the consent manager's calls too:
the portal authenticates the citizen and vouches for them with a short-lived subject token.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from google.protobuf.message import Message

from consent.artefact import (
    ConsentArtefact,
    ConsentVerifier,
    artefact_digest,
    verify_revocation,
)
from consent.receipt import RECEIPT_SCHEMA, sign_consent_receipt
from hub.audit.pseudonym import Pseudonymizer
from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID
from hub.pipeline.stages import PeerMember
from hub.services.calls import CallRecorder, MemberCall
from hub.services.claims import Claims, Plan
from hub.store.base import (
    ACTIVE,
    REJECTED,
    REQUESTED,
    ConsentGrant,
    ConsentRecord,
    RegistryStore,
    ServiceFieldMap,
)
from jembatan.errors import Refusal
from jembatan.ids import is_code, is_field_name
from jembatan.limits import MAX_FIELDS, MAX_LEGS
from jembatan.subject import is_nik, is_printable, may_hold_nik
from jembatan.v1 import consent_pb2, consent_pb2_grpc

_Response = TypeVar("_Response", bound=Message)
CONSENT = "consent"  # purpose of the audit records these calls leave
_PURPOSE_TEXT_CHARS = 256
_DAY = 24 * 3600


@dataclass(frozen=True)
class ConsentLimits:
    """How long a request waits for an answer (at most, and by default), and the longest
    validity and data life a request may ask for."""

    respond_within_s: int = _DAY
    max_valid_for_s: int = 366 * _DAY
    max_data_life_s: int = 366 * _DAY


class ConsentRegistryService(consent_pb2_grpc.ConsentRegistryServicer):
    def __init__(
        self,
        calls: CallRecorder,
        registry: RegistryStore,
        verifier: ConsentVerifier,
        consent_key: Ed25519PublicKey,
        pseudonyms: Pseudonymizer,
        receipt_key: Ed25519PrivateKey,
        limits: ConsentLimits | None = None,
    ) -> None:
        self._calls = calls.bind("jembatan.v1.ConsentRegistry", CONSENT)
        self._claims = Claims(registry, self._calls)
        self._registry = registry
        self._verifier = verifier
        self._consent_key = consent_key
        self._pseudonyms = pseudonyms
        self._receipt_key = receipt_key
        self._limits = limits or ConsentLimits()

    # --- the grantee ------------------------------------------------------------------------

    async def RequestConsent(
        self, request: consent_pb2.ConsentRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ConsentRecord:
        subject = request.subject if is_nik(request.subject) else ""
        call = await self._calls.caller_for(context, "RequestConsent", request, subject=subject)
        now = self._calls.now()
        try:
            # Reads the registry's routes.
            record = await self._calls.store(self._new_request, call.member, request, now)
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)
        response = await self._calls.answer(context, call, _record_message(record, now))
        # Stored once recorded. A fresh random id cannot be taken: if it were, the call
        # would fail without storing anything.
        if not await self._calls.store(self._registry.add_consent, record):
            raise RuntimeError(f"consent id {record.consent_id} collided")
        return response

    def _new_request(
        self, member: PeerMember, request: consent_pb2.ConsentRequest, now: datetime.datetime
    ) -> ConsentRecord:
        if not is_nik(request.subject):
            raise Refusal("INVALID_SUBJECT", "subject is not a 16-digit NIK")
        if not is_code(request.purpose):
            raise Refusal("MALFORMED_REQUEST", "purpose is not a purpose code")
        _check_purpose_text(request.purpose_text)
        limits = self._limits
        if not 0 < request.valid_for_s <= limits.max_valid_for_s:
            raise Refusal("MALFORMED_REQUEST", f"valid_for_s must be 1..{limits.max_valid_for_s}")
        if not 0 < request.data_life_s <= limits.max_data_life_s:
            raise Refusal("MALFORMED_REQUEST", f"data_life_s must be 1..{limits.max_data_life_s}")
        respond_within = min(
            request.respond_within_s or limits.respond_within_s, limits.respond_within_s
        )
        return ConsentRecord(
            consent_id=str(uuid.uuid4()),
            subject=self._pseudonyms.subject(request.subject),
            grantee=member.member_id,
            purpose=request.purpose,
            purpose_text=request.purpose_text,
            requested=self._requested_services(request.services),
            valid_for_s=request.valid_for_s,
            data_life_s=request.data_life_s,
            requested_at=_iso(now),
            respond_by=_iso(now + datetime.timedelta(seconds=respond_within)),
            status=REQUESTED,
        )

    def _requested_services(self, services: Iterable[consent_pb2.ServiceFields]) -> ServiceFieldMap:
        """Services the registry routes, each with distinct, well-formed field names."""
        wanted: ServiceFieldMap = {}
        for entry in services:
            route = self._registry.service(entry.service_id)
            if route is None or not route.enabled:
                raise Refusal("UNKNOWN_SERVICE", f"no service {entry.service_id!r}")
            if entry.service_id in wanted:
                raise Refusal("MALFORMED_REQUEST", f"service {entry.service_id} named twice")
            fields = list(entry.fields)
            if not 0 < len(fields) <= MAX_FIELDS or len(set(fields)) != len(fields):
                raise Refusal("MALFORMED_REQUEST", f"fields must be 1..{MAX_FIELDS} distinct names")
            # Shape only: which fields a member may see is the policy's call, at query time.
            if not all(is_field_name(f) for f in fields):
                raise Refusal("MALFORMED_REQUEST", "a field name is not a field name")
            wanted[entry.service_id] = tuple(sorted(fields))
        if not 0 < len(wanted) <= MAX_LEGS:
            raise Refusal("MALFORMED_REQUEST", f"a request names 1..{MAX_LEGS} services")
        return wanted

    # --- the consent manager ----------------------------------------------------------------

    async def Grant(
        self, request: consent_pb2.GrantRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ConsentRecord:
        call = await self._calls.consent_manager(context, "Grant", request)
        now = self._calls.now()
        try:
            artefact = self._verifier.verify(request.artefact)
            call = self._calls.about(call, artefact.subject)
            if now >= artefact.expires_at:
                raise Refusal("CONSENT_EXPIRED", f"consent {artefact.consent_id} has expired")
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)
        grant = ConsentGrant(
            consent_id=artefact.consent_id,
            artefact_digest=artefact_digest(request.artefact),
            granted={s: tuple(sorted(f)) for s, f in sorted(artefact.services.items())},
            not_before=_iso(artefact.not_before),
            expires_at=_iso(artefact.expires_at),
            decided_at=_iso(now),
        )

        def plan() -> Plan[consent_pb2.ConsentRecord]:
            if request.request_id:
                return self._grant_requested(request.request_id, artefact, grant, now)
            return self._grant_directly(artefact, grant, now)

        consent_id = request.request_id or artefact.consent_id
        return await self._decide(context, call, consent_id, plan)

    def _grant_requested(
        self,
        request_id: str,
        artefact: ConsentArtefact,
        grant: ConsentGrant,
        now: datetime.datetime,
    ) -> Plan[consent_pb2.ConsentRecord]:
        record = self._pending_request(request_id, now)
        if artefact.consent_id != request_id:
            raise Refusal("CONSENT_REQUEST_MISMATCH", "the artefact's id is not the request id")
        _check_answers(record, artefact, self._pseudonyms.subject(artefact.subject))
        granted = _granted(record, grant)
        return _record_message(granted, now), lambda: self._registry.grant_consent(
            grant, now=_iso(now)
        )

    def _grant_directly(
        self, artefact: ConsentArtefact, grant: ConsentGrant, now: datetime.datetime
    ) -> Plan[consent_pb2.ConsentRecord]:
        if self._registry.consent(artefact.consent_id) is not None:
            raise Refusal(
                "CONSENT_STATE_INVALID", f"consent {artefact.consent_id} is already registered"
            )
        validity = int((artefact.expires_at - artefact.not_before).total_seconds())
        # As if requested for exactly what it grants, and granted at once.
        requested = ConsentRecord(
            consent_id=artefact.consent_id,
            subject=self._pseudonyms.subject(artefact.subject),
            grantee=artefact.grantee,
            purpose=artefact.purpose,
            purpose_text="",
            requested=grant.granted,
            valid_for_s=validity,
            data_life_s=0,
            requested_at=grant.decided_at,
            respond_by=grant.decided_at,
            status=REQUESTED,
        )
        record = _granted(requested, grant)
        return _record_message(record, now), lambda: self._registry.add_consent(record)

    async def Reject(
        self, request: consent_pb2.RejectConsentRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ConsentRecord:
        call = await self._calls.consent_manager(context, "Reject", request)
        now = self._calls.now()

        def plan() -> Plan[consent_pb2.ConsentRecord]:
            if not is_code(request.reason):
                raise Refusal("MALFORMED_REQUEST", "reason is not a reason code [a-z0-9-]")
            record = self._pending_request(request.request_id, now)
            rejected = dataclasses.replace(
                record, status=REJECTED, rejection_reason=request.reason, decided_at=_iso(now)
            )
            return _record_message(rejected, now), lambda: self._registry.reject_consent(
                request.request_id, request.reason, now=_iso(now)
            )

        return await self._decide(context, call, request.request_id, plan)

    async def Revoke(
        self, request: consent_pb2.RevokeRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.RevokeResponse:
        # Whoever hands it over, the consent manager's signature is the authority.
        call = await self._calls.caller_for(context, "Revoke", request)
        now = self._calls.now()
        try:
            consent_id = verify_revocation(
                request.revocation, self._consent_key, issuer=CONSENT_MANAGER_ID
            )
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)

        def plan() -> Plan[consent_pb2.RevokeResponse]:
            record = self._registry.consent(consent_id)
            if record is None:
                raise Refusal("CONSENT_UNKNOWN", f"no consent {consent_id}")
            state = record.state_at(now)
            if state != ACTIVE:
                raise Refusal(
                    "CONSENT_STATE_INVALID", f"consent {consent_id} is {state}, not ACTIVE"
                )
            response = consent_pb2.RevokeResponse(consent_id=consent_id, revoked_at=_iso(now))
            return response, lambda: self._registry.revoke_consent(consent_id, now=_iso(now))

        return await self._decide(context, call, consent_id, plan)

    async def _decide(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        consent_id: str,
        plan: Callable[[], Plan[_Response]],
    ) -> _Response:
        """Decide consent ``consent_id`` (claimed, planned, recorded, committed:
        ``hub.claims``); CONSENT_STATE_INVALID if another call is answering it or did
        first."""
        # Not echoed: a request id is the caller's text, and could be anything.
        return await self._claims.decide(
            context,
            call,
            f"consent {consent_id}",
            plan,
            taken=Refusal("CONSENT_STATE_INVALID", "the consent is being answered by another call"),
            lost=Refusal("CONSENT_STATE_INVALID", "the consent was answered meanwhile"),
        )

    def _pending_request(self, request_id: str, now: datetime.datetime) -> ConsentRecord:
        record = self._registry.consent(request_id)
        if record is None:
            # Not echoed: the id is the caller's text, and could be anything.
            raise Refusal("CONSENT_REQUEST_UNKNOWN", "no consent request with that id")
        state = record.state_at(now)
        if state != REQUESTED:
            raise Refusal(
                "CONSENT_STATE_INVALID", f"request {request_id} is {state}, not REQUESTED"
            )
        return record

    # --- the citizen, through the consent manager -------------------------------------------

    async def ListMine(
        self, request: consent_pb2.CitizenConsentsRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ConsentList:
        call = await self._calls.consent_manager(context, "ListMine", request)
        nik = await self._calls.citizen(context, call, request.subject_token, self._consent_key)
        now = self._calls.now()
        records = await self._calls.store(self._registry.consents_of, self._pseudonyms.subject(nik))
        response = consent_pb2.ConsentList(consents=[_record_message(r, now) for r in records])
        return await self._calls.answer(context, self._calls.about(call, nik), response)

    async def Receipt(
        self, request: consent_pb2.ConsentReceiptRequest, context: grpc.aio.ServicerContext
    ) -> consent_pb2.ConsentReceipt:
        call = await self._calls.consent_manager(context, "Receipt", request)
        nik = await self._calls.citizen(context, call, request.subject_token, self._consent_key)
        call = self._calls.about(call, nik)
        now = self._calls.now()
        pseudonym = self._pseudonyms.subject(nik)
        record = await self._calls.store(self._registry.consent, request.consent_id)
        if record is None or record.subject != pseudonym:
            # Someone else's consent is, to this citizen, no consent at all.
            await self._calls.refuse(
                context,
                call,
                Refusal("CONSENT_REQUEST_UNKNOWN", "no consent of this citizen with that id"),
            )
        assert record is not None
        response = consent_pb2.ConsentReceipt(
            receipt=sign_consent_receipt(_receipt_document(record, now), self._receipt_key)
        )
        return await self._calls.answer(context, call, response)


def _check_purpose_text(text: str) -> None:
    # Free text kept in the registry: bounded, printable, and nothing that could be a NIK.
    if not 0 < len(text) <= _PURPOSE_TEXT_CHARS or not is_printable(text):
        raise Refusal(
            "MALFORMED_REQUEST", f"purpose_text must be 1..{_PURPOSE_TEXT_CHARS} printable chars"
        )
    if may_hold_nik(text):
        raise Refusal("MALFORMED_REQUEST", "purpose_text holds sixteen digits in a row")


def _check_answers(record: ConsentRecord, artefact: ConsentArtefact, subject: str) -> None:
    """The artefact grants no more than the request asked for, to whom and why it asked."""
    mismatch = None
    if subject != record.subject:
        mismatch = "is for another subject"
    elif artefact.grantee != record.grantee:
        mismatch = f"is granted to {artefact.grantee}, the request came from {record.grantee}"
    elif artefact.purpose != record.purpose:
        mismatch = f"is for purpose {artefact.purpose!r}, the request for {record.purpose!r}"
    elif any(
        service not in record.requested or not fields <= set(record.requested[service])
        for service, fields in artefact.services.items()
    ):
        mismatch = "covers services or fields the request did not ask for"
    elif (artefact.expires_at - artefact.not_before).total_seconds() > record.valid_for_s:
        mismatch = f"is valid longer than the {record.valid_for_s}s requested"
    if mismatch:
        raise Refusal("CONSENT_REQUEST_MISMATCH", f"consent {artefact.consent_id} {mismatch}")


def _granted(record: ConsentRecord, grant: ConsentGrant) -> ConsentRecord:
    """``record`` once ``grant`` is registered: ACTIVE, for what it grants and as long."""
    return dataclasses.replace(
        record,
        status=ACTIVE,
        granted=grant.granted,
        artefact_digest=grant.artefact_digest,
        decided_at=grant.decided_at,
        not_before=grant.not_before,
        expires_at=grant.expires_at,
    )


def _record_message(record: ConsentRecord, now: datetime.datetime) -> consent_pb2.ConsentRecord:
    return consent_pb2.ConsentRecord(
        consent_id=record.consent_id,
        state=consent_pb2.ConsentState.Value(record.state_at(now)),
        grantee=record.grantee,
        purpose=record.purpose,
        purpose_text=record.purpose_text,
        requested=_service_fields(record.requested),
        granted=_service_fields(record.granted),
        valid_for_s=record.valid_for_s,
        data_life_s=record.data_life_s,
        requested_at=record.requested_at,
        respond_by=record.respond_by,
        decided_at=record.decided_at,
        not_before=record.not_before,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        rejection_reason=record.rejection_reason,
        uses=record.uses,
        last_used=record.last_used,
    )


def _service_fields(services: ServiceFieldMap) -> list[consent_pb2.ServiceFields]:
    return [
        consent_pb2.ServiceFields(service_id=service, fields=fields)
        for service, fields in sorted(services.items())
    ]


def _receipt_document(record: ConsentRecord, now: datetime.datetime) -> dict[str, Any]:
    """An ISO/IEC TS 27560-shaped consent record: who, to whom, for what, and its events."""
    events = [("requested", record.requested_at)]
    if record.decided_at:
        events.append(("rejected" if record.rejection_reason else "given", record.decided_at))
    if record.revoked_at:
        events.append(("withdrawn", record.revoked_at))
    return {
        "schema": RECEIPT_SCHEMA,
        "iss": HUB_MEMBER_ID,
        "iat": int(now.timestamp()),
        "record_id": record.consent_id,
        "pii_principal": record.subject,  # the hub's pseudonym, never the NIK
        "consent_manager": CONSENT_MANAGER_ID,
        "controller": record.grantee,
        "processor": HUB_MEMBER_ID,
        "purposes": [
            {
                "purpose_code": record.purpose,
                "purpose_text": record.purpose_text,
                "data_life_s": record.data_life_s,
                "services": [
                    {"service_id": service, "fields": list(fields)}
                    for service, fields in sorted((record.granted or record.requested).items())
                ],
            }
        ],
        "state": record.state_at(now),
        "valid_from": record.not_before,
        "valid_until": record.expires_at,
        "events": [{"event": name, "time": at} for name, at in events],
        "artefact_sha256": record.artefact_digest,
        "uses": record.uses,
        "last_used": record.last_used,
    }


def _iso(moment: datetime.datetime) -> str:
    # Whole seconds in UTC: one spelling, so the store can compare times as text.
    return moment.astimezone(datetime.UTC).replace(microsecond=0).isoformat()
