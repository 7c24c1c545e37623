"""The stages of the query pipeline. Each has one job and either passes or raises a Refusal.

Order (built by ``build_stages`` at the end of this module): identify, decode,
authenticate, resolve, consent, authorize, approve, forward, verify, transform. The audit
and the receipt follow in the chain itself, for refusals as well as releases.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Protocol, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet

from consent.artefact import ConsentVerifier, artefact_digest, check_covers
from hub.pipeline.exchange import Exchange, Peer
from hub.pipeline.replay import ReplayGuard
from hub.routing import ConnectorPool
from hub.store.base import ACTIVE, REVOKED, MemberCertificate
from hub.store.snapshot import RegistrySnapshot
from jembatan.certs import APPROVER, member_id_of, roles_of
from jembatan.errors import Refusal
from jembatan.ids import is_code, is_correlation_id, is_field_name, is_service_id
from jembatan.jws import (
    APPROVAL_TYPE,
    REQUEST_TYPE,
    RESPONSE_TYPE,
    EnvelopeError,
    envelope_key_id,
    verify_envelope,
)
from jembatan.keys import PkiError, load_cert_pem, serial_text
from jembatan.limits import MAX_CORRELATION_ID, MAX_FIELDS
from jembatan.subject import is_nik, is_printable, may_hold_nik
from jembatan.v1 import common_pb2, connector_pb2, exchange_pb2
from jembatan.values import from_wire, to_wire
from policies import Decision, PolicySet, PolicyValueError

_Message = TypeVar("_Message", exchange_pb2.QueryRequest, exchange_pb2.QueryBody)
# Indonesia's western time zone (WIB): "today" for date predicates is the pilot's today.
WIB = datetime.timezone(datetime.timedelta(hours=7))
_JUSTIFICATION_MIN, _JUSTIFICATION_MAX, _REFERENCE_MAX = 10, 500, 200
TREATMENTS = {
    "raw": common_pb2.RAW,
    "masked": common_pb2.MASKED,
    "bucketed": common_pb2.BUCKETED,
    "predicate": common_pb2.PREDICATE,
}


class Stage(Protocol):
    name: str

    async def __call__(self, x: Exchange) -> None: ...


@dataclass(frozen=True, slots=True)
class PeerMember:
    """Who a certificate says its holder is, parsed once per certificate."""

    member_id: str
    serial: str  # hex
    key: ec.EllipticCurvePublicKey
    roles: frozenset[str] = frozenset()


class CertificateCache:
    """Parsed member certificates by PEM: parsing is pure, so it is done once per cert.

    Revocation is not cached: it is read from the registry on every call.
    """

    def __init__(self, limit: int = 4096) -> None:
        self._parsed: dict[bytes, PeerMember] = {}
        self._limit = limit

    def parse(self, pem: bytes) -> PeerMember:
        hit = self._parsed.get(pem)
        if hit is None:
            cert = load_cert_pem(pem)
            key = cert.public_key()
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise PkiError("certificate key is not ECDSA")
            hit = PeerMember(member_id_of(cert), serial_text(cert), key, roles_of(cert))
            if len(self._parsed) >= self._limit:
                self._parsed.clear()
            self._parsed[pem] = hit
        return hit


class Identify:
    """The mTLS certificate names a registered, unrevoked member."""

    name = "identify"

    def __init__(self, registry: RegistrySnapshot, certificates: CertificateCache) -> None:
        self._registry = registry
        self._certificates = certificates

    async def __call__(self, x: Exchange) -> None:
        member = self.member(x.peer)
        # Named before the checks, so a refused certificate is identifiable in the audit log.
        x.member_id, x.certificate_serial = member.member_id, member.serial
        await self.check_registered(member)
        x.member_key = member.key

    def member(self, peer: Peer) -> PeerMember:
        """Who the certificate says the caller is (TLS already proved it chains to the CA)."""
        if peer.cert_pem is None:
            raise Refusal("CERT_UNKNOWN", "no client certificate")
        try:
            return self._certificates.parse(peer.cert_pem)
        except (PkiError, ValueError) as exc:
            raise Refusal("CERT_UNKNOWN", f"certificate unusable: {exc}") from exc

    async def check_registered(self, member: PeerMember) -> None:
        """The certificate is in the registry and not revoked (read on every call)."""
        await self._registry.update()
        record = self._registry.member_certificate(member.serial)
        if record is None or record.member_id != member.member_id:
            raise Refusal("CERT_UNKNOWN", f"certificate {member.serial} is not registered")
        if record.revoked:
            raise Refusal(
                "CERT_REVOKED", f"certificate {member.serial} revoked at {record.revoked_at}"
            )


class Decode:
    """The bytes are a QueryRequest with nothing in it that the contract does not know."""

    name = "decode"

    async def __call__(self, x: Exchange) -> None:
        x.request = _parse(exchange_pb2.QueryRequest, x.raw, "QueryRequest")


class Authenticate:
    """The body is signed by the caller's key, fresh, not replayed, and well-formed."""

    name = "authenticate"

    def __init__(self, replay: ReplayGuard, max_age_s: int, clock_skew_s: int) -> None:
        self._replay = replay
        self._max_age_s = max_age_s
        self._clock_skew_s = clock_skew_s

    async def __call__(self, x: Exchange) -> None:
        assert x.member_key is not None
        try:
            claims = verify_envelope(
                x.request.signature,
                x.request.body,
                x.member_key,
                issuer=x.member_id,
                typ=REQUEST_TYPE,
                # kid is optional on a request; the key is the TLS certificate's, which a
                # kid, if given, must name.
                serial=x.certificate_serial,
                now=x.received_at,
                max_age_s=self._max_age_s,
                clock_skew_s=self._clock_skew_s,
            )
        except EnvelopeError as exc:
            raise Refusal(exc.reason, str(exc)) from exc
        body = _parse_body(x.request.body)
        if body.client_id != x.member_id:
            raise Refusal("CLIENT_ID_MISMATCH", "client_id is not the certificate's member")
        nonce = await self._replay.claim_envelope(
            claims, self._max_age_s + self._clock_skew_s, x.received_at
        )
        if nonce is None:
            raise Refusal("REPLAYED", "request nonce already used")
        x.nonces.append(nonce)
        x.body = body
        if not is_nik(body.subject):
            raise Refusal("INVALID_SUBJECT", "subject is not a 16-digit NIK")


