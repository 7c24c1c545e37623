"""Small honest fakes for testing each pipeline stage alone: no sockets, no processes.

What a stage checks is always real (real certificates from ``hub.pki``, real ES256 and
Ed25519 signatures, the real ``RegistrySnapshot``, ``ReplayGuard``, ``ConsentVerifier``
and ``PolicySet``); only what lies behind it is faked: the registry's storage (a few
dicts), the connector pool (an object that answers or fails as told) and the clock (one
fixed moment, ``NOW``).
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent.artefact import ConsentVerifier, artefact_digest, grant, sign_consent
from hub.home import CONSENT_MANAGER_ID
from hub.pipeline.exchange import Exchange, Peer
from hub.pipeline.stages import Stage
from hub.pki import CertificateAuthority
from hub.store.base import ACTIVE, ConsentRecord, MemberCertificate, ServiceRoute
from hub.store.snapshot import RegistrySnapshot
from jembatan.catalogue import FieldSpec
from jembatan.certs import APPROVER, make_csr
from jembatan.errors import Refusal
from jembatan.jws import APPROVAL_TYPE, REQUEST_TYPE, RESPONSE_TYPE, sign_envelope
from jembatan.keys import cert_to_pem, generate_key
from jembatan.v1 import connector_pb2, exchange_pb2
from jembatan.values import FieldValue, to_wire
from policies import FieldRule, PolicySet, Rule

# The fixed clock: 18:00 UTC is already the next day (01:00) in WIB, so a stage that
# took "today" in UTC rather than in Jakarta would be caught.
NOW_DT = datetime.datetime(2026, 10, 31, 18, 0, tzinfo=datetime.UTC)
NOW = NOW_DT.timestamp()
# The hub's defaults: the freshness window, and the clock skew allowed either way.
MAX_AGE_S, CLOCK_SKEW_S = 60, 30

CLIENT_ID = "ID/GOV/KEMENSOS/eligibility"
OTHER_CLIENT_ID = "ID/GOV/KEMENSOS/research"
APPROVER_ID = "ID/GOV/KEMENSOS/supervisor"
AGENCY_ID = "ID/GOV/BPJSTK/wages"
SERVICE_ID = "ID/GOV/BPJSTK/wages/employment"
OTHER_SERVICE_ID = "ID/GOV/BPJSTK/wages/wage-band"
ENDPOINT = "connector.bpjstk.example:7443"
PURPOSE = "bansos-eligibility"
BREAK_GLASS_PURPOSE = "disaster-relief"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
JUSTIFICATION = "Flood in Demak: locating displaced recipients"
NIK = "3510000000000001"
OTHER_NIK = "3510000000000002"
FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")


# --- certificates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A member's key and the certificate the test CA issued for it."""

    member_id: str
    key: ec.EllipticCurvePrivateKey
    cert_pem: bytes
    serial: str  # hex, as the registry keys it
    not_after: str

    def record(
        self,
        *,
        revoked_at: str | None = None,
        not_after: str | None = None,
        member_id: str | None = None,
    ) -> MemberCertificate:
        """This certificate as the registry holds it (optionally revoked, expired, or
        registered under another member)."""
        return MemberCertificate(
            self.serial,
            member_id or self.member_id,
            self.cert_pem,
            not_after or self.not_after,
            revoked_at,
        )


CA = CertificateAuthority.create(now=NOW_DT)


def issue(member_id: str, roles: Sequence[str] = ()) -> Member:
    key = generate_key()
    cert = CA.issue(make_csr(key, member_id), member_id, roles=roles, now=NOW_DT)
    return Member(
        member_id,
        key,
        cert_to_pem(cert),
        format(cert.serial_number, "x"),
        cert.not_valid_after_utc.isoformat(),
    )


CLIENT = issue(CLIENT_ID)
OTHER_CLIENT = issue(OTHER_CLIENT_ID)
APPROVER_MEMBER = issue(APPROVER_ID, roles=[APPROVER])
# The requester itself holding the approver role: it still cannot approve its own query.
CLIENT_APPROVER = issue(CLIENT_ID, roles=[APPROVER])
AGENCY = issue(AGENCY_ID)
# The agency's renewed certificate, registered beside the first while the renewal overlaps.
AGENCY_RENEWED = issue(AGENCY_ID)
EXPIRED = (NOW_DT - datetime.timedelta(seconds=1)).isoformat()


# --- the registry --------------------------------------------------------------------------


