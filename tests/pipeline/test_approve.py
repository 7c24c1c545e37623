"""Approve alone: where the rule demands two-person approval, a second member holding the
approver role signed this very request body, once; otherwise any approval is ignored."""

from __future__ import annotations

import pytest

from hub.pipeline.exchange import Exchange
from hub.pipeline.replay import ReplayGuard
from hub.pipeline.stages import Approve, CertificateCache
from jembatan.jws import APPROVAL_TYPE, REQUEST_TYPE, sign_envelope
from jembatan.v1 import exchange_pb2
from tests.forged_jws import broken_rules, forged_envelope
from tests.pipeline.fakes import (
    APPROVER_ID,
    APPROVER_MEMBER,
    BREAK_GLASS_PURPOSE,
    CLIENT_APPROVER,
    CLIENT_ID,
    CLOCK_SKEW_S,
    EXPIRED,
    MAX_AGE_S,
    NOW,
    OTHER_CLIENT,
    OTHER_CLIENT_ID,
    PURPOSE,
    SERVICE_ID,
    FakeRegistry,
    approval,
    exchange,
    policy_set,
    query_body,
    refusal,
    signed_request,
)

POLICIES = policy_set()
BREAK_GLASS_BODY = query_body(purpose=BREAK_GLASS_PURPOSE, fields=["employment_status"])
BODY = BREAK_GLASS_BODY.SerializeToString()


def _registry() -> FakeRegistry:
    return (
        FakeRegistry()
        .add(APPROVER_MEMBER.record())
        .add(CLIENT_APPROVER.record())
        .add(OTHER_CLIENT.record())
    )


def _approve(registry: FakeRegistry | None = None, replay: ReplayGuard | None = None) -> Approve:
    return Approve(
        (registry or _registry()).snapshot(),
        CertificateCache(),
        ReplayGuard() if replay is None else replay,
        MAX_AGE_S,
        CLOCK_SKEW_S,
    )


def _query(token: str, body: exchange_pb2.QueryBody = BREAK_GLASS_BODY) -> Exchange:
    """A break-glass query (or another, by ``body``) carrying the approval ``token``."""
    request = signed_request(body)
    request.approval = token
    decision = POLICIES.decide(CLIENT_ID, body.purpose, SERVICE_ID, list(body.fields))
    return exchange(request, member_id=CLIENT_ID, decision=decision)


async def test_an_approvers_signature_over_the_body_passes_and_claims_its_nonce() -> None:
    x = _query(approval(BODY))
    await _approve()(x)
    assert x.approved_by == APPROVER_ID
    assert [n.issuer for n in x.nonces] == [APPROVER_ID]


async def test_an_approval_the_rule_does_not_ask_for_is_ignored() -> None:
    x = _query("not even a token", query_body(purpose=PURPOSE))
    assert x.decision is not None and not x.decision.two_person_approval
    await _approve()(x)
    assert x.approved_by == "" and x.nonces == []


async def test_no_approval_where_the_rule_demands_one_is_approval_required() -> None:
    assert await refusal(_approve(), _query("")) == "APPROVAL_REQUIRED"


def _wrong_key() -> str:
    """Names the approver's certificate, signed with another member's key."""
    return sign_envelope(
        BODY,
        OTHER_CLIENT.key,
        issuer=APPROVER_ID,
        typ=APPROVAL_TYPE,
        key_id=APPROVER_MEMBER.serial,
        now=NOW,
    )


def _forged(header: dict[str, object] | None = None, **how: object) -> str:
    """An approval made by hand, genuinely signed by the approver (kid names its
    certificate unless ``header`` says otherwise)."""
    return forged_envelope(
        BODY,
        APPROVER_MEMBER.key,
        issuer=APPROVER_ID,
        typ=APPROVAL_TYPE,
        at=NOW,
        header={"kid": APPROVER_MEMBER.serial, **(header or {})},
        **how,  # type: ignore[arg-type]
    )


_FORGED = broken_rules(
    typ=APPROVAL_TYPE, other_typ=REQUEST_TYPE, issuer=APPROVER_ID, other_serial=OTHER_CLIENT.serial
)


async def test_an_approval_made_by_hand_with_nothing_wrong_passes() -> None:
    # The control for the forged approvals below: only the rule each breaks refuses it.
    x = _query(_forged())
    await _approve()(x)
    assert x.approved_by == APPROVER_ID


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(approval(BODY, kid=False), id="no-kid"),
        pytest.param("not.a.token", id="not-a-jws"),
        pytest.param(approval(BODY, OTHER_CLIENT), id="approver-lacks-role"),
        pytest.param(approval(BODY, CLIENT_APPROVER), id="requester-approves-itself"),
        pytest.param(_wrong_key(), id="other-key"),
        pytest.param(approval(BODY, typ=REQUEST_TYPE), id="request-typ"),
        pytest.param(approval(BODY, issuer=OTHER_CLIENT_ID), id="other-issuer"),
        pytest.param(
            approval(
                query_body(purpose=BREAK_GLASS_PURPOSE, fields=["employer"]).SerializeToString()
            ),
            id="other-body",
        ),
        # Stale is no REQUEST_EXPIRED here: it is the approval that is invalid.
        pytest.param(approval(BODY, at=NOW - MAX_AGE_S - 1), id="stale"),
        pytest.param(approval(BODY, at=NOW + CLOCK_SKEW_S + 1), id="future"),
        # Signed now, valid for ten years: no longer than a request may live.
        pytest.param(approval(BODY, ttl_s=10 * 365 * 86400), id="exp-in-ten-years"),
        *(pytest.param(_forged(**how), id=case) for case, how in _FORGED.items()),
    ],
)
async def test_an_approval_that_does_not_hold_is_approval_invalid(token: str) -> None:
    x = _query(token)
    assert await refusal(_approve(), x) == "APPROVAL_INVALID"
    assert x.approved_by == "" and x.nonces == []


@pytest.mark.parametrize(
    "registry",
    [
        pytest.param(FakeRegistry(), id="unregistered"),
        pytest.param(
            FakeRegistry().add(APPROVER_MEMBER.record(revoked_at="2026-10-01T00:00:00Z")),
            id="revoked",
        ),
        pytest.param(FakeRegistry().add(APPROVER_MEMBER.record(not_after=EXPIRED)), id="expired"),
    ],
)
async def test_an_approver_certificate_not_usable_is_approval_invalid(
    registry: FakeRegistry,
) -> None:
    x = _query(approval(BODY))
    assert await refusal(_approve(registry), x) == "APPROVAL_INVALID"
    assert x.approved_by == ""


async def test_one_approval_covers_one_query() -> None:
    # The requester signs the same body afresh: a new request, the same approval.
    replay = ReplayGuard()
    token = approval(BODY)
    await _approve(replay=replay)(_query(token))
    again = _query(token)
    assert await refusal(_approve(replay=replay), again) == "APPROVAL_INVALID"
    assert again.approved_by == ""
