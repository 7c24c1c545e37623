"""Every refusal of the query path, through the real hub process over real mTLS.

Each refusal is answered with its exact gRPC status and reason, releases nothing, and leaves
exactly one REFUSED audit record with the precise reason; a caller the hub cannot identify
learns only UNAUTHENTICATED. Calls that never reach the hub (TLS failures) leave no record.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE
from connectors.dukcapil.adapter import IDENTITY_SERVICE
from consent.artefact import sign_revocation
from hub.home import CONSENT_MANAGER_ID
from hub.pki import CertificateAuthority
from hub.provisioning import issue, revoke_certificate
from hub.store.sqlite import SqliteRegistry
from jembatan.certs import make_csr
from jembatan.client import HubClient, HubUnreachable, QueryAnswer, QueryRefused
from jembatan.errors import REASON_METADATA_KEY
from jembatan.jws import REQUEST_TYPE, RESPONSE_TYPE, body_digest, sign_envelope
from jembatan.keys import (
    cert_to_pem,
    generate_key,
    key_to_pem,
    load_cert_pem,
    load_ed25519_public_pem,
    load_key_pem,
    serial_text,
)
from jembatan.v1 import exchange_pb2, exchange_pb2_grpc
from tests.pipeline.fakes import with_unknown_field
from tests.stack import (
    ELIGIBILITY_ID,
    EMPLOYMENT_FIELDS,
    Stack,
    employment_body,
    employment_query,
)

OTHER_MEMBER_ID = "ID/GOV/KEMENSOS/other-service"
RESEARCH_ID = "ID/GOV/KEMENSOS/research"
UNKNOWN_SERVICE = "ID/GOV/BPJSTK/wages/pensions"
RESEARCH_PURPOSE = "research-statistics"
UNAUTH = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED
INVALID = grpc.StatusCode.INVALID_ARGUMENT

# Every NIK a case below sends, for the leak check at the end.
USED_NIKS: set[str] = set()


# --- helpers ---------------------------------------------------------------------------------


def _employers(stack: Stack) -> set[str]:
    return {record.employer for record in stack.population.bpjstk.values()}


def _nik(stack: Stack, which: str = "employed") -> str:
    nik: str = getattr(stack.people, which)
    USED_NIKS.add(nik)
    return nik


def _member_key(stack: Stack, member_id: str) -> ec.EllipticCurvePrivateKey:
    key = load_key_pem(stack.member(member_id).key_pem)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(body: bytes, issuer: str = ELIGIBILITY_ID) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": issuer,
        "iat": now,
        "exp": now + 30,
        "jti": _b64(hashlib.sha256(f"{time.monotonic_ns()}".encode()).digest()[:16]),
        "body_sha256": body_digest(body),
    }


def _unsigned_jws(header: dict[str, object], claims: dict[str, object]) -> str:
    head = _b64(json.dumps(header, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{payload}"


def _signed_bytes(
    stack: Stack,
    data: bytes,
    *,
    key_of: str = ELIGIBILITY_ID,
    typ: str = REQUEST_TYPE,
) -> exchange_pb2.QueryRequest:
    """Arbitrary bytes as a request body, signed as the eligibility service: correctly, unless
    with another member's key (``key_of``) or as another type of envelope (``typ``)."""
    signature = sign_envelope(
        data, _member_key(stack, key_of), issuer=ELIGIBILITY_ID, typ=typ, ttl_s=30
    )
    return exchange_pb2.QueryRequest(body=data, signature=signature)


def _data(stack: Stack, client: HubClient) -> bytes:
    """A well-formed body's bytes (``_body``), as they are signed."""
    return _body(stack, client).SerializeToString(deterministic=True)


def _body(
    stack: Stack,
    client: HubClient,
    subject: str | None = None,
    consent: str | None = None,
    **changes: Any,
) -> exchange_pb2.QueryBody:
    """A well-formed body (``employment_body``, but for ``changes``); by default about the
    employed NIK, under a consent granted for the body's own service and fields."""
    subject = _nik(stack) if subject is None else subject
    fields = changes.pop("fields", EMPLOYMENT_FIELDS)
    if consent is None:
        consent, _ = stack.consent(subject, changes.get("service_id", EMPLOYMENT_SERVICE), fields)
    return employment_body(client, subject, consent, fields, **changes)


