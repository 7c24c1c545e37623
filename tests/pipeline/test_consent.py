"""CheckConsent alone: a consent the hub granted, still active, covers the query — or the
query names a legal basis instead, whose texts are fit for the audit record."""

from __future__ import annotations

import datetime
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.pipeline.exchange import Exchange
from hub.pipeline.stages import CheckConsent
from hub.store.base import ACTIVE, REJECTED, REQUESTED, REVOKED
from jembatan.v1 import exchange_pb2
from tests.pipeline.fakes import (
    CLIENT_ID,
    FIELDS,
    JUSTIFICATION,
    LAW,
    NOW,
    NOW_DT,
    OTHER_CLIENT_ID,
    OTHER_NIK,
    OTHER_SERVICE_ID,
    SERVICE_ID,
    ConsentManager,
    FakeRegistry,
    consent_record,
    exchange,
    legal_basis,
    query_body,
    refusal,
)

PORTAL = ConsentManager()


def _granted(status: str = ACTIVE, **artefact: object) -> tuple[CheckConsent, str, str]:
    """The stage, over a registry where the hub granted one artefact: (stage, token, id)."""
    consent_id = str(uuid.uuid4())
    token = PORTAL.artefact(consent_id=consent_id, **artefact)
    registry = FakeRegistry().put_consent(consent_record(token, consent_id, status=status))
    return CheckConsent(PORTAL.verifier(), registry.snapshot()), token, consent_id


def _query(consent: str = "", received_at: float = NOW, **body: object) -> Exchange:
    return exchange(
        body=query_body(consent=consent, **body), member_id=CLIENT_ID, received_at=received_at
    )


async def test_a_granted_active_covering_consent_passes() -> None:
    stage, token, consent_id = _granted()
    x = _query(token)
    await stage(x)
    assert x.consent is not None and x.consent.consent_id == consent_id
    assert x.legal_basis is None


async def test_no_consent_and_no_legal_basis_is_consent_missing() -> None:
    stage, _, _ = _granted()
    assert await refusal(stage, _query("")) == "CONSENT_MISSING"


async def test_a_consent_another_key_signed_is_consent_invalid() -> None:
    stage, _, _ = _granted()
    forged = PORTAL.artefact(key=Ed25519PrivateKey.generate())
    assert await refusal(stage, _query(forged)) == "CONSENT_INVALID"


async def test_a_consent_that_is_no_jws_is_consent_invalid() -> None:
    stage, _, _ = _granted()
    assert await refusal(stage, _query("not.a.token")) == "CONSENT_INVALID"


async def test_a_consent_the_hub_never_registered_is_consent_unknown() -> None:
    stage, _, _ = _granted()
    unregistered = PORTAL.artefact()  # genuinely signed by the portal, never granted here
    assert await refusal(stage, _query(unregistered)) == "CONSENT_UNKNOWN"


@pytest.mark.parametrize("status", [REQUESTED, REJECTED])
async def test_a_consent_never_made_active_is_consent_unknown(status: str) -> None:
    stage, token, _ = _granted(status=status)
    assert await refusal(stage, _query(token)) == "CONSENT_UNKNOWN"


async def test_another_artefact_under_a_registered_id_is_consent_unknown() -> None:
    # The portal signed a second, wider artefact under the id the hub registered.
    stage, _, consent_id = _granted(services={SERVICE_ID: FIELDS[:1]})
    wider = PORTAL.artefact(consent_id=consent_id)
    assert await refusal(stage, _query(wider)) == "CONSENT_UNKNOWN"


async def test_a_revoked_consent_is_consent_revoked() -> None:
    stage, token, _ = _granted(status=REVOKED)
    assert await refusal(stage, _query(token)) == "CONSENT_REVOKED"


async def test_a_consent_past_its_end_is_consent_expired() -> None:
    stage, token, _ = _granted(
        start=NOW_DT - datetime.timedelta(days=31), valid_for=datetime.timedelta(days=30)
    )
    assert await refusal(stage, _query(token)) == "CONSENT_EXPIRED"


