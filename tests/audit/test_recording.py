"""The records calls leave, pinned byte for byte: a release and a refusal in the pipeline,
and calls outside it (an officer's, the consent registry's, the admin service's).

The log is append-only and anyone may recompute a leaf hash from an export, so what a
record holds for a given call must not drift with the code that builds it.
"""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.log import AuditUnavailable, LogEntry
from hub.audit.pseudonym import Pseudonymizer
from hub.home import CONSENT_MANAGER_ID
from hub.pipeline.chain import Pipeline
from hub.pipeline.exchange import Exchange, Peer
from hub.pipeline.stages import PeerMember
from hub.services.calls import CallRecorder
from hub.store.base import PendingEntry
from jembatan.certs import CONSOLE
from jembatan.errors import Refusal
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import admin_pb2, audit_pb2, common_pb2, connector_pb2, consent_pb2, exchange_pb2

NIK = "3174012345678901"
# Its pseudonym under PSEUDONYMS' key.
NIK_PSEUDONYM = "39e32348f2de165a355ef9e3046784acddcf3eb30380bbc1005e8ddfb1a7272f"
CLIENT = "ID/GOV/KEMENSOS/eligibility"
SERVICE = "ID/GOV/BPJSTK/employment/status"
AT = 1795435200.25
PSEUDONYMS = Pseudonymizer(b"k" * 32)


def _expected(**fields: Any) -> bytes:
    """The canonical JSON of a record: every field blank but ``fields``."""
    doc: dict[str, Any] = {
        "approved_by": "",
        "break_glass": False,
        "client_certificate": "",
        "client_id": "",
        "consent_id": "",
        "decision": "",
        "fields_dropped": [],
        "fields_released": [],
        "fields_requested": [],
        "justification": "",
        "legal_basis": "",
        "legal_reference": "",
        "on_behalf_of": "",
        "policy_version": "",
        "purpose": "",
        "reason": "",
        "request_digest": "",
        "request_id": "",
        "response_digest": "",
        "service_id": "",
        "stage": "",
        "status": "",
        "subject": "",
        "time": "2026-11-23T12:00:00.250+00:00",
        "count": 1,
        "review": None,
        "officer_event": None,
        "version": 5,
    }
    assert set(fields) <= set(doc)
    doc.update(fields)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Log:
    """The audit log as the recorders see it: it keeps what it is handed."""

    def __init__(self, *, failing: bool = False) -> None:
        self.entries: list[PendingEntry] = []
        self._failing = failing

    async def append(self, entry: PendingEntry) -> LogEntry:
        if self._failing:
            raise AuditUnavailable("the store is gone")
        self.entries.append(entry)
        return LogEntry(len(self.entries) - 1, entry.leaf_hash)


# --- the pipeline ---------------------------------------------------------------------------


class Stub:
    """A pipeline stage that fills in what the real ones would have, then passes or refuses."""

    def __init__(self, name: str, fill: dict[str, Any], refusal: Refusal | None = None) -> None:
        self.name = name
        self._fill = fill
        self._refusal = refusal

    async def __call__(self, x: Exchange) -> None:
        for attribute, value in self._fill.items():
            setattr(x, attribute, value)
        if self._refusal is not None:
            raise self._refusal


def _body(**extra: Any) -> exchange_pb2.QueryBody:
    return exchange_pb2.QueryBody(
        request_id="req-7",
        client_id=CLIENT,
        service_id=SERVICE,
        purpose="social-assistance",
        subject=NIK,
        fields=["employment_status", "wage"],
        **extra,
    )


def _pipeline(log: Log, stage: Stub) -> Pipeline:
    identify = Stub("identify", {"member_id": CLIENT, "certificate_serial": "1a2b"})
    return Pipeline([identify, stage], log, PSEUDONYMS, Ed25519PrivateKey.generate())


def _exchange() -> Exchange:
    return Exchange(raw=b"signed request", peer=Peer(b"pem"), received_at=AT)


# The two outcomes a record names, each with its answer's status.
RELEASED = {"decision": "RELEASED", "status": "OK"}
DENIED = {"decision": "REFUSED", "status": "PERMISSION_DENIED"}
# What every record of a query through ``_pipeline`` says.
QUERY = {
    "client_certificate": "1a2b",
    "client_id": CLIENT,
    "fields_requested": ["employment_status", "wage"],
    "purpose": "social-assistance",
    "request_digest": hashlib.sha256(b"signed request").hexdigest(),
    "request_id": "req-7",
    "service_id": SERVICE,
    "subject": NIK_PSEUDONYM,
}


