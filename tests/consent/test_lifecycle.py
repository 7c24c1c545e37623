"""The consent lifecycle through a real hub: request, grant, reject, revoke, expiry; every
illegal transition refused with its reason and changing nothing; the citizen's own list and
signed receipt; use counting; every consent call in the audit log."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from itertools import count
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE
from consent.artefact import sign_revocation, sign_subject_token
from consent.receipt import ReceiptError, verify_consent_receipt
from hub.home import CONSENT_MANAGER_ID
from jembatan.client import HubClient, QueryRefused
from jembatan.keys import load_ed25519_public_pem
from jembatan.v1 import consent_pb2
from tests.stack import ELIGIBILITY_ID, EMPLOYMENT_FIELDS, PURPOSE, Stack, employment_query

PORTAL = CONSENT_MANAGER_ID
OTHER_MEMBER = "ID/GOV/KEMENSOS/research"
DAY = 24 * 3600
DENIED, INVALID = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION, NOT_FOUND = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND
STATE_INVALID = "CONSENT_STATE_INVALID"
_fresh = count()


def _nik(stack: Stack) -> str:
    """A citizen no other test of this module asked about (requests need no agency)."""
    people = [p.nik for p in stack.population.people()]
    return people[-1 - next(_fresh)]


async def _request(
    client: HubClient,
    nik: str,
    *,
    services: Mapping[str, Sequence[str]] | None = None,
    valid_for_s: int = 30 * DAY,
    respond_within_s: int = 0,
) -> consent_pb2.ConsentRecord:
    return await client.request_consent(
        subject=nik,
        purpose=PURPOSE,
        purpose_text="Verifikasi kelayakan bansos PKH",
        services=services or {EMPLOYMENT_SERVICE: EMPLOYMENT_FIELDS},
        valid_for_s=valid_for_s,
        data_life_s=90 * DAY,
        respond_within_s=respond_within_s,
    )


def _artefact(stack: Stack, nik: str, consent_id: str, **options: Any) -> str:
    """An artefact answering ``consent_id``'s request, signed but not yet granted;
    ``options`` (grantee, purpose, services, validity, key) as ``Stack.consent`` takes them."""
    token, _ = stack.consent(nik, consent_id=consent_id, register=False, **options)
    return token


def _token(stack: Stack, nik: str) -> str:
    return sign_subject_token(nik, stack.consent_key, issuer=PORTAL)


def _consent_tables(stack: Stack) -> list[tuple[object, ...]]:
    db = sqlite3.connect(stack.home.database)
    try:
        return [
            *db.execute("SELECT * FROM consents ORDER BY consent_id"),
            *db.execute("SELECT * FROM consent_usage ORDER BY consent_id"),
        ]
    finally:
        db.close()


Call = Callable[[], Awaitable[object]]


async def _refused(stack: Stack, status: grpc.StatusCode, reason: str, **calls: Call) -> None:
    """Each of ``calls``, named by the registry method it calls, is refused (status,
    reason), leaves the consent tables unchanged, and leaves one REFUSED record of it."""
    for method, call in calls.items():
        tables, before = _consent_tables(stack), stack.log_size()
        with pytest.raises(QueryRefused) as info:
            await call()
        assert (info.value.status, info.value.reason) == (status, reason), info.value
        assert _consent_tables(stack) == tables
        _recorded(stack, before, method, reason)


def _recorded(stack: Stack, before: int, method: str, refused_for: str = "") -> None:
    """The log holds one record since ``before``: of ``method``, released, or refused for
    the reason ``refused_for``."""
    (record,) = stack.records(before)
    assert (record.service_id, record.purpose, record.decision, record.reason) == (
        f"jembatan.v1.ConsentRegistry/{method}",
        "consent",
        "REFUSED" if refused_for else "RELEASED",
        refused_for,
    )


def _answers(portal: HubClient, request_id: str, token: str) -> dict[str, Call]:
    """The two answers to a request, by method: grant it with ``token``, or reject it."""
    return {
        "Grant": lambda: portal.grant_consent(token, request_id=request_id),
        "Reject": lambda: portal.reject_consent(request_id, "citizen-declined"),
    }


# --- the happy path ------------------------------------------------------------------------


async def test_request_grant_use_and_revoke_each_recorded(stack: Stack) -> None:
    nik = stack.people.employed
    async with stack.client() as client, stack.client(PORTAL) as portal:
        before = stack.log_size()
        requested = await _request(client, nik)
        _recorded(stack, before, "RequestConsent")
        assert requested.state == consent_pb2.REQUESTED
        assert requested.grantee == ELIGIBILITY_ID and requested.respond_by

        token = _artefact(stack, nik, requested.consent_id)
        before = stack.log_size()
        granted = await portal.grant_consent(token, request_id=requested.consent_id)
        _recorded(stack, before, "Grant")
        assert granted.state == consent_pb2.ACTIVE
        assert [(s.service_id, list(s.fields)) for s in granted.granted] == [
            (EMPLOYMENT_SERVICE, sorted(EMPLOYMENT_FIELDS))
        ]

        answer = await employment_query(client, nik, token)
        assert stack.records(answer.log_index)[0].consent_id == requested.consent_id

        before = stack.log_size()
        revoked = await portal.revoke_consent(
            sign_revocation(requested.consent_id, stack.consent_key, issuer=PORTAL)
        )
        _recorded(stack, before, "Revoke")
        assert revoked.consent_id == requested.consent_id
        # Effective on the very next query.
        with pytest.raises(QueryRefused) as info:
            await employment_query(client, nik, token)
        assert info.value.reason == "CONSENT_REVOKED"
        (mine,) = [
            c
            for c in await portal.citizen_consents(_token(stack, nik))
            if c.consent_id == requested.consent_id
        ]
        assert mine.state == consent_pb2.REVOKED and mine.revoked_at


async def test_reject_then_every_further_answer_is_refused(stack: Stack) -> None:
    nik = _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik)
        before = stack.log_size()
        rejected = await portal.reject_consent(requested.consent_id, "citizen-declined")
        _recorded(stack, before, "Reject")
        assert (rejected.state, rejected.rejection_reason) == (
            consent_pb2.REJECTED,
            "citizen-declined",
        )
        token = _artefact(stack, nik, requested.consent_id)
        await _refused(
            stack, PRECONDITION, STATE_INVALID, **_answers(portal, requested.consent_id, token)
        )
        # A rejected request's id names no consent a query may use.
        with pytest.raises(QueryRefused) as info:
            await employment_query(client, nik, token)
        assert info.value.reason == "CONSENT_UNKNOWN"


async def test_a_request_nobody_answers_expires(stack: Stack) -> None:
    nik = _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik, respond_within_s=1)
        await asyncio.sleep(1.2)
        (listed,) = await portal.citizen_consents(_token(stack, nik))
        assert listed.state == consent_pb2.EXPIRED
        token = _artefact(stack, nik, requested.consent_id)
        grant = _answers(portal, requested.consent_id, token)["Grant"]
        await _refused(stack, PRECONDITION, STATE_INVALID, Grant=grant)


async def test_illegal_transitions_change_nothing(stack: Stack) -> None:
    nik = _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik)
        token = _artefact(stack, nik, requested.consent_id)
        await portal.grant_consent(token, request_id=requested.consent_id)
        await _refused(
            stack, PRECONDITION, STATE_INVALID, **_answers(portal, requested.consent_id, token)
        )
        # The same consent, directly.
        await _refused(
            stack, PRECONDITION, STATE_INVALID, Grant=lambda: portal.grant_consent(token)
        )
        revocation = sign_revocation(requested.consent_id, stack.consent_key, issuer=PORTAL)
        await portal.revoke_consent(revocation)
        await _refused(
            stack, PRECONDITION, STATE_INVALID, Revoke=lambda: portal.revoke_consent(revocation)
        )
        unknown = sign_revocation(
            "00000000-0000-4000-8000-000000000000", stack.consent_key, issuer=PORTAL
        )
        await _refused(
            stack, DENIED, "CONSENT_UNKNOWN", Revoke=lambda: portal.revoke_consent(unknown)
        )
        no_such = _answers(portal, "no-such-request", token)
        await _refused(stack, NOT_FOUND, "CONSENT_REQUEST_UNKNOWN", **no_such)


async def test_an_expired_consent_cannot_be_granted_or_revoked(stack: Stack) -> None:
    nik = _nik(stack)
    async with stack.client(PORTAL) as portal:
        stale = _artefact(
            stack,
            nik,
            "11111111-1111-4111-8111-111111111111",
            now=datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2),
            valid_for=datetime.timedelta(days=1),
        )
        await _refused(stack, DENIED, "CONSENT_EXPIRED", Grant=lambda: portal.grant_consent(stale))
        _, consent_id = await asyncio.to_thread(stack.expired_consent, nik)
        (listed,) = await portal.citizen_consents(_token(stack, nik))
        assert (listed.consent_id, listed.state) == (consent_id, consent_pb2.EXPIRED)
        revocation = sign_revocation(consent_id, stack.consent_key, issuer=PORTAL)
        await _refused(
            stack, PRECONDITION, STATE_INVALID, Revoke=lambda: portal.revoke_consent(revocation)
        )


async def test_a_grant_that_cannot_be_recorded_is_not_made(own_stack: Stack) -> None:
    stack = own_stack
    nik = _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik)
        token = _artefact(stack, nik, requested.consent_id)
        tables, size = _consent_tables(stack), stack.log_size()
        with stack.audit_broken(), pytest.raises(QueryRefused) as info:
            await portal.grant_consent(token, request_id=requested.consent_id)
        assert (info.value.status, info.value.reason) == (
            grpc.StatusCode.UNAVAILABLE,
            "AUDIT_UNAVAILABLE",
        )
        # Nothing done: still REQUESTED, nothing in the log, and no query may use it.
        assert _consent_tables(stack) == tables and stack.log_size() == size
        (listed,) = await portal.citizen_consents(_token(stack, nik))
        assert listed.state == consent_pb2.REQUESTED
        with pytest.raises(QueryRefused) as query:
            await employment_query(client, nik, token)
        assert query.value.reason == "CONSENT_UNKNOWN"
        # And nothing held back: with the log mended the same grant goes through.
        granted = await portal.grant_consent(token, request_id=requested.consent_id)
    assert granted.state == consent_pb2.ACTIVE


async def test_answers_to_one_request_at_once_decide_it_once(stack: Stack) -> None:
    nik = _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik)
        token = _artefact(stack, nik, requested.consent_id)
        before = stack.log_size()
        outcomes = await asyncio.gather(
            portal.grant_consent(token, request_id=requested.consent_id),
            portal.reject_consent(requested.consent_id, "citizen-declined"),
            portal.grant_consent(token, request_id=requested.consent_id),
            portal.reject_consent(requested.consent_id, "citizen-declined"),
            return_exceptions=True,
        )
        (listed,) = await portal.citizen_consents(_token(stack, nik))
    (answer,) = [o for o in outcomes if isinstance(o, consent_pb2.ConsentRecord)]
    refused = [o for o in outcomes if isinstance(o, QueryRefused)]
    assert {r.reason for r in refused} == {"CONSENT_STATE_INVALID"} and len(refused) == 3
    assert listed.state == answer.state  # what was answered is what was stored
    # What is recorded is what was done: one answer released, the others refused.
    decisions = sorted(r.decision for r in stack.records(before)[:4])
    assert decisions == ["REFUSED"] * 3 + ["RELEASED"]


# --- grants that do not answer the request ---------------------------------------------------


_MISMATCHES: dict[str, dict[str, object]] = {
    "other-grantee": {"grantee": OTHER_MEMBER},
    "other-purpose": {"purpose": "research"},
    "extra-field": {"services": {EMPLOYMENT_SERVICE: [*EMPLOYMENT_FIELDS, "nik_match"]}},
    "extra-service": {
        "services": {EMPLOYMENT_SERVICE: EMPLOYMENT_FIELDS, WAGE_BAND_SERVICE: ["monthly_wage"]}
    },
    "longer-validity": {"valid_for": datetime.timedelta(days=31)},
}


@pytest.mark.parametrize("case", [*_MISMATCHES, "other-subject", "other-id"])
async def test_a_grant_must_answer_its_request(stack: Stack, case: str) -> None:
    nik = _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik)
        if case == "other-subject":
            token = _artefact(stack, _nik(stack), requested.consent_id)
        elif case == "other-id":
            token = _artefact(stack, nik, "22222222-2222-4222-8222-222222222222")
        else:
            token = _artefact(stack, nik, requested.consent_id, **_MISMATCHES[case])
        grant = _answers(portal, requested.consent_id, token)["Grant"]
        await _refused(stack, INVALID, "CONSENT_REQUEST_MISMATCH", Grant=grant)
        # A narrower grant than asked for is the citizen's right, and is accepted.
        narrower = _artefact(
            stack, nik, requested.consent_id, services={EMPLOYMENT_SERVICE: ["employment_status"]}
        )
        granted = await portal.grant_consent(narrower, request_id=requested.consent_id)
        assert granted.state == consent_pb2.ACTIVE


# --- who may grant, and what --------------------------------------------------------------------


def _altered(token: str, change: Callable[[dict[str, Any]], object]) -> str:
    """``token`` (a compact JWS) with its claims changed by ``change``, its signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _widened(artefact: str) -> str:
    """``artefact`` altered to grant one more field than its signer did."""
    return _altered(
        artefact, lambda claims: claims["services"][EMPLOYMENT_SERVICE].append("nik_match")
    )