def _under_consent(
    stack: Stack, client: HubClient, granted: Mapping[str, Any], **body: Any
) -> exchange_pb2.QueryRequest:
    """A signed query (``_body`` changed by ``body``) about the employed NIK, under a consent
    granted for it as ``Stack.consent`` takes ``granted``: one that may not cover the query."""
    nik = _nik(stack)
    token, _ = stack.consent(nik, **granted)
    return client.sign(_body(stack, client, subject=nik, consent=token, **body))


def _assert_no_value_leaks(stack: Stack, refused: QueryRefused) -> None:
    text = refused.message + refused.reason
    for nik in USED_NIKS | {_nik(stack)}:
        assert nik not in text
    for employer in _employers(stack):
        assert employer not in text


async def expect_refusal(
    stack: Stack,
    call: Callable[[], Awaitable[object]],
    status: grpc.StatusCode,
    reason: str,
    *,
    audit_reason: str | None = None,
    audit_status: grpc.StatusCode | None = None,
) -> QueryRefused:
    """Run ``call``; it must be refused as (status, reason) with exactly one REFUSED record."""
    before = stack.log_size()
    # The call raising is what shows nothing, and so no field value, was returned.
    with pytest.raises(QueryRefused) as info:
        await call()
    refused = info.value
    assert (refused.status, refused.reason) == (status, reason), refused
    _assert_no_value_leaks(stack, refused)
    assert stack.log_size() == before + 1
    records = stack.records(before)
    assert len(records) == 1
    record = records[0]
    assert record.decision == "REFUSED"
    assert record.reason == (audit_reason or reason)
    assert record.status == (audit_status or status).name
    assert record.fields_released == ()
    assert record.response_digest == ""
    return refused


async def expect_released(stack: Stack, client: HubClient, nik: str) -> QueryAnswer:
    token, _ = stack.consent(nik)
    before = stack.log_size()
    answer = await employment_query(client, nik, token)
    assert answer.subject_found
    # An employed person has no termination date: the agency leaves that field out.
    assert "employment_status" in answer.fields
    assert set(answer.fields) <= set(EMPLOYMENT_FIELDS)
    records = stack.records(before)
    assert [r.decision for r in records] == ["RELEASED"]
    return answer


def _client_from(stack: Stack, key: ec.EllipticCurvePrivateKey, cert_pem: bytes) -> HubClient:
    return HubClient(
        stack.address,
        key_pem=key_to_pem(key),
        cert_pem=cert_pem,
        ca_pem=stack.home.ca_cert.read_bytes(),
        log_key=load_ed25519_public_pem(stack.home.log_public_key.read_bytes()),
    )


def _unregistered_certificate(stack: Stack) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """Issued by the hub CA for the eligibility member, but never recorded in the registry."""
    key = generate_key()
    ca = CertificateAuthority.load(stack.home.ca_dir)
    cert = ca.issue(make_csr(key, ELIGIBILITY_ID), ELIGIBILITY_ID)
    return key, cert_to_pem(cert)


