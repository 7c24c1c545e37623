"""The Admin API through a real hub: enrolment by CSR, renewal, revocation, connector
registration, disabling services, discovery — and every administrative call in the log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import sqlite3
from collections.abc import Awaitable, Iterator

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from hub.dev.processes import RunningProcess, start_module
from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID
from hub.pki import CertificateAuthority
from hub.provisioning import certificate_record, revoke_certificate
from jembatan.catalogue import FieldSpec
from jembatan.certs import make_csr, member_id_of, roles_of
from jembatan.client import (
    AdminClient,
    HubClient,
    HubUnreachable,
    QueryAnswer,
    QueryRefused,
    refusal_of,
)
from jembatan.keys import cert_to_pem, generate_key, key_to_pem, load_cert_pem, serial_text
from jembatan.v1 import admin_pb2, admin_pb2_grpc, common_pb2
from policies import load_policies
from tests.stack import ADMINISTRATOR_ID, ELIGIBILITY_ID, Stack, employment_query

PILOT_ID = "ID/GOV/KEMENSOS/eligibility-pilot"
RENEWAL_ID = "ID/GOV/KEMENSOS/eligibility-renewal"
REVOKED_ID = "ID/GOV/KEMENSOS/eligibility-revoked"
DINSOS_ID = "ID/GOV/DINSOS/welfare"
HONEST = f"{DINSOS_ID}/honest"
DISCOVERED = f"{DINSOS_ID}/honest-discovery"
PURPOSE = "bansos-eligibility"
DENIED = grpc.StatusCode.PERMISSION_DENIED
CATALOGUE = (
    FieldSpec("employment_status", "text", "status of employment", "personal"),
    FieldSpec("monthly_wage", "integer", "reported monthly wage", "sensitive"),
)
CATALOGUE_V2 = (*CATALOGUE, FieldSpec("household_size", "integer", "people", "personal"))


def _csr(member_id: str) -> tuple[bytes, bytes]:
    """(key PEM, CSR PEM) as a member makes them on its own machine."""
    key = generate_key()
    csr = make_csr(key, member_id).public_bytes(serialization.Encoding.PEM)
    return key_to_pem(key), csr


def _client(stack: Stack, key_pem: bytes, cert_pem: bytes) -> HubClient:
    return HubClient(
        stack.address,
        key_pem=key_pem,
        cert_pem=cert_pem,
        ca_pem=stack.home.ca_cert.read_bytes(),
        unsafe_skip_receipt_check=True,
    )


async def _query(stack: Stack, key_pem: bytes, cert_pem: bytes) -> QueryAnswer:
    member_id = member_id_of(load_cert_pem(cert_pem))
    nik = stack.people.employed
    token, _ = stack.consent(nik, fields=("employment_status",), grantee=member_id)
    async with _client(stack, key_pem, cert_pem) as client:
        return await employment_query(client, nik, token, fields=("employment_status",))


async def _refused(call: Awaitable[object]) -> QueryRefused:
    with pytest.raises(QueryRefused) as refused:
        await call
    return refused.value


def _last_record_of(stack: Stack, client_id: str, method: str) -> tuple[str, str, str]:
    record = [r for r in stack.records() if r.client_id == client_id and r.service_id == method][-1]
    return record.decision, record.reason, record.purpose


def _assert_refused(
    stack: Stack,
    refused: QueryRefused,
    status: grpc.StatusCode,
    reason: str,
    client_id: str,
    method: str,
) -> None:
    """``client_id``'s call of the Admin ``method`` was refused (status, reason), and its
    last record of that method says so."""
    assert (refused.status, refused.reason) == (status, reason), refused
    assert _last_record_of(stack, client_id, f"jembatan.v1.Admin/{method}") == (
        "REFUSED",
        reason,
        "administration",
    )


async def _enrolled(stack: Stack, member_id: str) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM) of ``member_id``, enrolled through the API by the
    administrator (who may submit for anyone) and approved."""
    key_pem, csr_pem = _csr(member_id)
    async with stack.admin() as admin:
        submitted = await admin.submit_enrolment(csr_pem, member_id)
        approved = await admin.approve_enrolment(submitted.request_id)
    return key_pem, approved.certificate_pem