async def test_expiry_is_judged_by_the_exchange_clock() -> None:
    stage, token, _ = _granted(
        start=NOW_DT - datetime.timedelta(days=1), valid_for=datetime.timedelta(days=2)
    )
    await stage(_query(token))
    later = NOW + datetime.timedelta(days=1).total_seconds()
    assert await refusal(stage, _query(token, received_at=later)) == "CONSENT_EXPIRED"


async def test_a_consent_not_yet_valid_is_consent_invalid() -> None:
    stage, token, _ = _granted(start=NOW_DT + datetime.timedelta(hours=1))
    assert await refusal(stage, _query(token)) == "CONSENT_INVALID"


@pytest.mark.parametrize(
    ("artefact", "reason"),
    [
        ({"subject": OTHER_NIK}, "CONSENT_SUBJECT_MISMATCH"),
        ({"grantee": OTHER_CLIENT_ID}, "CONSENT_GRANTEE_MISMATCH"),
        ({"purpose": "research-statistics"}, "CONSENT_PURPOSE_MISMATCH"),
        ({"services": {OTHER_SERVICE_ID: FIELDS}}, "CONSENT_SERVICE_MISMATCH"),
        ({"services": {SERVICE_ID: FIELDS[:2]}}, "FIELD_NOT_CONSENTED"),
    ],
    ids=["subject", "grantee", "purpose", "service", "fields"],
)
async def test_a_consent_that_does_not_cover_the_query_is_refused(
    artefact: dict[str, object], reason: str
) -> None:
    stage, token, _ = _granted(**artefact)
    assert await refusal(stage, _query(token)) == reason


async def test_the_grantee_is_the_identified_member() -> None:
    # The certificate's member, not whatever the body claims, must be the grantee.
    stage, token, _ = _granted()
    x = _query(token)
    x.member_id = OTHER_CLIENT_ID
    assert await refusal(stage, x) == "CONSENT_GRANTEE_MISMATCH"


# --- break-glass: a legal basis instead of a consent ----------------------------------------


async def test_a_legal_basis_instead_of_a_consent_passes_with_its_justification_trimmed() -> None:
    stage, _, _ = _granted()
    x = _query(legal_basis=legal_basis(justification=f"  {JUSTIFICATION}\t"))
    await stage(x)
    assert x.legal_basis == exchange_pb2.LegalBasis(reference=LAW, justification=JUSTIFICATION)
    assert x.consent is None


async def test_a_consent_and_a_legal_basis_together_are_malformed() -> None:
    stage, token, _ = _granted()
    x = _query(token, legal_basis=legal_basis())
    assert await refusal(stage, x) == "MALFORMED_REQUEST"


@pytest.mark.parametrize("justification", ["too short", "    short      "], ids=["9", "padded"])
async def test_a_short_justification_is_justification_required(justification: str) -> None:
    stage, _, _ = _granted()
    x = _query(legal_basis=legal_basis(justification=justification))
    assert await refusal(stage, x) == "JUSTIFICATION_REQUIRED"


@pytest.mark.parametrize(
    "basis",
    [
        pytest.param(legal_basis(justification="j" * 501), id="justification-too-long"),
        pytest.param(legal_basis(justification="Flood in Demak\nforged line"), id="justif-ctrl"),
        pytest.param(
            legal_basis(justification="Flood victim 3510-0000-0000-0001"), id="justif-nik"
        ),
        pytest.param(legal_basis(reference=""), id="reference-empty"),
        pytest.param(legal_basis(reference="r" * 201), id="reference-too-long"),
        pytest.param(legal_basis(reference="UU 24/2007\u202e"), id="reference-ctrl"),
        pytest.param(legal_basis(reference="UU 3510000000000001"), id="reference-nik"),
    ],
)
async def test_a_legal_basis_unfit_for_the_audit_record_is_malformed(
    basis: exchange_pb2.LegalBasis,
) -> None:
    stage, _, _ = _granted()
    x = _query(legal_basis=basis)
    assert await refusal(stage, x) == "MALFORMED_REQUEST"
    assert x.legal_basis is None


async def test_the_longest_texts_pass() -> None:
    stage, _, _ = _granted()
    x = _query(legal_basis=legal_basis(reference="r" * 200, justification="j" * 500))
    await stage(x)
    assert x.legal_basis is not None