async def test_forged_or_altered_artefacts_are_refused_at_grant_and_at_query(
    stack: Stack,
) -> None:
    nik = stack.people.employed
    async with stack.client() as client, stack.client(PORTAL) as portal:
        requested = await _request(client, nik)
        genuine = _artefact(stack, nik, requested.consent_id)
        forged = _artefact(stack, nik, requested.consent_id, key=Ed25519PrivateKey.generate())
        for token in (forged, _widened(genuine)):
            grant = _answers(portal, requested.consent_id, token)["Grant"]
            await _refused(stack, DENIED, "CONSENT_INVALID", Grant=grant)
        await portal.grant_consent(genuine, request_id=requested.consent_id)
        with pytest.raises(QueryRefused) as info:
            await employment_query(client, nik, _widened(genuine))
        assert info.value.reason == "CONSENT_INVALID"


async def test_only_the_consent_manager_grants_or_rejects(stack: Stack) -> None:
    nik = _nik(stack)
    async with stack.client() as client:
        requested = await _request(client, nik)
        token = _artefact(stack, nik, requested.consent_id)
        answers = _answers(client, requested.consent_id, token)
        await _refused(stack, DENIED, "NOT_CONSENT_MANAGER", **answers)


_BAD_REQUESTS: dict[str, tuple[dict[str, object], grpc.StatusCode, str]] = {
    "not-a-nik": ({"subject": "351011440677000"}, INVALID, "INVALID_SUBJECT"),
    "bad-purpose": ({"purpose": "Bansos Eligibility"}, INVALID, "MALFORMED_REQUEST"),
    "nik-in-text": ({"purpose_text": "for 3510114406770001"}, INVALID, "MALFORMED_REQUEST"),
    "no-text": ({"purpose_text": ""}, INVALID, "MALFORMED_REQUEST"),
    "no-validity": ({"valid_for_s": 0}, INVALID, "MALFORMED_REQUEST"),
    "no-data-life": ({"data_life_s": 0}, INVALID, "MALFORMED_REQUEST"),
    "no-service": ({"services": {}}, INVALID, "MALFORMED_REQUEST"),
    "unknown-service": (
        {"services": {"ID/GOV/BPJSTK/wages/salary-slip": ["x"]}},
        NOT_FOUND,
        "UNKNOWN_SERVICE",
    ),
    "bad-field": (
        {"services": {EMPLOYMENT_SERVICE: ["monthly wage"]}},
        INVALID,
        "MALFORMED_REQUEST",
    ),
    "nik-as-field": (
        {"services": {EMPLOYMENT_SERVICE: ["f3510114406770001"]}},
        INVALID,
        "MALFORMED_REQUEST",
    ),
    "repeated-field": (
        {"services": {EMPLOYMENT_SERVICE: ["employer", "employer"]}},
        INVALID,
        "MALFORMED_REQUEST",
    ),
}