def _parse(message: type[_Message], data: bytes, name: str) -> _Message:
    try:
        parsed = message.FromString(data)
    except DecodeError as exc:
        raise Refusal("MALFORMED_REQUEST", f"not a {name}") from exc
    # Unknown fields would be signed but ignored: refuse what the hub cannot account for.
    if len(UnknownFieldSet(parsed)):
        raise Refusal("MALFORMED_REQUEST", f"{name} carries unknown fields")
    return parsed


def _parse_body(data: bytes) -> exchange_pb2.QueryBody:
    """The body, refused unless every text the audit record will keep verbatim (service id,
    purpose, request id, field names) is of a shape that cannot carry a NIK or a value."""
    body = _parse(exchange_pb2.QueryBody, data, "QueryBody")
    if not is_service_id(body.service_id):
        raise Refusal(
            "MALFORMED_REQUEST", "service_id is not INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE"
        )
    if not is_code(body.purpose):
        raise Refusal("MALFORMED_REQUEST", "purpose is not a purpose code")
    if not is_correlation_id(body.request_id):
        raise Refusal(
            "MALFORMED_REQUEST", f"request_id must be 0..{MAX_CORRELATION_ID} of [A-Za-z0-9._:-]"
        )
    fields = list(body.fields)
    if not fields or len(fields) > MAX_FIELDS or len(set(fields)) != len(fields):
        raise Refusal("MALFORMED_REQUEST", f"fields must be 1..{MAX_FIELDS} distinct names")
    if not all(is_field_name(f) for f in fields):
        raise Refusal("MALFORMED_REQUEST", "a field name is not of the form [a-z][a-z0-9_]*")
    return body


class Resolve:
    """The registry knows a service of that name, it is enabled, and its catalogue has every
    field asked for: a misspelled field is named as such, before consent or policy would
    call it not consented or not allowed."""

    name = "resolve"

    def __init__(self, registry: RegistrySnapshot) -> None:
        self._registry = registry

    async def __call__(self, x: Exchange) -> None:
        assert x.body is not None
        route = self._registry.service(x.body.service_id)
        if route is None:
            raise Refusal("UNKNOWN_SERVICE", f"no service {x.body.service_id!r}")
        if not route.enabled:
            raise Refusal("SERVICE_DISABLED", f"service {x.body.service_id!r} is disabled")
        x.route = route
        known = self._registry.field_names(route.service_id)
        unknown = [name for name in x.body.fields if name not in known]
        if unknown:
            raise Refusal("UNKNOWN_FIELD", f"{route.service_id} has no {_named(unknown, known)}")


