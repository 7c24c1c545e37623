"""Break-glass: a purpose whose policy rule rests on vital interest instead of consent
(`bansos-emergency` in the shipped BPJSTK policy: UU 24/2007, two-person approval). Such a
query names the rule's law and a justification, carries a second member's approval, is
released without consent, and is flagged for officers' review; each way of getting it
wrong is refused with its own reason and recorded — flagged too, whichever stage refused
it, as long as its body could be decoded far enough to show the basis it names."""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc
import pytest

from hub.provisioning import revoke_certificate
from jembatan.client import HubClient, QueryRefused
from jembatan.jws import REQUEST_TYPE, sign_envelope
from jembatan.keys import load_key_pem
from jembatan.v1 import audit_pb2, exchange_pb2
from tests.disguises import CONTROL_TEXTS, NIK_DISGUISES, disguised, traces
from tests.stack import ELIGIBILITY_ID, EMPLOYMENT_SERVICE, Stack, employment_body

EMERGENCY = "bansos-emergency"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
FIELDS = ("employment_status", "termination_date")
WHY = "Banjir bandang di Kemiren 20 Nov: keluarga mengungsi, tidak dapat dihubungi"
SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"


def _request(
    client: HubClient,
    subject: str,
    *,
    basis: exchange_pb2.LegalBasis | None = None,
    consent: str = "",
    purpose: str = EMERGENCY,
    service: str = EMPLOYMENT_SERVICE,
) -> exchange_pb2.QueryRequest:
    body = employment_body(
        client, subject, consent, FIELDS, service_id=service, purpose=purpose, legal_basis=basis
    )
    return client.sign(body)


def _basis(reference: str = LAW, justification: str = WHY) -> exchange_pb2.LegalBasis:
    return exchange_pb2.LegalBasis(reference=reference, justification=justification)


@pytest.fixture(scope="module")
def approver(stack: Stack) -> str:
    stack.member(SUPERVISOR, roles=["approver"])
    return SUPERVISOR


async def test_an_approved_emergency_query_is_released_without_consent_and_flagged(
    stack: Stack, approver: str
) -> None:
    nik = stack.people.recently_terminated
    before = stack.log_size()
    async with stack.client() as client, stack.client(approver) as supervisor:
        answer = await client.send(supervisor.approve(_request(client, nik, basis=_basis())))
    assert set(answer.fields) == set(FIELDS)
    assert answer.fields["termination_date"].value is True
    (record,) = stack.records(before)
    assert (record.decision, record.consent_id, record.break_glass) == ("RELEASED", "", True)
    assert (record.legal_basis, record.legal_reference, record.justification) == (
        "vital-interest",
        LAW,
        WHY,
    )
    assert record.approved_by == approver

    async with stack.client(stack.auditor()) as officer:
        review = await officer.search(audit_pb2.SearchRequest(break_glass=True))
    flagged = [json.loads(e.record_json) for e in review.entries]
    assert flagged and all(r["break_glass"] for r in flagged)
    assert record.request_digest in {r["request_digest"] for r in flagged}


Case = Callable[[Stack, HubClient, HubClient, str], exchange_pb2.QueryRequest]


def _no_basis(
    stack: Stack, client: HubClient, supervisor: HubClient, nik: str
) -> exchange_pb2.QueryRequest:
    consent, _ = stack.consent(nik, purpose=EMERGENCY, fields=FIELDS)
    return supervisor.approve(_request(client, nik, consent=consent))


def _altered_after_signing(
    stack: Stack, client: HubClient, supervisor: HubClient, nik: str
) -> exchange_pb2.QueryRequest:
    request = supervisor.approve(_request(client, nik, basis=_basis()))
    body = exchange_pb2.QueryBody.FromString(request.body)
    body.fields.remove("termination_date")
    request.body = body.SerializeToString(deterministic=True)
    return request