@pytest.mark.parametrize("case", sorted(_BAD_REQUESTS))
async def test_a_bad_request_is_refused_precisely(stack: Stack, case: str) -> None:
    changes, status, reason = _BAD_REQUESTS[case]
    arguments: dict[str, object] = {
        "subject": _nik(stack),
        "purpose": PURPOSE,
        "purpose_text": "Verifikasi kelayakan bansos",
        "services": {EMPLOYMENT_SERVICE: ["employer"]},
        "valid_for_s": DAY,
        "data_life_s": DAY,
        **changes,
    }
    async with stack.client() as client:
        await _refused(
            stack,
            status,
            reason,
            RequestConsent=lambda: client.request_consent(**arguments),  # type: ignore[arg-type]
        )


# --- the citizen's view --------------------------------------------------------------------------


def _asks(caller: HubClient, token: str, consent_id: str) -> dict[str, Call]:
    """A citizen's two questions, by method, asked by ``caller`` with the citizen's
    ``token``: their consents, and the receipt of ``consent_id``."""
    return {
        "ListMine": lambda: caller.citizen_consents(token),
        "Receipt": lambda: caller.consent_receipt(token, consent_id),
    }


async def test_a_citizen_lists_only_their_own_consents(stack: Stack) -> None:
    citizen, neighbour = _nik(stack), _nik(stack)
    async with stack.client() as client, stack.client(PORTAL) as portal:
        mine = await _request(client, citizen)
        theirs = await _request(client, neighbour)
        before = stack.log_size()
        listed = await portal.citizen_consents(_token(stack, citizen))
        _recorded(stack, before, "ListMine")
        assert [c.consent_id for c in listed] == [mine.consent_id]
        assert listed[0].purpose_text == "Verifikasi kelayakan bansos PKH"
        assert theirs.consent_id not in {
            c.consent_id for c in await portal.citizen_consents(_token(stack, citizen))
        }
        forged = sign_subject_token(citizen, Ed25519PrivateKey.generate(), issuer=PORTAL)
        await _refused(
            stack, DENIED, "SUBJECT_TOKEN_INVALID", ListMine=lambda: portal.citizen_consents(forged)
        )