def _named(unknown: list[str], known: frozenset[str]) -> str:
    """The unknown fields, each with the catalogue's nearest name when one is close (field
    names are checked to be [a-z][a-z0-9_]*, so they can be quoted back)."""
    named = []
    for name in unknown:
        near = difflib.get_close_matches(name, known, n=1)
        named.append(f"field {name!r}" + (f" (did you mean {near[0]!r}?)" if near else ""))
    return ", ".join(named)


class CheckConsent:
    """A consent artefact the hub granted, still active, covers subject, grantee, purpose,
    service and fields — or the query names a legal basis instead, which the policy rule
    must then rest on (checked by Authorize)."""

    name = "consent"

    def __init__(self, verifier: ConsentVerifier, registry: RegistrySnapshot) -> None:
        self._verifier = verifier
        self._registry = registry

    async def __call__(self, x: Exchange) -> None:
        assert x.body is not None
        if x.body.HasField("legal_basis"):
            if x.body.consent:
                raise Refusal("MALFORMED_REQUEST", "a query rests on consent or a legal basis")
            x.legal_basis = _checked_legal_basis(x.body.legal_basis)
            return
        if not x.body.consent:
            raise Refusal("CONSENT_MISSING", "no consent artefact")
        # ConsentError is a Refusal: it carries its own reason.
        artefact = self._verifier.verify(x.body.consent)
        x.consent = artefact
        record = await self._registry.read_consent(artefact.consent_id)
        # The portal's signature alone is not enough: the hub honours only the very
        # artefact it registered under that id (not another one the portal signed).
        if (
            record is None
            or record.status not in (ACTIVE, REVOKED)
            or record.artefact_digest != artefact_digest(x.body.consent)
        ):
            raise Refusal(
                "CONSENT_UNKNOWN", f"consent {artefact.consent_id} was not granted through the hub"
            )
        check_covers(
            artefact,
            subject=x.body.subject,
            grantee=x.member_id,
            purpose=x.body.purpose,
            service=x.body.service_id,
            fields=x.body.fields,
            now=datetime.datetime.fromtimestamp(x.received_at, datetime.UTC),
            revoked=record.status == REVOKED,
        )


def _checked_legal_basis(basis: exchange_pb2.LegalBasis) -> exchange_pb2.LegalBasis:
    """The basis, if its texts are fit for the audit record: they are kept verbatim for the
    officers who review break-glass queries, so they must not carry a NIK."""
    justification = basis.justification.strip()
    if len(justification) < _JUSTIFICATION_MIN:
        raise Refusal(
            "JUSTIFICATION_REQUIRED",
            f"a break-glass query needs a justification of at least {_JUSTIFICATION_MIN} "
            "characters for the officers who review it",
        )
    for name, text, limit in (
        ("justification", justification, _JUSTIFICATION_MAX),
        ("legal reference", basis.reference, _REFERENCE_MAX),
    ):
        # An empty reference would be refused as LEGAL_BASIS_MISMATCH only later, and
        # is malformed whatever the rule says.
        if not 0 < len(text) <= limit or not is_printable(text):
            raise Refusal("MALFORMED_REQUEST", f"{name}: 1..{limit} printable characters")
        if may_hold_nik(text):
            raise Refusal("MALFORMED_REQUEST", f"{name} must not hold a NIK")
    return exchange_pb2.LegalBasis(reference=basis.reference, justification=justification)


class Authorize:
    """The policy releases every requested field (deny by default)."""

    name = "authorize"

    def __init__(self, policies: Callable[[], PolicySet]) -> None:
        # A callable, so a reloaded policy set is picked up by the next query.
        self._policies = policies

    async def __call__(self, x: Exchange) -> None:
        assert x.body is not None
        policies = self._policies()
        x.policy_version = policies.version
        decision = policies.decide(x.member_id, x.body.purpose, x.body.service_id, x.body.fields)
        x.decision = decision
        if not decision.rule_found:
            raise Refusal("NO_POLICY", "no policy rule for this client, purpose and service")
        _check_basis(decision, x.legal_basis)
        if decision.denied:
            raise Refusal(
                "FIELD_NOT_ALLOWED",
                f"the policy does not release fields {', '.join(sorted(decision.denied))}",
            )


def _check_basis(decision: Decision, claimed: exchange_pb2.LegalBasis | None) -> None:
    """The query rests on what the rule rests on: consent, or the rule's own law."""
    if decision.basis == "consent":
        if claimed is not None:
            raise Refusal("CONSENT_MISSING", "this purpose rests on consent, not a legal basis")
        return
    if claimed is None:
        raise Refusal(
            "LEGAL_BASIS_REQUIRED",
            f"this purpose rests on {decision.basis} ({decision.legal_reference}): name it "
            "and justify the query",
        )
    if claimed.reference != decision.legal_reference:
        raise Refusal("LEGAL_BASIS_MISMATCH", f"the policy rests on {decision.legal_reference!r}")


