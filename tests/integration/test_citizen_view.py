"""A citizen sees who accessed their data — and only theirs — through the consent
manager's portal, with a subject token the portal issued them."""

from __future__ import annotations

import datetime
import json

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent.artefact import sign_subject_token
from hub.home import CONSENT_MANAGER_ID
from jembatan.audit.record import AuditRecord
from jembatan.client import refusal_of
from jembatan.v1 import audit_pb2, audit_pb2_grpc
from tests.stack import ELIGIBILITY_ID, Stack, employment_query

PORTAL = CONSENT_MANAGER_ID


def _stub(stack: Stack, member_id: str) -> tuple[grpc.aio.Channel, audit_pb2_grpc.AuditStub]:
    channel = stack.channel(member_id)
    return channel, audit_pb2_grpc.AuditStub(channel)


async def test_a_citizen_sees_every_access_to_their_data_and_nobody_elses(stack: Stack) -> None:
    citizen, neighbour = stack.people.recently_terminated, stack.people.employed
    async with stack.client() as client:
        for nik in (citizen, neighbour):
            token, _ = stack.consent(nik)
            await employment_query(client, nik, token)
    # A security officer looks the citizen up: that, too, is an access they see.
    channel, audit = _stub(stack, stack.auditor())
    async with channel:
        await audit.Search(audit_pb2.SearchRequest(subject=citizen))

    channel, audit = _stub(stack, PORTAL)
    async with channel:
        mine = await audit.CitizenAccesses(
            audit_pb2.CitizenAccessesRequest(
                subject_token=sign_subject_token(citizen, stack.consent_key, issuer=PORTAL)
            )
        )
    by_whom = {(a.client_id, a.purpose) for a in mine.accesses}
    assert (ELIGIBILITY_ID, "bansos-eligibility") in by_whom
    assert (stack.auditor(), "audit") in by_whom
    released = next(a for a in mine.accesses if a.decision == "RELEASED" and a.fields_released)
    assert {f.name: f.treatment for f in released.fields_released}["monthly_wage"] == "predicate"
    # Only the citizen's own: every listed record carries their pseudonym.
    with stack.registry() as registry:
        mine_pseudonyms = {
            json.loads(registry.entry(a.log_index)[1])["subject"] for a in mine.accesses
        }
    assert len(mine_pseudonyms) == 1


async def test_a_long_timeline_comes_in_pages_newest_first_and_adds_up_to_the_whole(
    stack: Stack,
) -> None:
    citizen = stack.people.unregistered
    async with stack.client() as client:
        token, _ = stack.consent(citizen)
        for _ in range(5):
            await employment_query(client, citizen, token)
    channel, audit = _stub(stack, PORTAL)

    def ask(**paging: int) -> audit_pb2.CitizenAccessesRequest:
        token = sign_subject_token(citizen, stack.consent_key, issuer=PORTAL)
        return audit_pb2.CitizenAccessesRequest(subject_token=token, **paging)

    async with channel:
        whole = await audit.CitizenAccesses(ask())
        pages: list[audit_pb2.CitizenAccessList] = [await audit.CitizenAccesses(ask(limit=2))]
        while pages[-1].more:
            before = pages[-1].next_before_index
            pages.append(
                await audit.CitizenAccesses(ask(limit=2, before_index=before, has_before_index=1))
            )
    # The citizen's own looks at the timeline (these calls) are in neither.
    indices = [a.log_index for a in whole.accesses]
    assert len(indices) >= 5 and indices == sorted(indices) and not whole.more
    paged = [a.log_index for page in pages for a in page.accesses]
    assert [len(page.accesses) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert paged == sorted(indices, reverse=True)  # every access once, newest first
    assert pages[0].next_before_index == paged[1]


async def _refused_accesses(stack: Stack, member_id: str, token: str, reason: str) -> AuditRecord:
    """As ``member_id``, ask for the accesses to the citizen ``token`` names: the call is
    refused PERMISSION_DENIED for ``reason`` and recorded so; the record."""
    before = stack.log_size()
    channel, audit = _stub(stack, member_id)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await audit.CitizenAccesses(audit_pb2.CitizenAccessesRequest(subject_token=token))
    refusal = refusal_of(error.value)
    return stack.refused_once(before, refusal, grpc.StatusCode.PERMISSION_DENIED, reason)


_NOW = datetime.datetime.now(datetime.UTC)


@pytest.mark.parametrize(
    "case", ["forged", "expired", "issued-ahead", "long-lived", "garbage", "empty"]
)
async def test_without_a_valid_subject_token_nothing_is_shown_and_that_is_logged(
    stack: Stack, case: str
) -> None:
    nik = stack.people.employed
    token = {
        "forged": sign_subject_token(nik, Ed25519PrivateKey.generate(), issuer=PORTAL),
        "expired": sign_subject_token(
            nik, stack.consent_key, issuer=PORTAL, now=_NOW - datetime.timedelta(hours=1)
        ),
        # Dated ahead, or good for a day: either would outlive the citizen's session.
        "issued-ahead": sign_subject_token(
            nik, stack.consent_key, issuer=PORTAL, now=_NOW + datetime.timedelta(hours=1)
        ),
        "long-lived": sign_subject_token(
            nik, stack.consent_key, issuer=PORTAL, valid_for=datetime.timedelta(days=1)
        ),
        "garbage": "not.a.token",
        "empty": "",
    }[case]
    record = await _refused_accesses(stack, PORTAL, token, "SUBJECT_TOKEN_INVALID")
    assert record.service_id == "jembatan.v1.Audit/CitizenAccesses"


async def test_only_the_consent_manager_asks_for_a_citizen(stack: Stack) -> None:
    """A member holding a citizen's subject token is not the portal that authenticated them."""
    nik = stack.people.employed
    token = sign_subject_token(nik, stack.consent_key, issuer=PORTAL)
    record = await _refused_accesses(stack, ELIGIBILITY_ID, token, "NOT_CONSENT_MANAGER")
    assert (record.client_id, record.service_id, record.purpose) == (
        ELIGIBILITY_ID,
        "jembatan.v1.Audit/CitizenAccesses",
        "citizen-access",
    )
