"""The pipeline's in-memory registry view sees every change on the next refresh."""

from __future__ import annotations

from hub.store.base import HubStore, MemberCertificate, ServiceRoute
from hub.store.snapshot import RegistrySnapshot
from tests.store.records import active_consent


def _cert(serial: str, member_id: str = "ID/GOV/BPJSTK/wages") -> MemberCertificate:
    return MemberCertificate(serial, member_id, b"pem", "2027-01-01T00:00:00", None)


def test_changes_by_another_connection_are_seen_on_next_refresh(
    store: HubStore, other_store: HubStore
) -> None:
    hub_side, admin_side = store, other_store
    snapshot = RegistrySnapshot(hub_side)
    snapshot.refresh()
    assert snapshot.member_certificate("a1") is None

    admin_side.add_member_certificate(_cert("a1"))
    admin_side.put_service(
        ServiceRoute("ID/GOV/BPJSTK/wages/x", "ID/GOV/BPJSTK/wages", "h:1", "[]")
    )
    snapshot.refresh()
    cert = snapshot.member_certificate("a1")
    assert cert is not None and not cert.revoked
    assert [c.serial for c in snapshot.valid_certificates("ID/GOV/BPJSTK/wages")] == ["a1"]
    assert snapshot.service("ID/GOV/BPJSTK/wages/x") is not None

    assert admin_side.revoke_certificate("a1", "2026-11-23T00:00:00", "test")
    snapshot.refresh()
    revoked = snapshot.member_certificate("a1")
    assert revoked is not None and revoked.revoked
    assert snapshot.valid_certificates("ID/GOV/BPJSTK/wages") == []


def test_consent_revocation_is_read_through(store: HubStore, other_store: HubStore) -> None:
    hub_side, admin_side = store, other_store
    snapshot = RegistrySnapshot(hub_side)
    snapshot.refresh()
    assert snapshot.consent("c-1") is None
    assert admin_side.add_consent(active_consent("c-1"))
    assert admin_side.revoke_consent("c-1", now="2026-11-23T00:00:00+00:00")
    seen = snapshot.consent("c-1")  # no refresh needed
    assert seen is not None and seen.status == "REVOKED"
    assert not admin_side.revoke_consent("c-1", now="2026-11-23T00:00:01+00:00")  # once only