class Approve:
    """Where the rule demands two-person approval, a second member holding the approver
    role signed this very request body. An approval the rule does not ask for is ignored."""

    name = "approve"

    def __init__(
        self,
        registry: RegistrySnapshot,
        certificates: CertificateCache,
        replay: ReplayGuard,
        max_age_s: int,
        clock_skew_s: int,
    ) -> None:
        self._registry = registry
        self._certificates = certificates
        self._replay = replay
        self._max_age_s = max_age_s
        self._clock_skew_s = clock_skew_s

    async def __call__(self, x: Exchange) -> None:
        assert x.decision is not None
        if not x.decision.two_person_approval:
            return
        token = x.request.approval
        if not token:
            raise Refusal("APPROVAL_REQUIRED", "the policy demands a second person's approval")
        approver = self._approver(token, x.received_at)
        if approver.member_id == x.member_id:
            raise Refusal("APPROVAL_INVALID", "the requester cannot approve its own query")
        try:
            claims = verify_envelope(
                token,
                x.request.body,
                approver.key,
                issuer=approver.member_id,
                typ=APPROVAL_TYPE,
                serial=approver.serial,
                now=x.received_at,
                max_age_s=self._max_age_s,
                clock_skew_s=self._clock_skew_s,
                invalid_reason="APPROVAL_INVALID",
            )
        except EnvelopeError as exc:
            raise Refusal("APPROVAL_INVALID", f"approval: {exc}") from exc
        # One approval, one query: the requester can sign the same body afresh as often as
        # it likes, so without this the second person's consent would cover any number of
        # queries within the freshness window. Claimed like a request nonce (and on a
        # shared store, for every replica), once the approval is known to be genuine.
        nonce = await self._replay.claim_envelope(
            claims, self._max_age_s + self._clock_skew_s, x.received_at
        )
        if nonce is None:
            raise Refusal("APPROVAL_INVALID", "approval already used")
        x.nonces.append(nonce)
        x.approved_by = approver.member_id

    def _approver(self, token: str, now: float) -> PeerMember:
        """The registered, usable certificate the approval names (kid), with its role."""
        serial = envelope_key_id(token)
        record = self._registry.member_certificate(serial) if serial else None
        if record is None or not record.usable_at(now):
            raise Refusal("APPROVAL_INVALID", "approver certificate unknown, revoked or expired")
        approver = self._certificates.parse(record.cert_pem)
        if APPROVER not in approver.roles:
            raise Refusal("APPROVAL_INVALID", f"the approver lacks the {APPROVER} role")
        return approver