async def test_only_the_consent_manager_asks_for_a_citizens_consents(stack: Stack) -> None:
    citizen = _nik(stack)
    _, consent_id = stack.consent(citizen)
    token = _token(stack, citizen)
    async with stack.client() as member:  # holds the citizen's token, is not the portal
        await _refused(stack, DENIED, "NOT_CONSENT_MANAGER", **_asks(member, token, consent_id))


@pytest.mark.parametrize("case", ["issued-ahead", "long-lived"])
async def test_a_subject_token_is_fresh_and_short_lived(stack: Stack, case: str) -> None:
    citizen = _nik(stack)
    _, consent_id = stack.consent(citizen)
    token = sign_subject_token(
        citizen,
        stack.consent_key,
        issuer=PORTAL,
        **(  # type: ignore[arg-type]
            {"now": datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)}
            if case == "issued-ahead"
            else {"valid_for": datetime.timedelta(hours=2)}
        ),
    )
    async with stack.client(PORTAL) as portal:
        await _refused(stack, DENIED, "SUBJECT_TOKEN_INVALID", **_asks(portal, token, consent_id))


async def test_uses_count_released_queries_only(stack: Stack) -> None:
    nik = sorted(stack.population.bpjstk)[-1]  # known to the agency, no other test's citizen
    token, consent_id = stack.consent(nik, fields=("employment_status",))
    async with stack.client() as client, stack.client(PORTAL) as portal:
        await employment_query(client, nik, token, ("employment_status",))
        answer = await employment_query(client, nik, token, ("employment_status",))
        with pytest.raises(QueryRefused):  # outside the consent: refused, not a use
            await employment_query(client, nik, token, ("employer",))
        (listed,) = [
            c
            for c in await portal.citizen_consents(_token(stack, nik))
            if c.consent_id == consent_id
        ]
    assert listed.uses == 2
    assert listed.last_used == stack.records(answer.log_index)[0].time