async def test_a_release_through_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The result's salt is fresh randomness: fixed here so that its digest can be pinned.
    monkeypatch.setattr("hub.pipeline.chain.secrets.token_bytes", lambda n: b"\x00" * n)
    log = Log()
    released = exchange_pb2.ReleasedField(
        name="employment_status", treatment=common_pb2.RAW, value=common_pb2.Value(text="ACTIVE")
    )
    fill = {
        "body": _body(),
        "consent": SimpleNamespace(consent_id="c-42"),
        "decision": SimpleNamespace(basis="consent"),
        "policy_version": "p-3",
        "fetched": connector_pb2.FetchResult(subject_found=True),
        "dropped": ["extra"],
        "released": [released],
    }
    response = await _pipeline(log, Stub("transform", fill)).handle(_exchange())
    # The plain SHA-256 of the result: the client recomputes it to check its receipt.
    digest = hashlib.sha256(response.result).hexdigest()
    assert digest == "67f7c9cd1ea8fc1b97df18d17c7b59c58a81197c4daf60553f83bcffde2de929"
    assert [e.record_json for e in log.entries] == [
        _expected(
            **QUERY,
            **RELEASED,
            consent_id="c-42",
            fields_dropped=["extra"],
            fields_released=[{"name": "employment_status", "treatment": "raw"}],
            legal_basis="consent",
            policy_version="p-3",
            response_digest=digest,
            stage="release",
        )
    ]
    assert log.entries[0].consent_id == "c-42"


async def test_a_break_glass_refusal_in_the_pipeline() -> None:
    log = Log()
    basis = exchange_pb2.LegalBasis(
        reference="UU 24/2011 art. 15", justification="disaster relief, flood in Bekasi"
    )
    fill = {
        "body": _body(legal_basis=basis),
        "legal_basis": basis,
        "decision": SimpleNamespace(basis="legal-obligation"),
        "policy_version": "p-3",
    }
    refusal = Refusal("APPROVAL_REQUIRED", "the policy demands a second person's approval")
    with pytest.raises(Refusal) as refused:
        await _pipeline(log, Stub("approve", fill, refusal)).handle(_exchange())
    assert refused.value is refusal
    # Flagged though refused: officers review the refused break-glass attempts too.
    assert [e.record_json for e in log.entries] == [
        _expected(
            **QUERY,
            **DENIED,
            break_glass=True,
            justification="disaster relief, flood in Bekasi",
            legal_basis="legal-obligation",
            legal_reference="UU 24/2011 art. 15",
            policy_version="p-3",
            reason="APPROVAL_REQUIRED",
            stage="approve",
        )
    ]


BASIS = exchange_pb2.LegalBasis(
    reference="UU 24/2011 art. 15", justification="disaster relief, flood in Bekasi"
)


async def test_a_break_glass_query_refused_before_its_basis_is_checked() -> None:
    log = Log()
    refusal = Refusal("JUSTIFICATION_REQUIRED", "a break-glass query needs a justification")
    stage = Stub("consent", {"body": _body(legal_basis=BASIS)}, refusal)
    with pytest.raises(Refusal):
        await _pipeline(log, stage).handle(_exchange())
    # Flagged: it named a basis. The basis's texts are kept only once checked (they could
    # hold a NIK), so none are here.
    assert [e.record_json for e in log.entries] == [
        _expected(
            **QUERY,
            break_glass=True,
            decision="REFUSED",
            reason="JUSTIFICATION_REQUIRED",
            stage="consent",
            status="PERMISSION_DENIED",
        )
    ]


def _signed_request(body: bytes) -> Stub:
    """An authenticate stage that decoded the request but refuses its signature."""
    request = exchange_pb2.QueryRequest(body=body, signature="a.b.c")
    return Stub(
        "authenticate",
        {"request": request},
        Refusal("SIGNATURE_INVALID", "signature does not verify"),
    )


async def test_a_break_glass_query_refused_before_its_body_is_authenticated() -> None:
    log = Log()
    body = _body(legal_basis=BASIS).SerializeToString()
    with pytest.raises(Refusal):
        await _pipeline(log, _signed_request(body)).handle(_exchange())
    # Flagged, but nothing else the unauthenticated body says is kept.
    assert [e.record_json for e in log.entries] == [
        _expected(
            break_glass=True,
            client_certificate="1a2b",
            client_id=CLIENT,
            decision="REFUSED",
            reason="SIGNATURE_INVALID",
            request_digest=QUERY["request_digest"],
            stage="authenticate",
            status="UNAUTHENTICATED",
        )
    ]