# --- enrolment ---------------------------------------------------------------------------


async def test_an_approved_enrolment_gets_a_certificate_that_works_for_a_query(
    stack: Stack,
) -> None:
    key_pem, csr_pem = _csr(PILOT_ID)
    async with stack.admin(ELIGIBILITY_ID) as kemensos, stack.admin() as admin:
        submitted = await kemensos.submit_enrolment(csr_pem, PILOT_ID)
        waiting = await kemensos.enrolment(submitted.request_id)
        pending = await admin.enrolments("pending")
        approved = await admin.approve_enrolment(submitted.request_id, valid_days=30)
        fetched = await kemensos.enrolment(submitted.request_id)
    assert submitted.state == waiting.state == admin_pb2.REQUEST_PENDING
    assert (submitted.submitter, submitted.member_id) == (ELIGIBILITY_ID, PILOT_ID)
    assert not waiting.certificate_pem
    assert submitted.request_id in {e.request_id for e in pending}
    assert fetched.state == admin_pb2.REQUEST_APPROVED
    assert fetched.decided_by == ADMINISTRATOR_ID
    assert fetched.certificate_pem == approved.certificate_pem
    cert = load_cert_pem(fetched.certificate_pem)
    assert member_id_of(cert) == PILOT_ID and roles_of(cert) == frozenset()
    days = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=29) < days <= datetime.timedelta(days=30)
    answer = await _query(stack, key_pem, fetched.certificate_pem)
    assert list(answer.fields) == ["employment_status"]