class Forward:
    """Ask the agency's connector, over mTLS with a deadline, for the allowed fields only.

    Only a server holding the route's agency's certificate is asked (``hub.routing``): any
    other is refused in the TLS handshake, before the request leaves, as
    ``CONNECTOR_UNAVAILABLE``."""

    name = "forward"

    def __init__(
        self,
        connectors: ConnectorPool,
        deadline_s: float,
        observe: Callable[[str, float, str], None] = lambda connector, seconds, failure: None,
    ) -> None:
        self._connectors = connectors
        self._deadline_s = deadline_s
        # (agency id, seconds, refusal reason or "") of every call: connector health.
        self._observe = observe

    async def __call__(self, x: Exchange) -> None:
        assert x.body is not None and x.route is not None and x.decision is not None
        request = connector_pb2.FetchRequest(
            # Not the client's request_id (it chooses it, may leave it empty or reuse it):
            # the digest of the signed request is unique to this exchange.
            request_id=x.request_digest,
            service_id=x.route.service_id,
            subject=x.body.subject,
            fields=list(x.decision.releases),
        )
        started = perf_counter()
        try:
            response = await self._connectors.fetch(
                x.route.endpoint, x.route.agency_id, request, self._deadline_s
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                refusal = Refusal("CONNECTOR_TIMEOUT", f"no answer in {self._deadline_s}s")
            else:
                refusal = Refusal("CONNECTOR_UNAVAILABLE", f"connector said {exc.code().name}")
            self._observe(x.route.agency_id, perf_counter() - started, refusal.reason)
            raise refusal from exc
        self._observe(x.route.agency_id, perf_counter() - started, "")
        x.agency_response = response


class VerifyAgency:
    """The response is signed by the service's agency and answers this very request;
    fields that were not asked for are dropped."""

    name = "verify"

    def __init__(
        self,
        registry: RegistrySnapshot,
        certificates: CertificateCache,
        max_age_s: int,
        clock_skew_s: int,
    ) -> None:
        self._registry = registry
        self._certificates = certificates
        self._max_age_s = max_age_s
        self._clock_skew_s = clock_skew_s

    async def __call__(self, x: Exchange) -> None:
        assert x.route is not None and x.body is not None and x.decision is not None
        response = x.agency_response
        assert response is not None
        self._check_signature(response, x.route.agency_id, x.received_at)
        try:
            result = connector_pb2.FetchResult.FromString(response.body)
        except DecodeError as exc:
            raise Refusal("AGENCY_RESPONSE_INVALID", "body is not a FetchResult") from exc
        if (
            result.request_id != x.request_digest
            or result.service_id != x.route.service_id
            or result.agency_id != x.route.agency_id
        ):
            raise Refusal("AGENCY_RESPONSE_INVALID", "response answers another request")
        wanted = x.decision.releases
        x.dropped = sorted(name for name in result.fields if name not in wanted)
        for name in x.dropped:
            del result.fields[name]
        x.fetched = result

    def _check_signature(
        self, response: connector_pb2.FetchResponse, agency_id: str, now: float
    ) -> None:
        record = self._signer(response.signature, agency_id, now)
        if record is None:
            raise Refusal("AGENCY_SIGNATURE_INVALID", "not signed by the service's agency")
        key = self._certificates.parse(record.cert_pem).key
        try:
            verify_envelope(
                response.signature,
                response.body,
                key,
                issuer=agency_id,
                typ=RESPONSE_TYPE,
                serial=record.serial,
                now=now,
                max_age_s=self._max_age_s,
                clock_skew_s=self._clock_skew_s,
            )
        except EnvelopeError as exc:
            raise Refusal("AGENCY_SIGNATURE_INVALID", str(exc)) from exc

    def _signer(self, signature: str, agency_id: str, now: float) -> MemberCertificate | None:
        """The agency certificate whose key must verify the signature: an expired one
        vouches for nothing, even if TLS never asked."""
        candidates = [c for c in self._registry.valid_certificates(agency_id) if c.usable_at(now)]
        if len(candidates) == 1:
            # The usual case: no need to parse the JWS header for its kid first.
            return candidates[0]
        serial = envelope_key_id(signature)
        return next((c for c in candidates if c.serial == serial), None)


class Transform:
    """Each released field is transformed exactly as its policy rule says."""

    name = "transform"

    async def __call__(self, x: Exchange) -> None:
        assert x.fetched is not None and x.decision is not None
        today = datetime.datetime.fromtimestamp(x.received_at, WIB).date()
        rules = x.decision.releases
        try:
            values = x.decision.apply(
                {name: from_wire(value) for name, value in x.fetched.fields.items()}, today=today
            )
        except (PolicyValueError, ValueError) as exc:
            # Refuse rather than release a value the rule was not written for.
            raise Refusal("AGENCY_RESPONSE_INVALID", "a field does not fit its rule") from exc
        released = [
            exchange_pb2.ReleasedField(
                name=name,
                treatment=TREATMENTS[rules[name].treatment],
                detail=rules[name].detail,
                value=to_wire(value),
            )
            for name, value in values.items()
        ]
        x.released = released


def build_stages(
    *,
    identify: Identify,
    registry: RegistrySnapshot,
    certificates: CertificateCache,
    replay: ReplayGuard,
    consents: ConsentVerifier,
    policies: Callable[[], PolicySet],
    connectors: ConnectorPool,
    max_age_s: int,
    clock_skew_s: int,
    connector_deadline_s: float,
    observe_connector: Callable[[str, float, str], None],
) -> tuple[Stage, ...]:
    """The query pipeline's stages, in the order the module docstring gives.

    ``identify`` is passed in because the hub uses the same one for its other calls;
    ``observe_connector`` gets (agency id, seconds, refusal reason or "") of every fetch.
    """
    return (
        identify,
        Decode(),
        Authenticate(replay, max_age_s, clock_skew_s),
        Resolve(registry),
        CheckConsent(consents, registry),
        Authorize(policies),
        Approve(registry, certificates, replay, max_age_s, clock_skew_s),
        Forward(connectors, connector_deadline_s, observe_connector),
        VerifyAgency(registry, certificates, max_age_s, clock_skew_s),
        Transform(),
    )