@pytest.mark.parametrize(
    "body",
    [
        _body().SerializeToString(),
        # A basis, then bytes that are no protobuf: no QueryBody, so no basis either.
        exchange_pb2.QueryBody(legal_basis=BASIS).SerializeToString() + b"\x3a\xff",
    ],
    ids=["no basis", "undecodable"],
)
async def test_a_body_that_shows_no_basis_is_not_flagged(body: bytes) -> None:
    log = Log()
    with pytest.raises(Refusal):
        await _pipeline(log, _signed_request(body)).handle(_exchange())
    assert b'"break_glass":false' in log.entries[0].record_json


async def test_no_record_no_answer_in_the_pipeline() -> None:
    with pytest.raises(Refusal) as refused:
        await _pipeline(Log(failing=True), Stub("transform", {})).handle(_exchange())
    assert refused.value.reason == "AUDIT_UNAVAILABLE"


# --- calls outside the pipeline -------------------------------------------------------------


class Context:
    """A gRPC call's context, as far as the call recorder uses it."""

    def __init__(self, name: str | None = None) -> None:
        self._metadata = () if name is None else ((ON_BEHALF_OF_METADATA_KEY, name),)
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_pem_cert": [b"pem"]}

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def set_trailing_metadata(self, metadata: object) -> None:
        pass

    async def abort(self, status: grpc.StatusCode, message: str) -> None:
        self.aborted = (status, message)
        raise grpc.RpcError(message)


class Identify:
    def __init__(self, member: PeerMember) -> None:
        self._member = member

    def member(self, peer: Peer) -> PeerMember:
        return self._member

    async def check_registered(self, member: PeerMember) -> None:
        pass


# What every record of a call outside the pipeline, made by a ``_recorder``, says.
CALL = {"client_certificate": "c0ffee", "stage": "call"}


def _recorder(log: Log, member_id: str, *roles: str) -> CallRecorder:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    member = PeerMember(member_id, "c0ffee", key, frozenset(roles))
    return CallRecorder(Identify(member), log, PSEUDONYMS, lambda: AT)


async def test_an_officers_call_answered_outside_the_pipeline() -> None:
    log = Log()
    recorder = _recorder(log, "ID/GOV/HUB/console", "auditor", CONSOLE)
    calls = recorder.bind("jembatan.v1.Audit", "audit")
    context = Context("Siti Rahma")
    request = audit_pb2.SearchRequest(subject=NIK, decision="REFUSED", limit=10)
    call = await calls.caller_with_role(context, "auditor", "Search", request, subject=NIK)
    response = audit_pb2.SearchResponse(more=True)
    assert await calls.answer(context, call, response) is response
    assert [e.record_json for e in log.entries] == [
        _expected(
            **CALL,
            **RELEASED,
            client_id="ID/GOV/HUB/console",
            # In field-number order, as the request's serialised form has them.
            fields_requested=["decision", "subject", "limit"],
            on_behalf_of="Siti Rahma",
            purpose="audit",
            # Keyed digests (a Search request is little more than a NIK).
            request_digest=PSEUDONYMS.digest(request.SerializeToString(deterministic=True)),
            response_digest=PSEUDONYMS.digest(response.SerializeToString(deterministic=True)),
            service_id="jembatan.v1.Audit/Search",
            subject=NIK_PSEUDONYM,
        )
    ]


class Revoked(Identify):
    async def check_registered(self, member: PeerMember) -> None:
        raise Refusal("CERT_REVOKED", f"certificate {member.serial} revoked")


async def test_a_call_from_a_revoked_certificate_outside_the_pipeline() -> None:
    log = Log()
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    officer = PeerMember("ID/GOV/HUB/console", "c0ffee", key, frozenset({"auditor", CONSOLE}))
    calls = CallRecorder(Revoked(officer), log, PSEUDONYMS, lambda: AT).bind(
        "jembatan.v1.Audit", "audit"
    )
    context = Context("Siti Rahma")
    request = audit_pb2.SearchRequest(subject=NIK, limit=10)
    with pytest.raises(grpc.RpcError):
        await calls.caller_with_role(context, "auditor", "Search", request, subject=NIK)
    assert context.aborted == (grpc.StatusCode.UNAUTHENTICATED, "caller not identified")
    # Who the certificate says it is and what it called, as for a query; not whom the
    # call was about nor the name it gave (it is not identified, so vouches for no one).
    assert [e.record_json for e in log.entries] == [
        _expected(
            client_certificate="c0ffee",
            client_id="ID/GOV/HUB/console",
            decision="REFUSED",
            fields_requested=["subject", "limit"],
            purpose="audit",
            reason="CERT_REVOKED",
            request_digest=PSEUDONYMS.digest(request.SerializeToString(deterministic=True)),
            service_id="jembatan.v1.Audit/Search",
            stage="call",
            status="UNAUTHENTICATED",
        )
    ]