@dataclass
class FakeRegistry:
    """The registry storage ``RegistrySnapshot`` reads: dicts, and a generation counter
    that every change bumps (as the real stores do)."""

    certificates: dict[str, MemberCertificate] = field(default_factory=dict)
    routes: dict[str, ServiceRoute] = field(default_factory=dict)
    consents: dict[str, ConsentRecord] = field(default_factory=dict)
    _generation: int = 0

    def add(self, cert: MemberCertificate) -> FakeRegistry:
        self.certificates[cert.serial] = cert
        self._generation += 1
        return self

    def route(self, route: ServiceRoute) -> FakeRegistry:
        self.routes[route.service_id] = route
        self._generation += 1
        return self

    def put_consent(self, record: ConsentRecord) -> FakeRegistry:
        self.consents[record.consent_id] = record
        return self

    def snapshot(self) -> RegistrySnapshot:
        """A snapshot as the stages after identify see it: refreshed by identify."""
        snapshot = RegistrySnapshot(self)
        snapshot.refresh()
        return snapshot

    # What RegistrySnapshot reads.

    def generation(self) -> int:
        return self._generation

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]:
        return [
            c for c in self.certificates.values() if member_id is None or c.member_id == member_id
        ]

    def services(self) -> list[ServiceRoute]:
        return list(self.routes.values())

    def consent(self, consent_id: str) -> ConsentRecord | None:
        return self.consents.get(consent_id)


def employment_route(*, enabled: bool = True) -> ServiceRoute:
    catalogue = [asdict(FieldSpec(name, "text", name, "personal")) for name in FIELDS]
    return ServiceRoute(SERVICE_ID, AGENCY_ID, ENDPOINT, json.dumps(catalogue), enabled=enabled)


# --- requests --------------------------------------------------------------------------------


def query_body(**overrides: object) -> exchange_pb2.QueryBody:
    """A well-formed body: the eligibility service asking BPJSTK about NIK."""
    values: dict[str, object] = {
        "client_id": CLIENT_ID,
        "service_id": SERVICE_ID,
        "subject": NIK,
        "purpose": PURPOSE,
        "fields": list(FIELDS),
        "request_id": "case-17:a",
    }
    values.update(overrides)
    return exchange_pb2.QueryBody(**values)


def sign(
    body: bytes,
    signer: Member,
    *,
    typ: str = REQUEST_TYPE,
    issuer: str | None = None,
    at: float = NOW,
    ttl_s: int = 30,
    kid: bool = False,
) -> str:
    """A compact JWS over ``body`` by ``signer``'s key, as a member would make it."""
    return sign_envelope(
        body,
        signer.key,
        issuer=signer.member_id if issuer is None else issuer,
        typ=typ,
        ttl_s=ttl_s,
        key_id=signer.serial if kid else None,
        now=at,
    )


def signed_request(
    body: exchange_pb2.QueryBody | bytes, signer: Member = CLIENT, **signing: Any
) -> exchange_pb2.QueryRequest:
    """``body`` as a member sends it, signed (``signing`` as ``sign`` takes it)."""
    data = body if isinstance(body, bytes) else body.SerializeToString()
    return exchange_pb2.QueryRequest(body=data, signature=sign(data, signer, **signing))


def approval(body: bytes, approver: Member = APPROVER_MEMBER, **signing: Any) -> str:
    """A second member's approval of a request body: unless ``signing`` (as ``sign`` takes
    it) says otherwise, an approval envelope whose kid names the approver's certificate."""
    return sign(body, approver, **{"typ": APPROVAL_TYPE, "kid": True, **signing})


def with_unknown_field(data: bytes) -> bytes:
    """``data`` plus field 99, length-delimited, value b"x": a tag no message here defines."""
    tag = 99 << 3 | 2
    return data + bytes([tag & 0x7F | 0x80, tag >> 7, 1]) + b"x"


def exchange(
    request: exchange_pb2.QueryRequest | bytes = b"",
    *,
    peer: Member | None = CLIENT,
    received_at: float = NOW,
    **filled: object,
) -> Exchange:
    """An exchange as it reaches a stage: ``filled`` sets what earlier stages would have."""
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    x = Exchange(raw, Peer(None if peer is None else peer.cert_pem), received_at)
    if isinstance(request, exchange_pb2.QueryRequest):
        x.request = request
    for name, value in filled.items():
        setattr(x, name, value)  # slots: a misspelt field name fails here
    return x


def identified(
    request: exchange_pb2.QueryRequest, member: Member = CLIENT, **filled: object
) -> Exchange:
    """An exchange past identify and decode: the caller is ``member``."""
    return exchange(
        request,
        peer=member,
        member_id=member.member_id,
        certificate_serial=member.serial,
        member_key=member.key.public_key(),
        **filled,
    )


def authorized_query(released: Sequence[str] = FIELDS) -> Exchange:
    """The everyday query as authorize leaves it: routed, and decided by ``policy_set()``
    to release ``released``."""
    body = query_body()
    return exchange(
        signed_request(body),
        body=body,
        route=employment_route(),
        decision=policy_set().decide(CLIENT_ID, PURPOSE, SERVICE_ID, list(released)),
    )


async def refusal(stage: Stage, x: Exchange) -> str:
    """The reason ``stage`` refuses ``x`` with (the test fails if it passes)."""
    with pytest.raises(Refusal) as info:
        await stage(x)
    return info.value.reason


# --- consents ----------------------------------------------------------------------------------


