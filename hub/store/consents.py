"""The consents' table: one row per consent from request to its end, with the use count
the audit writer keeps beside it (``consent_usage``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hub.store.base import (
    ACTIVE,
    REJECTED,
    REQUESTED,
    REVOKED,
    ConsentGrant,
    ConsentRecord,
    ServiceFieldMap,
)
from hub.store.database import Tables, from_row

CONSENT_SELECT = (
    "c.consent_id, c.subject, c.grantee, c.purpose, c.purpose_text, c.requested,"
    " c.valid_for_s, c.data_life_s, c.requested_at, c.respond_by, c.status, c.granted,"
    " c.artefact_digest, c.decided_at, c.not_before, c.expires_at, c.revoked_at,"
    " c.rejection_reason, COALESCE(u.uses, 0), COALESCE(u.last_used, '')"
    " FROM consents c LEFT JOIN consent_usage u ON u.consent_id = c.consent_id"
)


def services_json(services: ServiceFieldMap) -> str:
    return json.dumps({s: list(f) for s, f in sorted(services.items())}, separators=(",", ":"))


def services_of(text: str) -> ServiceFieldMap:
    return {s: tuple(f) for s, f in json.loads(text).items()}


def consent_from_row(row: Sequence[Any]) -> ConsentRecord:
    return from_row(
        ConsentRecord,
        row,
        requested=services_of,
        valid_for_s=int,
        data_life_s=int,
        granted=services_of,
        uses=int,
    )


def consent_row(record: ConsentRecord) -> tuple[Any, ...]:
    return (
        record.consent_id,
        record.subject,
        record.grantee,
        record.purpose,
        record.purpose_text,
        services_json(record.requested),
        record.valid_for_s,
        record.data_life_s,
        record.requested_at,
        record.respond_by,
        record.status,
        services_json(record.granted),
        record.artefact_digest,
        record.decided_at,
        record.not_before,
        record.expires_at,
        record.revoked_at,
        record.rejection_reason,
    )


class ConsentTables(Tables):
    """Consents, from the request to its end."""

    def consent(self, consent_id: str) -> ConsentRecord | None:
        row = self._db.execute(
            f"SELECT {CONSENT_SELECT} WHERE c.consent_id = ?", (consent_id,)
        ).fetchone()
        return consent_from_row(row) if row else None

    def consents_of(self, subject: str) -> list[ConsentRecord]:
        rows = self._db.execute(
            f"SELECT {CONSENT_SELECT} WHERE c.subject = ? ORDER BY c.requested_at, c.consent_id",
            (subject,),
        )
        return [consent_from_row(row) for row in rows]

    def add_consent(self, record: ConsentRecord) -> bool:
        cursor = self._db.execute(
            "INSERT INTO consents VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            consent_row(record),
        )
        return cursor.rowcount == 1

    # Each transition is one conditional UPDATE: two racing calls cannot both succeed.
    def grant_consent(self, grant: ConsentGrant, *, now: str) -> bool:
        cursor = self._db.execute(
            "UPDATE consents SET status = ?, granted = ?, artefact_digest = ?, decided_at = ?,"
            " not_before = ?, expires_at = ?"
            " WHERE consent_id = ? AND status = ? AND respond_by > ?",
            (
                ACTIVE,
                services_json(grant.granted),
                grant.artefact_digest,
                grant.decided_at,
                grant.not_before,
                grant.expires_at,
                grant.consent_id,
                REQUESTED,
                now,
            ),
        )
        return cursor.rowcount == 1

    def reject_consent(self, consent_id: str, reason: str, *, now: str) -> bool:
        cursor = self._db.execute(
            "UPDATE consents SET status = ?, rejection_reason = ?, decided_at = ?"
            " WHERE consent_id = ? AND status = ? AND respond_by > ?",
            (REJECTED, reason, now, consent_id, REQUESTED, now),
        )
        return cursor.rowcount == 1

    def revoke_consent(self, consent_id: str, *, now: str) -> bool:
        cursor = self._db.execute(
            "UPDATE consents SET status = ?, revoked_at = ?"
            " WHERE consent_id = ? AND status = ? AND expires_at > ?",
            (REVOKED, now, consent_id, ACTIVE, now),
        )
        return cursor.rowcount == 1