async def test_a_consent_call_refused_outside_the_pipeline() -> None:
    log = Log()
    calls = _recorder(log, CLIENT).bind("jembatan.v1.ConsentRegistry", "consent")
    context = Context()
    request = consent_pb2.GrantRequest(request_id="r-1", artefact="a.b.c")
    with pytest.raises(grpc.RpcError):
        await calls.consent_manager(context, "Grant", request)
    assert context.aborted == (
        grpc.StatusCode.PERMISSION_DENIED,
        "Grant is the consent manager's call",
    )
    assert [e.record_json for e in log.entries] == [
        _expected(
            **CALL,
            **DENIED,
            client_id=CLIENT,
            fields_requested=["request_id", "artefact"],
            purpose="consent",
            reason="NOT_CONSENT_MANAGER",
            request_digest="07cf6a6309c13541833a6823e17e9795af1fc1d6156d45519db63ffaf0fe2232",
            service_id="jembatan.v1.ConsentRegistry/Grant",
        )
    ]


async def test_a_citizens_view_recorded_about_the_citizen_once_known() -> None:
    log = Log()
    calls = _recorder(log, CONSENT_MANAGER_ID).bind("jembatan.v1.Audit", "audit")
    context = Context()
    request = audit_pb2.CitizenAccessesRequest(subject_token="t.o.k")
    call = await calls.consent_manager(
        context, "CitizenAccesses", request, purpose="citizen-access"
    )
    # The subject is known only once its token is verified: the record names it all the same.
    response = audit_pb2.CitizenAccessList()
    await calls.answer(context, calls.about(call, NIK), response)
    assert [e.record_json for e in log.entries] == [
        _expected(
            **CALL,
            **RELEASED,
            client_id=CONSENT_MANAGER_ID,
            fields_requested=["subject_token"],
            purpose="citizen-access",
            request_digest=PSEUDONYMS.digest(request.SerializeToString(deterministic=True)),
            service_id="jembatan.v1.Audit/CitizenAccesses",
            subject=NIK_PSEUDONYM,
        )
    ]


async def test_an_admin_call_refused_for_its_role_keeps_the_name_the_console_vouched_for() -> None:
    log = Log()
    calls = _recorder(log, "ID/GOV/HUB/console", CONSOLE).bind(
        "jembatan.v1.Admin", "administration"
    )
    context = Context("Siti Rahma")
    request = admin_pb2.ListRequest()
    with pytest.raises(grpc.RpcError):
        await calls.caller_with_role(context, "administrator", "ListEnrolments", request)
    assert context.aborted == (
        grpc.StatusCode.PERMISSION_DENIED,
        "jembatan.v1.Admin/ListEnrolments needs the administrator role",
    )
    assert [e.record_json for e in log.entries] == [
        _expected(
            **CALL,
            **DENIED,
            client_id="ID/GOV/HUB/console",
            on_behalf_of="Siti Rahma",
            purpose="administration",
            reason="ROLE_REQUIRED",
            request_digest=PSEUDONYMS.digest(b""),
            service_id="jembatan.v1.Admin/ListEnrolments",
        )
    ]


async def test_a_name_from_a_caller_that_may_not_vouch_is_refused_and_not_kept() -> None:
    log = Log()
    calls = _recorder(log, CLIENT, "administrator").bind("jembatan.v1.Admin", "administration")
    context = Context("Siti Rahma")
    request = admin_pb2.GetEnrolmentRequest(request_id="enr-1")
    with pytest.raises(grpc.RpcError):
        await calls.caller_for(context, "GetEnrolment", request)
    assert [e.record_json for e in log.entries] == [
        _expected(
            **CALL,
            **DENIED,
            client_id=CLIENT,
            fields_requested=["request_id"],
            purpose="administration",
            reason="ROLE_REQUIRED",
            request_digest=PSEUDONYMS.digest(request.SerializeToString(deterministic=True)),
            service_id="jembatan.v1.Admin/GetEnrolment",
        )
    ]


async def test_no_record_no_answer_outside_the_pipeline() -> None:
    calls = _recorder(Log(failing=True), CLIENT).bind("jembatan.v1.Admin", "administration")
    context = Context()
    request = admin_pb2.GetEnrolmentRequest(request_id="enr-1")
    call = await calls.caller_for(context, "GetEnrolment", request)
    with pytest.raises(grpc.RpcError):
        await calls.answer(context, call, admin_pb2.Enrolment())
    assert context.aborted == (
        grpc.StatusCode.UNAVAILABLE,
        "the audit log cannot record this",
    )