def _undecodable_body(
    stack: Stack, client: HubClient, supervisor: HubClient, nik: str
) -> exchange_pb2.QueryRequest:
    """A body that begins with a well-formed legal basis (field 8), then breaks off: it
    is no QueryBody, so it names no basis, whatever its first bytes look like."""
    basis = exchange_pb2.QueryBody(legal_basis=_basis()).SerializeToString()
    data = basis + b"\x3a\xff"  # field 7 (request_id), a length running past the end
    key = load_key_pem(stack.member(ELIGIBILITY_ID).key_pem)
    signature = sign_envelope(data, key, issuer=ELIGIBILITY_ID, typ=REQUEST_TYPE)
    return exchange_pb2.QueryRequest(body=data, signature=signature)


def _with_approval_of(
    request: exchange_pb2.QueryRequest, approved: exchange_pb2.QueryRequest
) -> exchange_pb2.QueryRequest:
    return exchange_pb2.QueryRequest(
        body=request.body, signature=request.signature, approval=approved.approval
    )


REFUSALS: dict[str, tuple[str, grpc.StatusCode, Case]] = {
    "consent instead of the rule's legal basis": (
        "LEGAL_BASIS_REQUIRED",
        grpc.StatusCode.PERMISSION_DENIED,
        _no_basis,
    ),
    "no justification": (
        "JUSTIFICATION_REQUIRED",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda s, c, a, nik: a.approve(_request(c, nik, basis=_basis(justification="  "))),
    ),
    "another law than the rule's": (
        "LEGAL_BASIS_MISMATCH",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda s, c, a, nik: a.approve(_request(c, nik, basis=_basis(reference="UU 11/2009"))),
    ),
    "no approval": (
        "APPROVAL_REQUIRED",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda s, c, a, nik: _request(c, nik, basis=_basis()),
    ),
    "approved by the requester itself": (
        "APPROVAL_INVALID",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda s, c, a, nik: c.approve(_request(c, nik, basis=_basis())),
    ),
    "approval over another body": (
        "APPROVAL_INVALID",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda s, c, a, nik: _with_approval_of(
            _request(c, nik, basis=_basis()),
            a.approve(_request(c, nik, basis=_basis(justification=WHY + "!"))),
        ),
    ),
    "a legal basis for a purpose that rests on consent": (
        "CONSENT_MISSING",
        grpc.StatusCode.PERMISSION_DENIED,
        lambda s, c, a, nik: a.approve(
            _request(c, nik, basis=_basis(), purpose="bansos-eligibility")
        ),
    ),
    "consent and a legal basis at once": (
        "MALFORMED_REQUEST",
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda s, c, a, nik: a.approve(_request(c, nik, basis=_basis(), consent=s.consent(nik)[0])),
    ),
    # Refused before the consent stage ever looks at the basis.
    "a service the registry does not know": (
        "UNKNOWN_SERVICE",
        grpc.StatusCode.NOT_FOUND,
        lambda s, c, a, nik: a.approve(
            _request(c, nik, basis=_basis(), service=EMPLOYMENT_SERVICE + "-gone")
        ),
    ),
    "a purpose that is no purpose code": (
        "MALFORMED_REQUEST",
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda s, c, a, nik: a.approve(_request(c, nik, basis=_basis(), purpose="Bencana!")),
    ),
    "a subject that is no NIK": (
        "INVALID_SUBJECT",
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda s, c, a, nik: a.approve(_request(c, nik[:-1], basis=_basis())),
    ),
    "a body altered after signing": (
        "SIGNATURE_INVALID",
        grpc.StatusCode.UNAUTHENTICATED,
        _altered_after_signing,
    ),
    "a body that is no QueryBody": (
        "MALFORMED_REQUEST",
        grpc.StatusCode.INVALID_ARGUMENT,
        _undecodable_body,
    ),
}
# The cases whose body names no legal basis (or cannot be decoded to show one).
NOT_BREAK_GLASS = {"consent instead of the rule's legal basis", "a body that is no QueryBody"}


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_each_break_glass_mistake_is_refused_with_its_reason_and_recorded(
    stack: Stack, approver: str, case: str
) -> None:
    reason, status, make = REFUSALS[case]
    nik = stack.people.recently_terminated
    before = stack.log_size()
    async with stack.client() as client, stack.client(approver) as supervisor:
        with pytest.raises(QueryRefused) as refused:
            await client.send(make(stack, client, supervisor, nik))
    assert (refused.value.status, refused.value.reason) == (status, reason)
    # Exactly one record of the query (a consent granted for the case leaves its own).
    (record,) = [r for r in stack.records(before) if r.client_id == ELIGIBILITY_ID]
    assert (record.decision, record.reason, record.fields_released) == ("REFUSED", reason, ())
    # On the officers' break-glass list whatever stage refused it: what it names is
    # known once its body decodes, whether or not the basis itself was checked.
    assert record.break_glass is (case not in NOT_BREAK_GLASS)
    if record.break_glass and not record.justification:
        # A basis refused or never checked: its texts are not kept (they could hold a NIK).
        assert (record.legal_reference, record.legal_basis) == ("", "")