def _registered_certificate(stack: Stack) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A second, registered certificate for the eligibility member (so policy applies)."""
    key = generate_key()
    cert = issue(stack.home, make_csr(key, ELIGIBILITY_ID), ELIGIBILITY_ID)
    return key, cert_to_pem(cert)


async def _raw_query(
    stack: Stack, credentials: grpc.ChannelCredentials, request: exchange_pb2.QueryRequest
) -> grpc.aio.AioRpcError:
    """Call Query on a bare channel and return the error it must end with."""
    async with grpc.aio.secure_channel(stack.address, credentials) as channel:
        stub = exchange_pb2_grpc.ExchangeStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.Query(request, timeout=5)
    return info.value


def _assert_told_only_unauthenticated(error: grpc.aio.AioRpcError, serial: str) -> None:
    assert error.code() == UNAUTH
    trailing = tuple(error.trailing_metadata() or ())
    initial = tuple(error.initial_metadata() or ())
    assert (REASON_METADATA_KEY, "UNAUTHENTICATED") in trailing
    # The rich status says no more: the generic reason, and no stage.
    status = rpc_status.from_call(error)
    assert status is not None and len(status.details) == 1
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain, status.message) == (
        "UNAUTHENTICATED",
        "jembatan",
        "caller not identified",
    )
    assert dict(info.metadata) == {"category": "CALL_SUPPORT", "retryable": "false"}
    told = " ".join(
        [error.details() or ""]
        + [f"{k}={v!r}" for k, v in trailing]
        + [f"{k}={v!r}" for k, v in initial]
    ).lower()
    for secret in ("cert_unknown", "cert_revoked", "revoked", "not registered", serial.lower()):
        assert secret not in told, told


# --- TLS: the call never reaches the pipeline ------------------------------------------------


async def test_no_client_certificate_fails_the_handshake_unrecorded(stack: Stack) -> None:
    async with stack.client() as client:
        request = client.sign(_body(stack, client))
    before = stack.log_size()  # after the consent's grant, itself recorded
    credentials = grpc.ssl_channel_credentials(root_certificates=stack.home.ca_cert.read_bytes())
    error = await _raw_query(stack, credentials, request)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert stack.log_size() == before


async def test_certificate_from_another_ca_fails_the_handshake_unrecorded(stack: Stack) -> None:
    rogue_ca = CertificateAuthority.create(common_name="Rogue CA")
    key = generate_key()
    cert_pem = cert_to_pem(rogue_ca.issue(make_csr(key, ELIGIBILITY_ID), ELIGIBILITY_ID))
    async with _client_from(stack, key, cert_pem) as client:
        request = client.sign(_body(stack, client))
        before = stack.log_size()  # after the consent's grant, itself recorded
        # The hub never decided anything: the SDK says it could not be reached, not "refused".
        with pytest.raises(HubUnreachable) as info:
            await client.send(request)
    assert info.value.status == grpc.StatusCode.UNAVAILABLE
    assert stack.log_size() == before


# --- identify ----------------------------------------------------------------------------------


async def test_unregistered_certificate_is_told_only_unauthenticated(stack: Stack) -> None:
    key, cert_pem = _unregistered_certificate(stack)
    async with _client_from(stack, key, cert_pem) as client:
        request = client.sign(_body(stack, client))
        refused = await expect_refusal(
            stack,
            lambda: client.send(request),
            UNAUTH,
            "UNAUTHENTICATED",
            audit_reason="CERT_UNKNOWN",
        )
    assert refused.message == "caller not identified"


async def test_revoked_certificate_is_refused_on_the_very_next_call(stack: Stack) -> None:
    key, cert_pem = _registered_certificate(stack)
    serial = serial_text(load_cert_pem(cert_pem))
    async with _client_from(stack, key, cert_pem) as client:
        await expect_released(stack, client, _nik(stack))
        body = _body(stack, client)  # its consent granted before the count starts
        revoke_certificate(stack.home, serial, "test")
        refused = await expect_refusal(
            stack,
            lambda: client.send(client.sign(body)),
            UNAUTH,
            "UNAUTHENTICATED",
            audit_reason="CERT_REVOKED",
        )
    assert refused.message == "caller not identified"


@pytest.mark.parametrize("case", ["unregistered", "revoked"])
async def test_unidentified_caller_never_sees_the_precise_reason(stack: Stack, case: str) -> None:
    if case == "unregistered":
        key, cert_pem = _unregistered_certificate(stack)
    else:
        key, cert_pem = _registered_certificate(stack)
        revoke_certificate(stack.home, serial_text(load_cert_pem(cert_pem)), "t")
    serial = serial_text(load_cert_pem(cert_pem))
    async with _client_from(stack, key, cert_pem) as client:
        request = client.sign(_body(stack, client))
    credentials = grpc.ssl_channel_credentials(
        stack.home.ca_cert.read_bytes(), key_to_pem(key), cert_pem
    )
    before = stack.log_size()
    error = await _raw_query(stack, credentials, request)
    _assert_told_only_unauthenticated(error, serial)
    records = stack.records(before)
    assert [(r.decision, r.reason) for r in records] == [
        ("REFUSED", "CERT_UNKNOWN" if case == "unregistered" else "CERT_REVOKED")
    ]
    # The officer reading the log can tell which certificate was refused.
    assert (records[0].client_id, records[0].client_certificate) == (ELIGIBILITY_ID, serial)


@pytest.mark.parametrize("rpc", ["list_services", "revoke_consent"])
async def test_unregistered_certificate_is_refused_by_the_other_rpcs(
    stack: Stack, rpc: str
) -> None:
    key, cert_pem = _unregistered_certificate(stack)
    _, consent_id = stack.consent(_nik(stack))
    revocation = sign_revocation(consent_id, stack.consent_key, issuer=CONSENT_MANAGER_ID)
    async with _client_from(stack, key, cert_pem) as client:
        with pytest.raises(QueryRefused) as info:
            if rpc == "list_services":
                await client.list_services()
            else:
                await client.revoke_consent(revocation)
    assert (info.value.status, info.value.reason) == (UNAUTH, "UNAUTHENTICATED")
    assert info.value.message == "caller not identified"
    with stack.registry() as registry:
        assert _state(registry, consent_id) == "ACTIVE"


# --- one signed request, refused at authenticate, resolve or consent ----------------------------

Build = Callable[[Stack, HubClient], exchange_pb2.QueryRequest]


@dataclass(frozen=True)
class Case:
    id: str
    build: Build
    status: grpc.StatusCode
    reason: str


def _client_id_mismatch(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    body = _body(stack, client)
    body.client_id = OTHER_MEMBER_ID
    return client.sign(body)


def _signed_by_another_member(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    # Another member's key, claiming to be the eligibility service.
    return _signed_bytes(stack, _data(stack, client), key_of=OTHER_MEMBER_ID)


def _body_altered_after_signing(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    request = client.sign(_body(stack, client))
    body = exchange_pb2.QueryBody.FromString(request.body)
    body.fields.remove("monthly_wage")
    request.body = body.SerializeToString(deterministic=True)
    return request


def _alg_none(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    data = _data(stack, client)
    token = _unsigned_jws({"alg": "none", "typ": REQUEST_TYPE}, _claims(data)) + "."
    return exchange_pb2.QueryRequest(body=data, signature=token)


def _alg_hs256_with_public_key(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    # The classic confusion attack: HMAC keyed with the caller's (public) certificate.
    data = _data(stack, client)
    signing_input = _unsigned_jws({"alg": "HS256", "typ": REQUEST_TYPE}, _claims(data))
    mac = hmac.new(stack.member(ELIGIBILITY_ID).cert_pem, signing_input.encode(), hashlib.sha256)
    return exchange_pb2.QueryRequest(body=data, signature=f"{signing_input}.{_b64(mac.digest())}")


def _wrong_typ(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _signed_bytes(stack, _data(stack, client), typ=RESPONSE_TYPE)


def _stale(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return client.sign(_body(stack, client), now=time.time() - 3600)


def _future(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return client.sign(_body(stack, client), now=time.time() + 3600)


def _not_a_query_body(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    # Field 1 (client_id), length-delimited, claims 127 bytes but carries 3: truncated.
    return _signed_bytes(stack, b"\x0a\x7fabc")


def _unknown_field(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    data = _data(stack, client)
    return _signed_bytes(stack, with_unknown_field(data))


def _empty_fields(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _under_consent(stack, client, {}, fields=())


def _duplicate_fields(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _under_consent(stack, client, {}, fields=("employment_status", "employment_status"))


def _invalid_subject(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    nik = _nik(stack)
    token, _ = stack.consent(nik)
    return client.sign(_body(stack, client, subject=nik[:15], consent=token))


def _unknown_service(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return client.sign(_body(stack, client, service_id=UNKNOWN_SERVICE))


def _consent_missing(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return client.sign(_body(stack, client, consent=""))


def _consent_wrong_key(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _under_consent(stack, client, {"key": Ed25519PrivateKey.generate(), "register": False})


def _consent_garbage(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return client.sign(_body(stack, client, consent="this.is-not-a.consent"))


def _consent_expired(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    nik = _nik(stack)
    token, _ = stack.expired_consent(nik)
    return client.sign(_body(stack, client, subject=nik, consent=token))


def _consent_not_granted(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    # Signed by the consent manager all right, but never granted through the hub.
    return _under_consent(stack, client, {"register": False})


def _consent_not_the_granted_artefact(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    # A second artefact under a granted one's id, signed by the portal, wider in fields.
    nik = _nik(stack)
    _, consent_id = stack.consent(nik, fields=("employment_status",))
    token, _ = stack.consent(nik, consent_id=consent_id, register=False)
    return client.sign(_body(stack, client, subject=nik, consent=token))


def _consent_other_subject(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    token, _ = stack.consent(_nik(stack, "recently_terminated"))
    return client.sign(_body(stack, client, subject=_nik(stack), consent=token))


def _consent_other_grantee(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _under_consent(stack, client, {"grantee": OTHER_MEMBER_ID})


def _consent_research_query_bansos(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _under_consent(stack, client, {"purpose": RESEARCH_PURPOSE})


def _consent_bansos_query_research(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    return _under_consent(stack, client, {}, purpose=RESEARCH_PURPOSE)


def _consent_other_service(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    wages = ("monthly_wage",)
    return _under_consent(
        stack, client, {"service": WAGE_BAND_SERVICE, "fields": wages}, fields=wages
    )


def _field_not_consented(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    fields = ("employment_status", "monthly_wage")
    return _under_consent(stack, client, {"fields": ("employment_status",)}, fields=fields)


def _misspelled_field(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    """A consent that covers the field as the caller (wrongly) spells it: the service still
    has no such field, and that, not consent, is what the caller must hear."""
    return client.sign(_body(stack, client, fields=("employment_status", "monthly_wages")))


def _field_not_allowed(stack: Stack, client: HubClient) -> exchange_pb2.QueryRequest:
    """Consented, and in the service's catalogue, but the policy does not release it."""
    return client.sign(
        _body(stack, client, service_id=IDENTITY_SERVICE, fields=("alive", "gender"))
    )