async def test_a_receipt_verifies_with_the_hubs_key_and_an_altered_one_does_not(
    stack: Stack,
) -> None:
    citizen, neighbour = _nik(stack), _nik(stack)
    _, consent_id = stack.consent(citizen)
    _, other_id = stack.consent(neighbour)
    async with stack.client(PORTAL) as portal:
        before = stack.log_size()
        receipt = await portal.consent_receipt(_token(stack, citizen), consent_id)
        _recorded(stack, before, "Receipt")
        someone_elses = _asks(portal, _token(stack, citizen), other_id)["Receipt"]
        await _refused(stack, NOT_FOUND, "CONSENT_REQUEST_UNKNOWN", Receipt=someone_elses)
    hub_key = load_ed25519_public_pem(stack.home.log_public_key.read_bytes())
    document = verify_consent_receipt(receipt, hub_key)
    assert (document["record_id"], document["state"], document["controller"]) == (
        consent_id,
        "ACTIVE",
        ELIGIBILITY_ID,
    )
    assert document["purposes"][0]["services"][0]["service_id"] == EMPLOYMENT_SERVICE
    assert citizen not in receipt and citizen not in json.dumps(document)
    with pytest.raises(ReceiptError):
        verify_consent_receipt(
            _altered(receipt, lambda claims: claims.update(state="REVOKED")), hub_key
        )
    with pytest.raises(ReceiptError):  # and the consent manager's key is not the hub's
        verify_consent_receipt(receipt, stack.consent_key.public_key())
