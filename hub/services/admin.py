"""The Admin gRPC service: enrolment by CSR, renewal, revocation, connector registration
and switching services off and on, over the API, by members and administrators.

Who may ask for what:

- any identified member may submit an enrolment for a subsystem of its own organisation
  (the same ``INSTANCE/CLASS/MEMBER/``), asking at most for roles it holds itself, and
  never for an identity that is taken: a reserved one (the hub, the consent manager, an
  administrator: ``MEMBER_RESERVED``) or a member with an unrevoked certificate other than
  itself (``MEMBER_EXISTS``) — one routine approval would otherwise hand that identity
  over. An administrator may submit for any member id with any known role. An
  organisation with no certificate at all is bootstrapped on the hub host by the operator
  (``jembatan pki enrol`` or ``pki issue``), never over the API;
- the submitter (or an administrator) reads its enrolment; to anyone else it does not exist;
- a member renews itself only: same member id, same roles, the hub's default validity from
  now, with its current certificate (a revoked or expired certificate cannot even be
  identified, so cannot renew), and each certificate once. The renewal names the
  certificate it renewed, and revoking a certificate revokes every renewal made from it,
  transitively: a stolen key cannot renew its way past the revocation of its certificate;
- an agency registers connectors for its own services only: the services' provider is the
  caller, and the caller's certificates sign the answers;
- everything else — listing, approving, rejecting, revoking, disabling — needs the
  ``administrator`` role in the caller's certificate.

Every call, allowed or refused, is appended to the audit log (purpose ``administration``)
before it is answered, under one rule: *nothing is done unless it is recorded, and what is
recorded is what was done*. A decision (approving, rejecting, revoking, renewing) claims
its target first, so a second administrator deciding the same thing is refused
``ALREADY_DECIDED`` (recorded) before anything is recorded as done; then it checks, signs
any certificate, records, and only then commits (``hub.claims`` explains the order).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

import grpc
from cryptography import x509
from google.protobuf.message import Message

from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID
from hub.pipeline.stages import PeerMember
from hub.pki import CertificateAuthority, check_csr, load_csr_pem
from hub.provisioning import certificate_record
from hub.services.calls import CallRecorder, MemberCall
from hub.services.claims import Claims, Plan
from hub.services.registry import catalogue_to_json, catalogue_to_proto
from hub.store import base
from hub.store.base import HubStore
from jembatan.certs import ADMINISTRATOR, ROLES, roles_of
from jembatan.errors import Refusal
from jembatan.ids import InvalidIdentifier, MemberId, ServiceId, is_field_name
from jembatan.keys import PkiError, cert_to_pem, load_cert_pem
from jembatan.subject import free_text_problem
from jembatan.v1 import admin_pb2, admin_pb2_grpc, registry_pb2

log = logging.getLogger(__name__)

ADMINISTRATION = "administration"
DEFAULT_VALID_DAYS = 365
# Longest validity an administrator may grant; renewal before expiry is the way to go on.
MAX_VALID_DAYS = 825
_FIELD_TYPES = frozenset({"text", "integer", "flag", "number", "date"})
_ENDPOINT = re.compile(r"[A-Za-z0-9.-]{1,253}:[0-9]{1,5}")
_MAX_TEXT = 200
_STATE = {
    base.PENDING: admin_pb2.REQUEST_PENDING,
    base.APPROVED: admin_pb2.REQUEST_APPROVED,
    base.REJECTED: admin_pb2.REQUEST_REJECTED,
}
_STATE_NAME = {value: name for name, value in _STATE.items()}
_Response = TypeVar("_Response", bound=Message)
# What an administrator decides: PENDING until approved or rejected.
_Request = TypeVar("_Request", base.Enrolment, base.ConnectorRegistration)
# Identities no member may enrol itself into: only an administrator submits for them.
_RESERVED_IDS = frozenset({CONSENT_MANAGER_ID, HUB_MEMBER_ID})


def check_submission(submitter: PeerMember, member_id: str, roles: Sequence[str]) -> None:
    """Raise the ``Refusal`` for an enrolment ``submitter`` may not submit."""
    try:
        wanted = MemberId.parse(member_id)
    except InvalidIdentifier as exc:
        raise Refusal("MALFORMED_REQUEST", str(exc)) from exc
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise Refusal("ROLE_NOT_GRANTABLE", f"unknown role(s) {', '.join(unknown)}")
    if ADMINISTRATOR in submitter.roles:
        return
    if _organisation(wanted) != _organisation(MemberId.parse(submitter.member_id)):
        raise Refusal("ORGANISATION_MISMATCH", f"{submitter.member_id} may not enrol {member_id}")
    beyond = sorted(set(roles) - submitter.roles)
    if beyond:
        raise Refusal(
            "ROLE_NOT_GRANTABLE", f"the submitter may not ask for role(s) {', '.join(beyond)}"
        )


def _organisation(member: MemberId) -> tuple[str, str, str]:
    return member.instance, member.member_class, member.member


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(
        self,
        calls: CallRecorder,
        registry: HubStore,
        ca: Callable[[], CertificateAuthority],
    ) -> None:
        self._calls = calls.bind("jembatan.v1.Admin", ADMINISTRATION)
        self._claims = Claims(registry, self._calls)
        self._registry = registry
        # Loaded when a certificate is issued, so the key is read only when it is needed.
        self._ca = ca

    async def _administrator(
        self, context: grpc.aio.ServicerContext, method: str, request: Message
    ) -> MemberCall:
        return await self._calls.caller_with_role(context, ADMINISTRATOR, method, request)

    async def _decide(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        target: str,
        plan: Callable[[], Plan[_Response]],
    ) -> _Response:
        """Decide ``target`` (claimed, planned, recorded, committed: ``hub.claims``);
        ALREADY_DECIDED if another call is deciding it or decided it first."""
        return await self._claims.decide(
            context,
            call,
            target,
            plan,
            taken=Refusal("ALREADY_DECIDED", f"{target} is being decided by another call"),
            lost=Refusal("ALREADY_DECIDED", f"{target} was decided meanwhile"),
        )

    def _authority(self) -> CertificateAuthority:
        """The hub CA, to sign with. A hub that holds no CA key (a deployment keeps it only
        where certificates are issued, as the compose file does) refuses the call, recorded,
        instead of failing unrecorded."""
        try:
            return self._ca()
        except PkiError as exc:
            log.warning("certificate not issued: the CA cannot be loaded: %s", exc)
            raise Refusal(
                "INTERNAL_ERROR",
                "this hub issues no certificates: its CA key is not here; issue them where"
                " it is (jembatan pki issue)",
            ) from exc

    def _is_administrator(self, member_id: str) -> bool:
        """Whether any certificate ever issued to ``member_id`` carries the administrator
        role (a revoked administrator's id stays reserved all the same)."""
        return any(
            ADMINISTRATOR in roles_of(load_cert_pem(cert.cert_pem))
            for cert in self._registry.member_certificates(member_id)
        )

    def _check_identity(self, submitter: str, administrator: bool, member_id: str) -> None:
        """Raise the refusal if ``submitter`` (an ``administrator`` or not) may not enrol
        ``member_id``: an identity that is reserved or already held by another member."""
        if administrator or member_id == submitter:
            return  # an administrator's choice; or a member's own key, which it may add
        if member_id in _RESERVED_IDS or self._is_administrator(member_id):
            raise Refusal("MEMBER_RESERVED", f"only an administrator may enrol {member_id}")
        if any(not cert.revoked for cert in self._registry.member_certificates(member_id)):
            raise Refusal(
                "MEMBER_EXISTS", f"{member_id} is enrolled already: only it renews its certificate"
            )

    def _csr(self, data: bytes, member_id: str) -> x509.CertificateSigningRequest:
        try:
            csr = load_csr_pem(data)
            check_csr(csr, member_id)
        except PkiError as exc:
            raise Refusal("CSR_INVALID", str(exc)) from exc
        return csr

    # --- member side --------------------------------------------------------------------

    async def SubmitEnrolment(
        self, request: admin_pb2.SubmitEnrolmentRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.Enrolment:
        call = await self._calls.caller_for(context, "SubmitEnrolment", request)
        member = call.member
        roles = tuple(sorted(set(request.roles)))
        try:
            check_submission(member, request.member_id, roles)
            await self._calls.store(
                self._check_identity,
                member.member_id,
                ADMINISTRATOR in member.roles,
                request.member_id,
            )
            self._csr(request.csr_pem, request.member_id)
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)
        enrolment = base.Enrolment(
            request_id="enr-" + secrets.token_hex(8),
            member_id=request.member_id,
            roles=roles,
            csr_pem=request.csr_pem,
            submitter=member.member_id,
            submitted_at=self._now(),
        )
        response = await self._calls.answer(context, call, self._enrolment(enrolment))
        await self._calls.store(self._registry.add_enrolment, enrolment)
        return response

    async def GetEnrolment(
        self, request: admin_pb2.GetEnrolmentRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.Enrolment:
        return await self._submitted(
            context,
            request,
            "GetEnrolment",
            "enrolment",
            request.request_id,
            self._registry.enrolment,
            self._enrolment,
        )

    async def Renew(
        self, request: admin_pb2.RenewRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.Enrolment:
        call = await self._calls.caller_for(context, "Renew", request)
        member = call.member
        # The same target as revoking this certificate: a renewal of it and its revocation
        # are decided one after the other, never both at once.
        return await self._decide(
            context, call, f"certificate {member.serial}", lambda: self._renewal(member, request)
        )

    def _renewal(
        self, member: PeerMember, request: admin_pb2.RenewRequest
    ) -> Plan[admin_pb2.Enrolment]:
        """A new certificate for the CSR: same id and roles, the default validity from now
        (so never beyond it), registered as the renewal of the caller's certificate."""
        if request.valid_days:
            # A stolen key must not buy itself a longer life.
            raise Refusal(
                "MALFORMED_REQUEST",
                f"a renewal is valid {DEFAULT_VALID_DAYS} days; valid_days must be 0",
            )
        csr = self._csr(request.csr_pem, member.member_id)
        renewal = self._registry.renewal_of(member.serial)
        if renewal is not None:
            raise Refusal(
                "ALREADY_DECIDED",
                f"certificate {member.serial} was already renewed (as {renewal.serial})",
            )
        roles = tuple(sorted(member.roles))
        now = self._calls.now()
        cert = self._authority().issue(
            csr, member.member_id, valid_days=DEFAULT_VALID_DAYS, roles=roles, now=now
        )
        record = certificate_record(cert, member.member_id, renewed_from=member.serial)
        at = now.isoformat(timespec="seconds")
        response = admin_pb2.Enrolment(
            member_id=member.member_id,
            roles=roles,
            state=admin_pb2.REQUEST_APPROVED,
            submitter=member.member_id,
            submitted_at=at,
            decided_by=member.member_id,
            decided_at=at,
            certificate_pem=record.cert_pem,
            serial=record.serial,
        )
        # Registered only if the certificate it renews is still unrevoked and unrenewed.
        return response, lambda: self._registry.add_renewal(record)

    async def RegisterConnector(
        self, request: admin_pb2.RegisterConnectorRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ConnectorRegistration:
        call = await self._calls.caller_for(context, "RegisterConnector", request)
        member = call.member
        try:
            services = _offered_services(member.member_id, request)
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)
        registration = base.ConnectorRegistration(
            registration_id="con-" + secrets.token_hex(8),
            agency_id=member.member_id,
            endpoint=request.endpoint,
            services_json=json.dumps(services),
            submitted_at=self._now(),
        )
        response = await self._calls.answer(context, call, _registration(registration))
        await self._calls.store(self._registry.add_connector_registration, registration)
        return response

    async def GetConnectorRegistration(
        self,
        request: admin_pb2.GetConnectorRegistrationRequest,
        context: grpc.aio.ServicerContext,
    ) -> admin_pb2.ConnectorRegistration:
        return await self._submitted(
            context,
            request,
            "GetConnectorRegistration",
            "connector registration",
            request.registration_id,
            self._registry.connector_registration,
            _registration,
        )

    async def _submitted(
        self,
        context: grpc.aio.ServicerContext,
        request: Message,
        method: str,
        what: str,
        key: str,
        find: Callable[[str], _Request | None],
        show: Callable[[_Request], _Response],
    ) -> _Response:
        """The ``what`` ``key`` (found by ``find``, shown by ``show``), to the member that
        submitted it or an administrator; to anyone else it does not exist."""
        call = await self._calls.caller_for(context, method, request)
        member = call.member
        found = await self._calls.store(find, key)
        if found is None or not (
            _submitter(found) == member.member_id or ADMINISTRATOR in member.roles
        ):
            await self._calls.refuse(context, call, _unknown(what, key))
        # Showing an approved enrolment reads its certificate.
        return await self._calls.answer(context, call, await self._calls.store(show, found))

    # --- administrator side -------------------------------------------------------------

    async def ListEnrolments(
        self, request: admin_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListEnrolmentsResponse:
        call = await self._administrator(context, "ListEnrolments", request)
        state = _STATE_NAME.get(request.state)

        def listed() -> admin_pb2.ListEnrolmentsResponse:
            found = self._registry.enrolments(state)
            return admin_pb2.ListEnrolmentsResponse(enrolments=[self._enrolment(e) for e in found])

        return await self._calls.answer(context, call, await self._calls.store(listed))

    async def ApproveEnrolment(
        self, request: admin_pb2.ApproveEnrolmentRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.Enrolment:
        call = await self._administrator(context, "ApproveEnrolment", request)
        return await self._decide(
            context,
            call,
            f"enrolment {request.request_id}",
            lambda: self._approval(call.member, request),
        )

    def _approval(
        self, member: PeerMember, request: admin_pb2.ApproveEnrolmentRequest
    ) -> Plan[admin_pb2.Enrolment]:
        enrolment = _pending(
            self._registry.enrolment(request.request_id), "enrolment", request.request_id
        )
        valid_days = _valid_days(request.valid_days)
        csr = self._csr(enrolment.csr_pem, enrolment.member_id)
        # Again: the identity may have been taken since the enrolment was submitted.
        self._check_identity(
            enrolment.submitter, self._is_administrator(enrolment.submitter), enrolment.member_id
        )
        # Signed only now, when no other call can decide this enrolment.
        cert = self._authority().issue(
            csr, enrolment.member_id, valid_days=valid_days, roles=enrolment.roles
        )
        record = certificate_record(cert, enrolment.member_id)
        now = self._now()
        approved = replace(
            enrolment, state=base.APPROVED, decided_by=member.member_id, decided_at=now
        )
        response = self._enrolment(approved)
        response.certificate_pem, response.serial = cert_to_pem(cert), record.serial
        return response, lambda: self._registry.approve_enrolment(
            request.request_id, member.member_id, now, record
        )

    async def RejectEnrolment(
        self, request: admin_pb2.RejectRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.Enrolment:
        return await self._reject(
            context,
            request,
            "RejectEnrolment",
            "enrolment",
            self._registry.enrolment,
            self._enrolment,
            self._registry.reject_enrolment,
        )

    async def RevokeCertificate(
        self, request: admin_pb2.RevokeCertificateRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.RevokeCertificateResponse:
        call = await self._administrator(context, "RevokeCertificate", request)
        serial = request.serial.lower().removeprefix("0x")

        def plan() -> Plan[admin_pb2.RevokeCertificateResponse]:
            reason = _free_text(request.reason or "unspecified", "reason")
            found = self._registry.member_certificate(serial)
            if found is None:
                raise _unknown("certificate", serial)
            if found.revoked:
                raise Refusal("ALREADY_DECIDED", f"certificate {serial} is already revoked")
            now = self._now()
            response = admin_pb2.RevokeCertificateResponse(
                serial=serial, member_id=found.member_id, revoked_at=now
            )
            # With every certificate renewed from it, in one transaction, same reason.
            return response, lambda: bool(self._registry.revoke_certificate(serial, now, reason))

        return await self._decide(context, call, f"certificate {serial}", plan)

    async def ListConnectorRegistrations(
        self, request: admin_pb2.ListRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ListConnectorRegistrationsResponse:
        call = await self._administrator(context, "ListConnectorRegistrations", request)
        found = await self._calls.store(
            self._registry.connector_registrations, _STATE_NAME.get(request.state)
        )
        response = admin_pb2.ListConnectorRegistrationsResponse(
            registrations=[_registration(r) for r in found]
        )
        return await self._calls.answer(context, call, response)

    async def ApproveConnector(
        self, request: admin_pb2.ApproveConnectorRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ConnectorRegistration:
        call = await self._administrator(context, "ApproveConnector", request)
        member = call.member

        def plan() -> Plan[admin_pb2.ConnectorRegistration]:
            found = _pending(
                self._registry.connector_registration(request.registration_id),
                "connector registration",
                request.registration_id,
            )
            now = self._now()
            response = _registration(
                replace(found, state=base.APPROVED, decided_by=member.member_id, decided_at=now)
            )
            for service_id, fields in json.loads(found.services_json).items():
                response.catalogue_versions[service_id] = self._registry.next_catalogue_version(
                    service_id, json.dumps(fields)
                )
            return (
                response,
                lambda: (
                    self._registry.approve_connector_registration(
                        request.registration_id, member.member_id, now
                    )
                    is not None
                ),
            )

        target = f"connector registration {request.registration_id}"
        return await self._decide(context, call, target, plan)

    async def RejectConnector(
        self, request: admin_pb2.RejectRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.ConnectorRegistration:
        return await self._reject(
            context,
            request,
            "RejectConnector",
            "connector registration",
            self._registry.connector_registration,
            _registration,
            self._registry.reject_connector_registration,
        )

    async def _reject(
        self,
        context: grpc.aio.ServicerContext,
        request: admin_pb2.RejectRequest,
        method: str,
        what: str,
        find: Callable[[str], _Request | None],
        show: Callable[[_Request], _Response],
        store: Callable[[str, str, str, str], bool],
    ) -> _Response:
        """Reject the pending ``what`` ``request.request_id`` (found by ``find``, shown by
        ``show``, the rejection committed by ``store``), with the administrator's reason."""
        call = await self._administrator(context, method, request)
        member = call.member

        def plan() -> Plan[_Response]:
            found = _pending(find(request.request_id), what, request.request_id)
            reason = _free_text(request.reason, "reason")
            now = self._now()
            rejected = replace(
                found,
                state=base.REJECTED,
                decided_by=member.member_id,
                decided_at=now,
                reason=reason,
            )
            return show(rejected), lambda: store(request.request_id, member.member_id, now, reason)

        return await self._decide(context, call, f"{what} {request.request_id}", plan)

    async def SetServiceEnabled(
        self, request: admin_pb2.SetServiceEnabledRequest, context: grpc.aio.ServicerContext
    ) -> admin_pb2.SetServiceEnabledResponse:
        call = await self._administrator(context, "SetServiceEnabled", request)
        if await self._calls.store(self._registry.service, request.service_id) is None:
            await self._calls.refuse(context, call, _unknown("service", request.service_id))
        response = admin_pb2.SetServiceEnabledResponse(
            service_id=request.service_id, enabled=request.enabled
        )
        await self._calls.answer(context, call, response)
        await self._calls.store(
            self._registry.set_service_enabled, request.service_id, request.enabled
        )
        return response

    # --- helpers ------------------------------------------------------------------------

    def _now(self) -> str:
        return self._calls.now().isoformat(timespec="seconds")

    def _enrolment(self, enrolment: base.Enrolment) -> admin_pb2.Enrolment:
        """The enrolment as the API shows it (with a decision about to be committed, if it
        has one). The certificate is shown once approved, never for a rejected request."""
        message = admin_pb2.Enrolment(
            request_id=enrolment.request_id,
            member_id=enrolment.member_id,
            roles=enrolment.roles,
            state=_STATE[enrolment.state],
            submitter=enrolment.submitter,
            submitted_at=enrolment.submitted_at,
            decided_by=enrolment.decided_by,
            decided_at=enrolment.decided_at,
            reason=enrolment.reason,
        )
        if enrolment.state == base.APPROVED and enrolment.serial:
            cert = self._registry.member_certificate(enrolment.serial)
            if cert is not None:
                message.certificate_pem, message.serial = cert.cert_pem, cert.serial
        return message


def _pending(found: _Request | None, what: str, key: str) -> _Request:
    """``found``, the ``what`` ``key``, if it waits for a decision; else the refusal."""
    if found is None:
        raise _unknown(what, key)
    if found.state != base.PENDING:
        raise _decided(key)
    return found


def _submitter(request: base.Enrolment | base.ConnectorRegistration) -> str:
    """Who submitted ``request``: an enrolment's submitter, or the agency registering."""
    return request.submitter if isinstance(request, base.Enrolment) else request.agency_id


def _registration(registration: base.ConnectorRegistration) -> admin_pb2.ConnectorRegistration:
    return admin_pb2.ConnectorRegistration(
        registration_id=registration.registration_id,
        agency_id=registration.agency_id,
        endpoint=registration.endpoint,
        services=[
            admin_pb2.ServiceOffer(service_id=service_id, fields=catalogue_to_proto(json.dumps(f)))
            for service_id, f in json.loads(registration.services_json).items()
        ],
        state=_STATE[registration.state],
        submitted_at=registration.submitted_at,
        decided_by=registration.decided_by,
        decided_at=registration.decided_at,
        reason=registration.reason,
        catalogue_versions=json.loads(registration.versions_json),
    )


def _offered_services(
    agency_id: str, request: admin_pb2.RegisterConnectorRequest
) -> dict[str, list[dict[str, str]]]:
    """The registration's services and catalogues in stored form, or the first fault."""
    if not _ENDPOINT.fullmatch(request.endpoint):
        raise Refusal("MALFORMED_REQUEST", "endpoint must be HOST:PORT")
    if not request.services:
        raise Refusal("MALFORMED_REQUEST", "a connector registration needs at least one service")
    services: dict[str, list[dict[str, str]]] = {}
    for offer in request.services:
        try:
            service = ServiceId.parse(offer.service_id)
        except InvalidIdentifier as exc:
            raise Refusal("MALFORMED_REQUEST", str(exc)) from exc
        if str(service.provider) != agency_id:
            raise Refusal(
                "ORGANISATION_MISMATCH", f"{offer.service_id} is not a service of {agency_id}"
            )
        if offer.service_id in services:
            raise Refusal("MALFORMED_REQUEST", f"{offer.service_id} offered twice")
        _check_catalogue(offer.fields)
        services[offer.service_id] = json.loads(catalogue_to_json(offer.fields))
    return services


def _check_catalogue(fields: Sequence[registry_pb2.FieldSpec]) -> None:
    names = [f.name for f in fields]
    if not names or len(set(names)) != len(names):
        raise Refusal("MALFORMED_REQUEST", "a catalogue needs one or more distinct fields")
    for spec in fields:
        if not is_field_name(spec.name):
            raise Refusal("MALFORMED_REQUEST", "a field name is not of the form [a-z][a-z0-9_]*")
        if spec.type not in _FIELD_TYPES:
            raise Refusal(
                "MALFORMED_REQUEST", f"field type must be one of {', '.join(sorted(_FIELD_TYPES))}"
            )
        if spec.sensitivity == registry_pb2.SENSITIVITY_UNSPECIFIED:
            raise Refusal("MALFORMED_REQUEST", f"field {spec.name} has no sensitivity")
        _free_text(spec.description, "description")


def _free_text(text: str, what: str) -> str:
    # Free text (reasons, descriptions) is stored verbatim and shown to officers.
    problem = free_text_problem(text, _MAX_TEXT)
    if problem:
        raise Refusal("MALFORMED_REQUEST", f"{what} {problem}")
    return text


def _valid_days(days: int) -> int:
    if days > MAX_VALID_DAYS:
        raise Refusal("MALFORMED_REQUEST", f"validity is at most {MAX_VALID_DAYS} days")
    return days or DEFAULT_VALID_DAYS


def _unknown(what: str, key: str) -> Refusal:
    return Refusal("UNKNOWN_TARGET", f"no {what} {key!r}")


def _decided(key: str) -> Refusal:
    return Refusal("ALREADY_DECIDED", f"{key} was already decided")
