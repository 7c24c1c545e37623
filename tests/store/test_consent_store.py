"""Consent records in either engine: each transition is conditional, so an illegal or racing one
changes nothing; uses are counted with the audit batch that records them."""

from __future__ import annotations

import datetime

from hub.store.base import AuditWriter, ConsentGrant, HubStore, PendingEntry
from tests.store.records import SERVICE, active_consent, requested_consent

NOW = "2026-11-23T12:00:00+00:00"


def _grant(consent_id: str) -> ConsentGrant:
    return ConsentGrant(
        consent_id=consent_id,
        artefact_digest="a" * 64,
        granted={SERVICE: ("employment_status",)},
        not_before=NOW,
        expires_at="2026-12-23T12:00:00+00:00",
        decided_at=NOW,
    )


def test_a_request_is_granted_or_rejected_once(store: HubStore) -> None:
    registry = store
    assert registry.add_consent(requested_consent("r-1"))
    assert not registry.add_consent(requested_consent("r-1"))  # the id is taken
    assert registry.grant_consent(_grant("r-1"), now=NOW)
    assert not registry.grant_consent(_grant("r-1"), now=NOW)  # granting twice
    assert not registry.reject_consent("r-1", "citizen-declined", now=NOW)
    record = registry.consent("r-1")
    assert record is not None
    assert (record.status, record.artefact_digest, record.expires_at) == (
        "ACTIVE",
        "a" * 64,
        "2026-12-23T12:00:00+00:00",
    )
    assert registry.revoke_consent("r-1", now=NOW)
    assert not registry.revoke_consent("r-1", now=NOW)  # revoking twice


def test_an_expired_request_or_consent_cannot_move(store: HubStore) -> None:
    registry = store
    registry.add_consent(requested_consent("late", respond_by="2026-11-23T11:59:59+00:00"))
    registry.add_consent(active_consent("over", expires_at="2026-11-23T11:00:00+00:00"))
    assert not registry.grant_consent(_grant("late"), now=NOW)
    assert not registry.reject_consent("late", "citizen-declined", now=NOW)
    assert not registry.revoke_consent("over", now=NOW)
    noon = datetime.datetime.fromisoformat(NOW)
    late, over = registry.consent("late"), registry.consent("over")
    assert late is not None and over is not None
    assert (late.state_at(noon), over.state_at(noon)) == ("EXPIRED", "EXPIRED")
    assert (late.status, over.status) == ("REQUESTED", "ACTIVE")  # expiry is derived


def _entry(consent_id: str, decision: str, time: str) -> PendingEntry:
    return PendingEntry(
        record_json=b"{}",
        leaf_hash=b"\x00" * 32,
        time=time,
        client_id="c",
        service_id="s",
        decision=decision,
        reason="",
        subject="",
        consent_id=consent_id,
    )


def test_uses_count_released_entries_per_consent(store: HubStore, writer: AuditWriter) -> None:
    registry = store
    registry.add_consent(active_consent("c-1"))
    registry.add_consent(active_consent("c-2"))
    first = writer.append(
        [
            _entry("c-1", "RELEASED", "2026-11-23T12:00:01.000+00:00"),
            _entry("c-1", "RELEASED", "2026-11-23T12:00:03.000+00:00"),
            _entry("c-1", "REFUSED", "2026-11-23T12:00:04.000+00:00"),
            _entry("c-1", "RELEASED", "2026-11-23T12:00:02.000+00:00"),
            _entry("", "RELEASED", "2026-11-23T12:00:05.000+00:00"),
        ],
    )
    assert first == 0
    assert writer.append([_entry("c-1", "RELEASED", "2026-11-23T12:00:00.000+00:00")]) == 5
    c1, c2 = registry.consent("c-1"), registry.consent("c-2")
    assert c1 is not None and c2 is not None
    assert (c1.uses, c1.last_used) == (4, "2026-11-23T12:00:03.000+00:00")
    assert (c2.uses, c2.last_used) == (0, "")
    assert [r.consent_id for r in registry.consents_of("pseudonym-1")] == ["c-1", "c-2"]
    assert registry.consents_of("someone-else") == []
