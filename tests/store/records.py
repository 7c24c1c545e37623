"""Consent records for storage tests."""

from __future__ import annotations

import dataclasses

from hub.store.base import ACTIVE, REQUESTED, ConsentRecord

SERVICE = "ID/GOV/BPJSTK/wages/employment"


def requested_consent(
    consent_id: str, *, respond_by: str = "2099-01-01T00:00:00+00:00"
) -> ConsentRecord:
    return ConsentRecord(
        consent_id=consent_id,
        subject="pseudonym-1",
        grantee="ID/GOV/KEMENSOS/eligibility",
        purpose="bansos-eligibility",
        purpose_text="Verifikasi kelayakan bansos",
        requested={SERVICE: ("employment_status",)},
        valid_for_s=86400,
        data_life_s=3600,
        requested_at="2026-11-23T00:00:00+00:00",
        respond_by=respond_by,
        status=REQUESTED,
    )


def active_consent(
    consent_id: str, *, expires_at: str = "2099-01-01T00:00:00+00:00"
) -> ConsentRecord:
    requested = requested_consent(consent_id)
    return dataclasses.replace(
        requested,
        status=ACTIVE,
        granted=requested.requested,
        artefact_digest="0" * 64,
        not_before="2026-11-23T00:00:00+00:00",
        expires_at=expires_at,
    )