async def test_a_rejected_enrolment_never_gets_a_certificate(stack: Stack) -> None:
    member_id = "ID/GOV/KEMENSOS/not-in-pilot"
    _, csr_pem = _csr(member_id)
    async with stack.admin(ELIGIBILITY_ID) as kemensos, stack.admin() as admin:
        submitted = await kemensos.submit_enrolment(csr_pem, member_id)
        await admin.reject_enrolment(submitted.request_id, "not part of the pilot")
        fetched = await kemensos.enrolment(submitted.request_id)
        late = await _refused(admin.approve_enrolment(submitted.request_id))
    assert fetched.state == admin_pb2.REQUEST_REJECTED
    assert fetched.reason == "not part of the pilot" and not fetched.certificate_pem
    assert (late.status, late.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_DECIDED")
    with stack.registry() as registry:
        assert registry.member_certificates(member_id) == []


async def test_a_hub_without_the_ca_key_refuses_to_issue_and_records_it(stack: Stack) -> None:
    # As in the compose deployment, where only the set-up service holds the CA key.
    member_id = "ID/GOV/KEMENSOS/no-ca-here"
    key = stack.home.ca_dir / "ca.key"
    async with stack.admin() as admin:
        submitted = await admin.submit_enrolment(_csr(member_id)[1], member_id)
        key.rename(key.with_suffix(".away"))
        try:
            refused = await _refused(admin.approve_enrolment(submitted.request_id))
        finally:
            key.with_suffix(".away").rename(key)
        _assert_refused(
            stack, refused, grpc.StatusCode.INTERNAL, "INTERNAL_ERROR", ADMINISTRATOR_ID,
            "ApproveEnrolment",
        )  # fmt: skip
        assert "CA key is not here" in str(refused)
        # Nothing was issued: the enrolment is still pending, and approves once the key is back.
        assert (await admin.enrolment(submitted.request_id)).state == admin_pb2.REQUEST_PENDING
        assert (await admin.approve_enrolment(submitted.request_id)).certificate_pem


async def test_another_member_cannot_see_an_enrolment(stack: Stack) -> None:
    _, csr_pem = _csr("ID/GOV/KEMENSOS/private")
    async with stack.admin(ELIGIBILITY_ID) as kemensos, stack.admin(DINSOS_ID) as other:
        submitted = await kemensos.submit_enrolment(csr_pem, "ID/GOV/KEMENSOS/private")
        refused = await _refused(other.enrolment(submitted.request_id))
    assert (refused.status, refused.reason) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_TARGET")


# --- who may do what: each refusal, with its reason, in the log --------------------------


async def test_a_member_without_the_administrator_role_cannot_approve(stack: Stack) -> None:
    _, csr_pem = _csr("ID/GOV/KEMENSOS/self-approved")
    async with stack.admin(ELIGIBILITY_ID) as kemensos:
        submitted = await kemensos.submit_enrolment(csr_pem, "ID/GOV/KEMENSOS/self-approved")
        refused = await _refused(kemensos.approve_enrolment(submitted.request_id))
        still = await kemensos.enrolment(submitted.request_id)
    _assert_refused(stack, refused, DENIED, "ROLE_REQUIRED", ELIGIBILITY_ID, "ApproveEnrolment")
    assert still.state == admin_pb2.REQUEST_PENDING and not still.certificate_pem


async def test_a_member_cannot_enrol_for_another_organisation(stack: Stack) -> None:
    _, csr_pem = _csr("ID/GOV/BPJSTK/takeover")
    async with stack.admin(ELIGIBILITY_ID) as kemensos, stack.admin() as admin:
        refused = await _refused(kemensos.submit_enrolment(csr_pem, "ID/GOV/BPJSTK/takeover"))
        queued = await admin.enrolments()
    _assert_refused(
        stack, refused, DENIED, "ORGANISATION_MISMATCH", ELIGIBILITY_ID, "SubmitEnrolment"
    )
    assert "ID/GOV/BPJSTK/takeover" not in {e.member_id for e in queued}


KEMENSOS_ADMINISTRATOR = "ID/GOV/KEMENSOS/admin-desk"
SPLP_HELPDESK = "ID/GOV/SPLP/helpdesk"
_RESERVED = {
    "consent-manager": (ELIGIBILITY_ID, CONSENT_MANAGER_ID),
    "administrator": (ELIGIBILITY_ID, KEMENSOS_ADMINISTRATOR),
    "hub": (SPLP_HELPDESK, HUB_MEMBER_ID),
    "hub-administrator": (SPLP_HELPDESK, ADMINISTRATOR_ID),
}


@pytest.mark.parametrize("case", sorted(_RESERVED))
async def test_a_member_cannot_enrol_a_reserved_identity(stack: Stack, case: str) -> None:
    submitter, member_id = _RESERVED[case]
    stack.member(KEMENSOS_ADMINISTRATOR, roles=["administrator"])
    stack.member(ADMINISTRATOR_ID, roles=["administrator"])
    _, csr_pem = _csr(member_id)
    async with stack.admin(submitter) as member, stack.admin() as admin:
        refused = await _refused(member.submit_enrolment(csr_pem, member_id))
        queued = await admin.enrolments("pending")
    _assert_refused(stack, refused, DENIED, "MEMBER_RESERVED", submitter, "SubmitEnrolment")
    assert member_id not in {e.member_id for e in queued}


async def test_a_member_cannot_enrol_an_existing_member_but_may_add_a_key_of_its_own(
    stack: Stack,
) -> None:
    taken = "ID/GOV/KEMENSOS/dtks"  # enrolled with the stack
    async with stack.admin(ELIGIBILITY_ID) as kemensos:
        refused = await _refused(kemensos.submit_enrolment(_csr(taken)[1], taken))
        own = await kemensos.submit_enrolment(_csr(ELIGIBILITY_ID)[1], ELIGIBILITY_ID)
    assert (refused.status, refused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "MEMBER_EXISTS")
    assert _last_record_of(stack, ELIGIBILITY_ID, "jembatan.v1.Admin/SubmitEnrolment") == (
        "RELEASED",
        "",
        "administration",
    )
    assert own.state == admin_pb2.REQUEST_PENDING
    async with stack.admin() as admin:
        by_administrator = await admin.submit_enrolment(_csr(taken)[1], taken)
        await admin.reject_enrolment(own.request_id, "not needed")
        await admin.reject_enrolment(by_administrator.request_id, "not needed")
    assert by_administrator.state == admin_pb2.REQUEST_PENDING


async def test_an_identity_taken_after_submission_is_not_approved(stack: Stack) -> None:
    member_id = "ID/GOV/KEMENSOS/contested"
    async with stack.admin(ELIGIBILITY_ID) as kemensos, stack.admin() as admin:
        late = await kemensos.submit_enrolment(_csr(member_id)[1], member_id)
        first = await admin.submit_enrolment(_csr(member_id)[1], member_id)
        await admin.approve_enrolment(first.request_id)
        refused = await _refused(admin.approve_enrolment(late.request_id))
        still = await admin.enrolment(late.request_id)
    assert (refused.status, refused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "MEMBER_EXISTS")
    assert still.state == admin_pb2.REQUEST_PENDING
    with stack.registry() as registry:
        assert len(registry.member_certificates(member_id)) == 1


@pytest.mark.parametrize("role", ["auditor", "administrator", "root"])
async def test_a_member_cannot_ask_for_a_role_it_may_not_grant(stack: Stack, role: str) -> None:
    member_id = f"ID/GOV/KEMENSOS/wants-{role}"
    _, csr_pem = _csr(member_id)
    async with stack.admin(ELIGIBILITY_ID) as kemensos:
        refused = await _refused(kemensos.submit_enrolment(csr_pem, member_id, [role]))
    _assert_refused(stack, refused, DENIED, "ROLE_NOT_GRANTABLE", ELIGIBILITY_ID, "SubmitEnrolment")


async def test_an_administrator_may_enrol_anyone_with_a_role(stack: Stack) -> None:
    member_id = "ID/GOV/BSSN/second-auditor"
    _, csr_pem = _csr(member_id)
    async with stack.admin() as admin:
        submitted = await admin.submit_enrolment(csr_pem, member_id, ["auditor"])
        approved = await admin.approve_enrolment(submitted.request_id)
    assert roles_of(load_cert_pem(approved.certificate_pem)) == {"auditor"}


async def test_a_csr_for_another_member_or_no_csr_at_all_is_refused(stack: Stack) -> None:
    _, other_csr = _csr("ID/GOV/KEMENSOS/someone-else")
    async with stack.admin(ELIGIBILITY_ID) as kemensos:
        mismatch = await _refused(kemensos.submit_enrolment(other_csr, "ID/GOV/KEMENSOS/mine"))
        garbage = await _refused(kemensos.submit_enrolment(b"not a csr", "ID/GOV/KEMENSOS/mine"))
    for refused in (mismatch, garbage):
        assert (refused.status, refused.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "CSR_INVALID",
        )


# --- revocation and renewal --------------------------------------------------------------


async def test_revocation_through_the_api_bites_on_the_very_next_call(stack: Stack) -> None:
    key_pem, cert_pem = await _enrolled(stack, REVOKED_ID)
    await _query(stack, key_pem, cert_pem)
    serial = serial_text(load_cert_pem(cert_pem))
    async with stack.admin() as admin:
        revoked = await admin.revoke(serial, "key-compromise")
        again = await _refused(admin.revoke(serial))
        unknown = await _refused(admin.revoke("abc123"))
    assert revoked.member_id == REVOKED_ID
    refused = await _refused(_query(stack, key_pem, cert_pem))
    assert (refused.status, refused.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")
    assert (again.reason, unknown.reason) == ("ALREADY_DECIDED", "UNKNOWN_TARGET")
    last = [r for r in stack.records() if r.client_certificate == serial][-1]
    assert (last.decision, last.reason) == ("REFUSED", "CERT_REVOKED")
    # A revoked member cannot renew its way back in.
    _, renewal_csr = _csr(REVOKED_ID)
    async with _admin_as(stack, key_pem, cert_pem) as revoked_member:
        refused_renewal = await _refused(revoked_member.renew(renewal_csr))
    assert refused_renewal.status == grpc.StatusCode.UNAUTHENTICATED
    with stack.registry() as registry:
        assert len(registry.member_certificates(REVOKED_ID)) == 1


def _serial(cert_pem: bytes) -> str:
    return serial_text(load_cert_pem(cert_pem))


async def test_renewal_gives_a_new_certificate_at_once_for_the_default_validity_once(
    stack: Stack,
) -> None:
    old_key, old_cert = await _enrolled(stack, RENEWAL_ID)
    new_key, csr_pem = _csr(RENEWAL_ID)
    async with _admin_as(stack, old_key, old_cert) as member:
        renewed = await member.renew(csr_pem)
        again = await _refused(member.renew(_csr(RENEWAL_ID)[1]))
    new_cert = renewed.certificate_pem
    assert renewed.state == admin_pb2.REQUEST_APPROVED
    assert member_id_of(load_cert_pem(new_cert)) == RENEWAL_ID
    # The hub's default from now, whatever the old certificate had left.
    days = load_cert_pem(new_cert).not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(days=364) < days <= datetime.timedelta(days=365)
    # One successor each: a second renewal from the same certificate is refused.
    _assert_refused(
        stack, again, grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_DECIDED", RENEWAL_ID, "Renew"
    )
    assert "already renewed" in again.message
    with stack.registry() as registry:
        chain = {c.serial: c.renewed_from for c in registry.member_certificates(RENEWAL_ID)}
    assert chain == {_serial(old_cert): None, _serial(new_cert): _serial(old_cert)}
    # Both work: no downtime while the member rolls the new certificate out.
    assert (await _query(stack, new_key, new_cert)).fields
    assert (await _query(stack, old_key, old_cert)).fields
    # Revoking the old one on the hub host (``jembatan pki revoke``) takes the renewal too.
    revoked = revoke_certificate(stack.home, _serial(old_cert), "key-compromise")
    assert revoked == [_serial(old_cert), _serial(new_cert)]
    for key_pem, cert_pem in ((new_key, new_cert), (old_key, old_cert)):
        assert (await _refused(_query(stack, key_pem, cert_pem))).reason == "UNAUTHENTICATED"


async def test_a_member_may_not_choose_the_validity_of_its_renewal(stack: Stack) -> None:
    member_id = "ID/GOV/KEMENSOS/longer-life"
    key_pem, cert_pem = await _enrolled(stack, member_id)
    channel = grpc.aio.secure_channel(
        stack.address,
        grpc.ssl_channel_credentials(stack.home.ca_cert.read_bytes(), key_pem, cert_pem),
    )
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await admin_pb2_grpc.AdminStub(channel).Renew(
                admin_pb2.RenewRequest(csr_pem=_csr(member_id)[1], valid_days=825)
            )
    refused = refusal_of(error.value)
    _assert_refused(
        stack, refused, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST", member_id, "Renew"
    )
    with stack.registry() as registry:
        assert len(registry.member_certificates(member_id)) == 1


async def test_revoking_a_certificate_revokes_every_renewal_made_from_it(stack: Stack) -> None:
    """The attack: a stolen key renews onto the thief's own key, twice. Revoking the
    compromised certificate must take the thief's certificates with it."""
    member_id = "ID/GOV/KEMENSOS/stolen-key"
    stolen_key, original = await _enrolled(stack, member_id)
    thief_key, csr_pem = _csr(member_id)
    async with _admin_as(stack, stolen_key, original) as thief:
        first = (await thief.renew(csr_pem)).certificate_pem
    second_key, csr_pem = _csr(member_id)
    async with _admin_as(stack, thief_key, first) as thief:
        second = (await thief.renew(csr_pem)).certificate_pem
    assert (await _query(stack, second_key, second)).fields
    async with stack.admin() as admin:
        revoked = await admin.revoke(_serial(original), "key-compromise")
    assert revoked.serial == _serial(original)
    for key_pem, cert_pem in ((stolen_key, original), (thief_key, first), (second_key, second)):
        refused = await _refused(_query(stack, key_pem, cert_pem))
        assert (refused.status, refused.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "UNAUTHENTICATED",
        )
    with contextlib.closing(sqlite3.connect(stack.home.database)) as db:
        rows = db.execute(
            "SELECT revoked_at, revocation_reason FROM member_certificates WHERE member_id = ?",
            (member_id,),
        ).fetchall()
    # One revocation, same time and reason for the whole chain.
    assert rows == [(revoked.revoked_at, "key-compromise")] * 3


async def test_renewal_keeps_the_roles_and_refuses_a_csr_for_another_member(
    stack: Stack,
) -> None:
    files = stack.member(ADMINISTRATOR_ID)
    _, own_csr = _csr(ADMINISTRATOR_ID)
    _, other_csr = _csr(ELIGIBILITY_ID)
    async with stack.admin() as admin:
        renewed = await admin.renew(own_csr)
        refused = await _refused(admin.renew(other_csr))
    assert roles_of(load_cert_pem(renewed.certificate_pem)) == roles_of(
        load_cert_pem(files.cert_pem)
    )
    assert (refused.status, refused.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "CSR_INVALID")


async def test_tls_turns_an_expired_certificate_away_before_it_can_renew(stack: Stack) -> None:
    member_id = "ID/GOV/KEMENSOS/expired"
    key = generate_key()
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=10)
    cert = CertificateAuthority.load(stack.home.ca_dir).issue(
        make_csr(key, member_id), member_id, valid_days=1, now=long_ago
    )
    with stack.registry() as registry:
        registry.add_member_certificate(certificate_record(cert, member_id))
    _, csr_pem = _csr(member_id)
    async with _admin_as(stack, key_to_pem(key), cert_to_pem(cert)) as expired:
        with pytest.raises(HubUnreachable) as unreached:
            await expired.renew(csr_pem)
    # TLS itself turns the expired certificate away: the call never reaches the hub ...
    assert unreached.value.status == grpc.StatusCode.UNAVAILABLE
    with stack.registry() as registry:
        assert len(registry.member_certificates(member_id)) == 1
    # ... which is up and answering members whose certificates are valid.
    async with stack.client() as client:
        assert await client.list_services()


async def test_two_administrators_approving_at_once_decide_once(stack: Stack) -> None:
    member_id = "ID/GOV/KEMENSOS/raced"
    before = stack.log_size()
    async with stack.admin() as admin, stack.admin() as other:
        submitted = await admin.submit_enrolment(_csr(member_id)[1], member_id)
        outcomes = await asyncio.gather(
            *(a.approve_enrolment(submitted.request_id) for a in (admin, other, admin, other)),
            return_exceptions=True,
        )
    approved = [o for o in outcomes if isinstance(o, admin_pb2.Enrolment)]
    refused = [o for o in outcomes if isinstance(o, QueryRefused)]
    assert len(approved) == 1 and len(refused) == 3
    assert {r.reason for r in refused} == {"ALREADY_DECIDED"}
    # What is recorded is what was done: one approval, three refusals, one certificate.
    decisions = [
        r.decision for r in stack.records(before) if r.service_id.endswith("/ApproveEnrolment")
    ]
    assert sorted(decisions) == ["REFUSED"] * 3 + ["RELEASED"]
    with stack.registry() as registry:
        (cert,) = registry.member_certificates(member_id)
    assert cert.serial == approved[0].serial


async def test_an_approval_that_cannot_be_recorded_is_not_made(own_stack: Stack) -> None:
    stack = own_stack
    member_id = "ID/GOV/KEMENSOS/unrecorded"
    async with stack.admin() as admin:
        submitted = await admin.submit_enrolment(_csr(member_id)[1], member_id)
        size = stack.log_size()
        with stack.audit_broken():
            refused = await _refused(admin.approve_enrolment(submitted.request_id))
        assert (refused.status, refused.reason) == (
            grpc.StatusCode.UNAVAILABLE,
            "AUDIT_UNAVAILABLE",
        )
        assert stack.log_size() == size
        with stack.registry() as registry:
            assert registry.member_certificates(member_id) == []
            assert registry.enrolment(submitted.request_id).state == "PENDING"  # type: ignore[union-attr]
        # Nothing was held back either: once the log is mended the approval goes through.
        approved = await admin.approve_enrolment(submitted.request_id)
    assert approved.state == admin_pb2.REQUEST_APPROVED


def _admin_as(stack: Stack, key_pem: bytes, cert_pem: bytes) -> AdminClient:
    return AdminClient(
        stack.address, key_pem=key_pem, cert_pem=cert_pem, ca_pem=stack.home.ca_cert.read_bytes()
    )


# --- connectors, services, discovery ------------------------------------------------------


@pytest.fixture(scope="module")
def dinsos(stack: Stack) -> Iterator[RunningProcess]:
    """A connector of a new agency (Dinas Sosial), not yet registered with the hub."""
    files = stack.member(DINSOS_ID)
    process = start_module(
        "dinsos",
        "tests.rogue_connector",
        ["--home", str(stack.home.root), "--member-dir", str(files.key_path.parent)],
    )
    yield process
    process.stop()


async def _query_service(stack: Stack, service_id: str) -> QueryAnswer:
    nik = stack.people.employed
    token, _ = stack.consent(nik, service_id, ("employment_status",))
    async with stack.client() as client:
        return await employment_query(
            client, nik, token, ("employment_status",), service_id=service_id
        )


@pytest.fixture(scope="module")
def discovered(stack: Stack, dinsos: RunningProcess) -> str:
    """A service of the new agency, registered and approved through the API."""

    async def register() -> None:
        async with stack.admin(DINSOS_ID) as agency, stack.admin() as admin:
            offer = {DISCOVERED: CATALOGUE_V2}
            registration = await agency.register_connector(dinsos.address, offer)
            await admin.approve_connector(registration.registration_id)

    asyncio.run(register())
    return DISCOVERED


async def test_a_registered_connector_routes_queries_once_approved(
    stack: Stack, dinsos: RunningProcess
) -> None:
    async with stack.admin(DINSOS_ID) as agency, stack.admin() as admin:
        registration = await agency.register_connector(dinsos.address, {HONEST: CATALOGUE})
        pending = await _refused(_query_service(stack, HONEST))
        approved = await admin.approve_connector(registration.registration_id)
        fetched = await agency.connector_registration(registration.registration_id)
        answer = await _query_service(stack, HONEST)
        changed = await agency.register_connector(dinsos.address, {HONEST: CATALOGUE_V2})
        second = await admin.approve_connector(changed.registration_id)
    assert registration.state == admin_pb2.REQUEST_PENDING
    assert registration.agency_id == DINSOS_ID
    assert (pending.status, pending.reason) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_SERVICE")
    assert approved.state == fetched.state == admin_pb2.REQUEST_APPROVED
    assert dict(approved.catalogue_versions) == dict(fetched.catalogue_versions) == {HONEST: 1}
    assert answer.fields["employment_status"].value == "active"
    assert dict(second.catalogue_versions) == {HONEST: 2}
    async with stack.client() as client:
        v1 = await client.catalogue(HONEST, 1)
        current = await client.catalogue(HONEST)
    assert [f.name for f in v1.fields] == [f.name for f in CATALOGUE]
    assert (current.version, [f.name for f in current.fields]) == (
        2,
        [f.name for f in CATALOGUE_V2],
    )


async def test_a_rejected_registration_routes_nothing(stack: Stack, dinsos: RunningProcess) -> None:
    service_id = f"{DINSOS_ID}/honest-rejected"
    async with stack.admin(DINSOS_ID) as agency, stack.admin() as admin:
        registration = await agency.register_connector(dinsos.address, {service_id: CATALOGUE})
        rejected = await admin.reject_connector(registration.registration_id, "endpoint unknown")
        late = await _refused(admin.approve_connector(registration.registration_id))
    assert rejected.state == admin_pb2.REQUEST_REJECTED and rejected.reason == "endpoint unknown"
    assert late.reason == "ALREADY_DECIDED"
    assert (await _refused(_query_service(stack, service_id))).reason == "UNKNOWN_SERVICE"


async def test_an_agency_cannot_register_another_agencys_service(
    stack: Stack, dinsos: RunningProcess
) -> None:
    async with stack.admin(DINSOS_ID) as agency:
        refused = await _refused(
            agency.register_connector(dinsos.address, {EMPLOYMENT_SERVICE: CATALOGUE})
        )
    _assert_refused(stack, refused, DENIED, "ORGANISATION_MISMATCH", DINSOS_ID, "RegisterConnector")
    with stack.registry() as registry:
        route = registry.service(EMPLOYMENT_SERVICE)
    assert route is not None and route.agency_id == "ID/GOV/BPJSTK/wages"


async def test_a_disabled_service_is_refused_and_works_again_once_enabled(
    stack: Stack, discovered: str
) -> None:
    async with stack.admin() as admin:
        await admin.set_service_enabled(discovered, False)
        try:
            refused = await _refused(_query_service(stack, discovered))
            async with stack.client() as client:
                listed = {s.service_id for s in await client.list_services()}
        finally:
            await admin.set_service_enabled(discovered, True)
        unknown = await _refused(admin.set_service_enabled(f"{DINSOS_ID}/nothing", False))
    assert (refused.status, refused.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SERVICE_DISABLED",
    )
    assert discovered not in listed
    assert (await _query_service(stack, discovered)).fields["employment_status"].value == "active"
    assert unknown.reason == "UNKNOWN_TARGET"


async def test_discovery_lists_exactly_the_fields_policy_and_catalogue_both_allow(
    stack: Stack, discovered: str
) -> None:
    async with stack.client() as client:
        allowed = await client.allowed_services(PURPOSE)
        catalogues = {s.service_id: s for s in await client.list_services()}
    async with stack.client(PILOT_ID) as pilot:
        for_pilot = await pilot.allowed_services(PURPOSE)
    services = {s.service_id: s for s in allowed.services}
    fields = {f.spec.name: f.treatment for f in services[discovered].fields}
    # ghost_field: allowed by policy, offered by no catalogue; household_size: the reverse.
    assert fields == {"employment_status": common_pb2.RAW, "monthly_wage": common_pb2.PREDICATE}
    assert services[discovered].catalogue_version >= 1
    # Every other service too: exactly policy ∩ catalogue, for this client and purpose.
    policies = load_policies(stack.home.root / "policies")
    for service_id, catalogue in catalogues.items():
        expected = set(policies.allowed_fields(ELIGIBILITY_ID, PURPOSE, service_id)) & {
            f.name for f in catalogue.fields
        }
        got = (
            {f.spec.name for f in services[service_id].fields} if service_id in services else set()
        )
        assert got == expected, service_id
    # Another client, its own rules: one service, one field.
    assert [(s.service_id, [f.spec.name for f in s.fields]) for s in for_pilot.services] == [
        (EMPLOYMENT_SERVICE, ["employment_status"])
    ]


# --- the log -------------------------------------------------------------------------------


async def test_every_administrative_call_allowed_or_refused_is_in_the_audit_log(
    stack: Stack,
) -> None:
    before = stack.log_size()
    async with stack.admin() as admin, stack.admin(ELIGIBILITY_ID) as member:
        await admin.enrolments()
        await _refused(member.enrolments())
        await _refused(member.set_service_enabled(EMPLOYMENT_SERVICE, False))
        await _refused(admin.approve_enrolment("enr-none"))
        await admin.connector_registrations("pending")
    records = [
        (r.client_id, r.service_id, r.decision, r.reason, r.purpose) for r in stack.records(before)
    ]
    admin_api = "jembatan.v1.Admin/"
    assert records == [
        (ADMINISTRATOR_ID, admin_api + "ListEnrolments", "RELEASED", "", "administration"),
        (
            ELIGIBILITY_ID,
            admin_api + "ListEnrolments",
            "REFUSED",
            "ROLE_REQUIRED",
            "administration",
        ),
        (
            ELIGIBILITY_ID,
            admin_api + "SetServiceEnabled",
            "REFUSED",
            "ROLE_REQUIRED",
            "administration",
        ),
        (
            ADMINISTRATOR_ID,
            admin_api + "ApproveEnrolment",
            "REFUSED",
            "UNKNOWN_TARGET",
            "administration",
        ),
        (
            ADMINISTRATOR_ID,
            admin_api + "ListConnectorRegistrations",
            "RELEASED",
            "",
            "administration",
        ),
    ]