CASES = [
    Case("client-id-mismatch", _client_id_mismatch, UNAUTH, "CLIENT_ID_MISMATCH"),
    Case("signed-by-another-member", _signed_by_another_member, UNAUTH, "SIGNATURE_INVALID"),
    Case("body-altered-after-signing", _body_altered_after_signing, UNAUTH, "SIGNATURE_INVALID"),
    Case("alg-none", _alg_none, UNAUTH, "SIGNATURE_INVALID"),
    Case("alg-hs256-public-key", _alg_hs256_with_public_key, UNAUTH, "SIGNATURE_INVALID"),
    Case("wrong-typ", _wrong_typ, UNAUTH, "SIGNATURE_INVALID"),
    Case("stale-request", _stale, UNAUTH, "REQUEST_EXPIRED"),
    Case("future-request", _future, UNAUTH, "REQUEST_EXPIRED"),
    Case("not-a-query-body", _not_a_query_body, INVALID, "MALFORMED_REQUEST"),
    Case("unknown-field-99", _unknown_field, INVALID, "MALFORMED_REQUEST"),
    Case("empty-fields", _empty_fields, INVALID, "MALFORMED_REQUEST"),
    Case("duplicate-fields", _duplicate_fields, INVALID, "MALFORMED_REQUEST"),
    Case("invalid-subject", _invalid_subject, INVALID, "INVALID_SUBJECT"),
    Case("unknown-service", _unknown_service, grpc.StatusCode.NOT_FOUND, "UNKNOWN_SERVICE"),
    Case("consent-missing", _consent_missing, DENIED, "CONSENT_MISSING"),
    Case("consent-wrong-key", _consent_wrong_key, DENIED, "CONSENT_INVALID"),
    Case("consent-garbage", _consent_garbage, DENIED, "CONSENT_INVALID"),
    Case("consent-expired", _consent_expired, DENIED, "CONSENT_EXPIRED"),
    Case("consent-not-granted", _consent_not_granted, DENIED, "CONSENT_UNKNOWN"),
    Case("consent-not-the-granted", _consent_not_the_granted_artefact, DENIED, "CONSENT_UNKNOWN"),
    Case("consent-other-subject", _consent_other_subject, DENIED, "CONSENT_SUBJECT_MISMATCH"),
    Case("consent-other-grantee", _consent_other_grantee, DENIED, "CONSENT_GRANTEE_MISMATCH"),
    Case(
        "consent-research-query-bansos",
        _consent_research_query_bansos,
        DENIED,
        "CONSENT_PURPOSE_MISMATCH",
    ),
    Case(
        "consent-bansos-query-research",
        _consent_bansos_query_research,
        DENIED,
        "CONSENT_PURPOSE_MISMATCH",
    ),
    Case("consent-other-service", _consent_other_service, DENIED, "CONSENT_SERVICE_MISMATCH"),
    Case("field-not-consented", _field_not_consented, DENIED, "FIELD_NOT_CONSENTED"),
    Case("field-not-allowed-by-policy", _field_not_allowed, DENIED, "FIELD_NOT_ALLOWED"),
    Case("misspelled-field", _misspelled_field, grpc.StatusCode.NOT_FOUND, "UNKNOWN_FIELD"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_refusal(stack: Stack, case: Case) -> None:
    async with stack.client() as client:
        request = case.build(stack, client)
        refused = await expect_refusal(
            stack, lambda: client.send(request), case.status, case.reason
        )
    assert refused.message  # an identified caller is told what was wrong


async def test_replayed_nonce_is_refused_and_both_are_audited(stack: Stack) -> None:
    async with stack.client() as client:
        request = client.sign(_body(stack, client))
        before = stack.log_size()
        answer = await client.send(request)
        assert answer.fields
        await expect_refusal(stack, lambda: client.send(request), UNAUTH, "REPLAYED")
    records = stack.records(before)
    assert [(r.decision, r.reason) for r in records] == [
        ("RELEASED", ""),
        ("REFUSED", "REPLAYED"),
    ]
    assert records[0].request_digest == records[1].request_digest


async def test_client_without_policy_rule_is_refused(stack: Stack) -> None:
    nik = _nik(stack)
    token, _ = stack.consent(nik, grantee=RESEARCH_ID)
    async with stack.client(RESEARCH_ID) as client:
        await expect_refusal(
            stack, lambda: employment_query(client, nik, token), DENIED, "NO_POLICY"
        )


# --- consent revocation ------------------------------------------------------------------------


async def test_revoked_consent_is_refused_on_the_next_query(stack: Stack) -> None:
    nik = _nik(stack)
    token, consent_id = stack.consent(nik)
    async with stack.client() as client, stack.client(CONSENT_MANAGER_ID) as portal:
        assert (await employment_query(client, nik, token)).fields
        revoked = await portal.revoke_consent(
            sign_revocation(consent_id, stack.consent_key, issuer=CONSENT_MANAGER_ID)
        )
        assert revoked.consent_id == consent_id
        await expect_refusal(
            stack, lambda: employment_query(client, nik, token), DENIED, "CONSENT_REVOKED"
        )


async def test_revocation_signed_by_the_wrong_key_changes_nothing(stack: Stack) -> None:
    nik = _nik(stack)
    token, consent_id = stack.consent(nik)
    forged = sign_revocation(consent_id, Ed25519PrivateKey.generate(), issuer=CONSENT_MANAGER_ID)
    async with stack.client() as client, stack.client(CONSENT_MANAGER_ID) as portal:
        with pytest.raises(QueryRefused) as info:
            await portal.revoke_consent(forged)
        assert (info.value.status, info.value.reason) == (DENIED, "REVOCATION_INVALID")
        with stack.registry() as registry:
            assert _state(registry, consent_id) == "ACTIVE"
        answer = await employment_query(client, nik, token)
    assert "employment_status" in answer.fields
    assert stack.records(answer.log_index)[0].consent_id == consent_id


def _state(registry: SqliteRegistry, consent_id: str) -> str:
    record = registry.consent(consent_id)
    assert record is not None
    return record.state_at(datetime.datetime.now(datetime.UTC))


# --- after all the refusals --------------------------------------------------------------------


async def test_hub_still_serves_a_consented_query_after_the_refusals(stack: Stack) -> None:
    async with stack.client() as client:
        answer = await expect_released(stack, client, _nik(stack, "recently_terminated"))
    assert answer.fields["employment_status"].value == "inactive"


async def test_no_nik_or_employer_is_stored_in_the_clear(stack: Stack) -> None:
    stored = stack.stored_bytes()
    niks = USED_NIKS | {
        stack.people.employed,
        stack.people.recently_terminated,
        stack.people.unregistered,
        stack.people.unknown,
    }
    assert len(USED_NIKS) >= 2  # the refusal tests above ran and used real NIKs
    for nik in sorted(niks):
        assert nik.encode() not in stored, "a raw NIK is stored"
        assert nik[:15].encode() not in stored, "a (truncated) NIK is stored"
    for employer in sorted(_employers(stack)):
        assert employer.encode() not in stored, f"employer {employer!r} is stored"