async def test_an_approver_without_the_role_or_revoked_is_refused(stack: Stack) -> None:
    nik = stack.people.recently_terminated
    colleague = "ID/GOV/KEMENSOS/colleague"
    former = "ID/GOV/KEMENSOS/former-supervisor"
    stack.member(colleague)
    revoke_certificate(stack.home, str(stack.member(former, roles=["approver"]).cert_path), "left")
    async with stack.client() as client:
        for member in (colleague, former):
            async with stack.client(member) as second:
                with pytest.raises(QueryRefused) as refused:
                    await client.send(second.approve(_request(client, nik, basis=_basis())))
            assert refused.value.reason == "APPROVAL_INVALID"


def _in_justification(text: str) -> exchange_pb2.LegalBasis:
    return _basis(justification=f"pemohon {text} mengungsi")


def _in_reference(text: str) -> exchange_pb2.LegalBasis:
    return _basis(reference=f"{LAW} {text}")


@pytest.mark.parametrize("how", ["plain", *NIK_DISGUISES, *CONTROL_TEXTS])
@pytest.mark.parametrize("where", [_in_justification, _in_reference], ids=["why", "law"])
async def test_a_nik_or_control_characters_in_the_basis_are_refused_and_never_stored(
    stack: Stack, approver: str, where: Callable[[str], exchange_pb2.LegalBasis], how: str
) -> None:
    nik = stack.people.recently_terminated
    text = CONTROL_TEXTS.get(how) or (nik if how == "plain" else disguised(nik, how))
    before = stack.log_size()
    async with stack.client() as client, stack.client(approver) as supervisor:
        request = supervisor.approve(_request(client, nik, basis=where(text)))
        with pytest.raises(QueryRefused) as refused:
            await client.send(request)
    assert (refused.value.status, refused.value.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )
    (record,) = stack.records(before)
    assert (record.decision, record.legal_reference, record.justification) == ("REFUSED", "", "")
    # Flagged for review all the same: the texts are refused, not the attempt forgotten.
    assert record.break_glass is True
    stored = stack.stored_bytes()
    assert not [trace for trace in traces(nik, text) if trace in stored]


async def test_an_empty_legal_reference_is_malformed(stack: Stack, approver: str) -> None:
    nik = stack.people.recently_terminated
    async with stack.client() as client, stack.client(approver) as supervisor:
        with pytest.raises(QueryRefused) as refused:
            await client.send(supervisor.approve(_request(client, nik, basis=_basis(reference=""))))
    assert (refused.value.status, refused.value.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )


async def test_an_approval_covers_one_query_only(stack: Stack, approver: str) -> None:
    nik = stack.people.recently_terminated
    before = stack.log_size()
    async with stack.client() as client, stack.client(approver) as supervisor:
        approved = supervisor.approve(_request(client, nik, basis=_basis()))
        await client.send(approved)
        # The requester signs the very same body afresh (a new request nonce, so no
        # REPLAYED) and sends it with the approval it already used.
        again = client.sign(exchange_pb2.QueryBody.FromString(approved.body))
        assert again.body == approved.body and again.signature != approved.signature
        with pytest.raises(QueryRefused) as refused:
            await client.send(_with_approval_of(again, approved))
    assert (refused.value.status, refused.value.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "APPROVAL_INVALID",
    )
    assert refused.value.message == "approval already used"
    first, second = stack.records(before)
    assert (first.decision, second.decision, second.reason) == (
        "RELEASED",
        "REFUSED",
        "APPROVAL_INVALID",
    )
    assert (second.stage, second.fields_released, second.approved_by) == ("approve", (), "")