class ConsentManager:
    """The consent portal: signs artefacts with its own Ed25519 key."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()

    def verifier(self) -> ConsentVerifier:
        return ConsentVerifier(self.key.public_key(), issuer=CONSENT_MANAGER_ID)

    def artefact(
        self,
        *,
        subject: str = NIK,
        grantee: str = CLIENT_ID,
        purpose: str = PURPOSE,
        services: Mapping[str, Sequence[str]] | None = None,
        start: datetime.datetime = NOW_DT - datetime.timedelta(days=1),
        valid_for: datetime.timedelta = datetime.timedelta(days=30),
        consent_id: str | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> str:
        artefact = grant(
            issuer=CONSENT_MANAGER_ID,
            subject=subject,
            grantee=grantee,
            purpose=purpose,
            services={SERVICE_ID: FIELDS} if services is None else services,
            valid_for=valid_for,
            now=start,
            consent_id=consent_id or str(uuid.uuid4()),
        )
        return sign_consent(artefact, key or self.key)


def consent_record(token: str, consent_id: str, *, status: str = ACTIVE) -> ConsentRecord:
    """What the hub stored when it granted ``token`` (the artefact's digest, never the NIK)."""
    return ConsentRecord(
        consent_id=consent_id,
        subject="pseudonym",
        grantee=CLIENT_ID,
        purpose=PURPOSE,
        purpose_text="",
        requested={SERVICE_ID: FIELDS},
        valid_for_s=30 * 86400,
        data_life_s=86400,
        requested_at="",
        respond_by="",
        status=status,
        artefact_digest=artefact_digest(token),
    )


# --- policies ----------------------------------------------------------------------------------

EMPLOYMENT_RULE = Rule(
    CLIENT_ID,
    PURPOSE,
    SERVICE_ID,
    {
        "employment_status": FieldRule.raw("employment_status"),
        "employer": FieldRule.masked("employer"),
        "monthly_wage": FieldRule.bucketed("monthly_wage", [1000000, 3000000]),
        "termination_date": FieldRule.predicate("termination_date", "within_days", 90),
    },
)
# Break-glass: a legal obligation instead of consent, and a second person's approval.
BREAK_GLASS_RULE = Rule(
    CLIENT_ID,
    BREAK_GLASS_PURPOSE,
    SERVICE_ID,
    {"employment_status": FieldRule.raw("employment_status")},
    basis="legal-obligation",
    legal_reference=LAW,
    two_person_approval=True,
)


def policy_set(*rules: Rule, version: str = "sha256:test") -> PolicySet:
    return PolicySet(rules or (EMPLOYMENT_RULE, BREAK_GLASS_RULE), version)


def legal_basis(
    reference: str = LAW, justification: str = JUSTIFICATION
) -> exchange_pb2.LegalBasis:
    return exchange_pb2.LegalBasis(reference=reference, justification=justification)


# --- the agency and its connector --------------------------------------------------------------


def fetch_result(x: Exchange, fields: Mapping[str, FieldValue], **overrides: object) -> bytes:
    """The agency's answer to ``x``, serialized (what it signs)."""
    values: dict[str, object] = {
        "request_id": x.request_digest,
        "service_id": SERVICE_ID,
        "agency_id": AGENCY_ID,
        "subject_found": True,
    }
    values.update(overrides)
    result = connector_pb2.FetchResult(**values)
    for name, value in fields.items():
        result.fields[name].CopyFrom(to_wire(value))
    return result.SerializeToString()


def agency_response(
    body: bytes, signer: Member = AGENCY, **signing: Any
) -> connector_pb2.FetchResponse:
    """The connector's signed answer: its body signed by ``signer`` (the agency), in a
    response envelope unless ``signing`` (as ``sign`` takes it) says otherwise."""
    signature = sign(body, signer, **{"typ": RESPONSE_TYPE, **signing})
    return connector_pb2.FetchResponse(body=body, signature=signature)


@dataclass
class Fetch:
    endpoint: str
    agency_id: str
    request: connector_pb2.FetchRequest
    deadline_s: float


class FakeConnectors:
    """Stands in for ``hub.routing.ConnectorPool``: records each fetch, then answers with
    ``answer(request)`` or fails with the gRPC status ``fail``, as a channel would."""

    def __init__(
        self,
        answer: Callable[[connector_pb2.FetchRequest], connector_pb2.FetchResponse] | None = None,
        fail: grpc.StatusCode | None = None,
    ) -> None:
        self._answer = answer
        self._fail = fail
        self.fetches: list[Fetch] = []

    async def fetch(
        self,
        endpoint: str,
        agency_id: str,
        request: connector_pb2.FetchRequest,
        deadline_s: float,
    ) -> connector_pb2.FetchResponse:
        self.fetches.append(Fetch(endpoint, agency_id, request, deadline_s))
        if self._fail is not None:
            raise grpc.aio.AioRpcError(
                self._fail, grpc.aio.Metadata(), grpc.aio.Metadata(), details="fake"
            )
        assert self._answer is not None
        return self._answer(request)
