"""The store's behaviour, engine by engine (SQLite and PostgreSQL run every test here):
replay nonces, the audit log with its tree, search and checkpoints, certificates,
catalogues, enrolments and connector registrations."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from hub.store import open_audit_writer, open_store
from hub.store.base import (
    APPROVED,
    PENDING,
    REJECTED,
    AuditWriter,
    ConnectorRegistration,
    Enrolment,
    HubStore,
    MemberCertificate,
    Nonce,
    PendingEntry,
)
from jembatan.audit.merkle import consistency_proof, root_of, verify_inclusion
from jembatan.audit.record import AuditRecord, OfficerEvent, Review, leaf_hash
from tests.store.raw import Raw

T0 = "2026-11-23T10:00:00.000+00:00"


def _record(
    n: int,
    *,
    client: str = "ID/GOV/KEMENSOS/eligibility",
    service: str = "ID/GOV/BPJSTK/wages/employment",
    purpose: str = "bansos-eligibility",
    decision: str = "RELEASED",
    reason: str = "",
    subject: str = "pseudonym-a",
    break_glass: bool = False,
    on_behalf_of: str = "",
    time: str = T0,
    consent_id: str = "",
    request_digest: str = "0" * 64,
) -> PendingEntry:
    record = AuditRecord(
        time=time,
        request_id=f"r-{n}",
        client_id=client,
        client_certificate="ab",
        service_id=service,
        purpose=purpose,
        consent_id=consent_id,
        subject=subject,
        decision=decision,
        reason=reason,
        stage="release",
        status="OK",
        policy_version="sha256:0",
        request_digest=request_digest,
        response_digest="",
        fields_requested=("employment_status",),
        fields_released=(),
        fields_dropped=(),
        break_glass=break_glass,
        on_behalf_of=on_behalf_of,
    ).canonical_json()
    return PendingEntry(record, leaf_hash(record), time, client, service, decision, reason, subject)


# --- replay nonces ------------------------------------------------------------------------


def test_a_nonce_is_claimed_once_while_live(location: str | Path, store: HubStore) -> None:
    other = open_store(location)  # another process on the same store, e.g. a replica
    try:
        assert store.claim_nonce(Nonce("ID/A", "n-1", 1_000), now=500)
        assert not other.claim_nonce(Nonce("ID/A", "n-1", 1_000), now=500)
        assert not store.claim_nonce(Nonce("ID/A", "n-1", 2_000), now=1_000)  # still live
        assert other.claim_nonce(Nonce("ID/B", "n-1", 1_000), now=500)  # scoped to its issuer
        # Once it can no longer be fresh it may be claimed again (it is pruned later).
        assert other.claim_nonce(Nonce("ID/A", "n-1", 3_000), now=1_001)
        assert {(n.issuer, n.value, n.expires_at) for n in store.live_nonces(1_001)} == {
            ("ID/A", "n-1", 3_000)
        }
    finally:
        other.close()


def test_nonces_in_an_audit_batch_are_live_after_it(store: HubStore, writer: AuditWriter) -> None:
    # Real time: the writer prunes nonces that expired a minute before its clock.
    expires = int(time.time()) + 600
    # A break-glass exchange claims two: its request's and its approver's approval's.
    claimed = (Nonce("ID/A", "batch-nonce", expires), Nonce("ID/B", "approval-nonce", expires))
    writer.append([dataclasses.replace(_record(0), nonces=claimed)])
    assert set(store.live_nonces(expires - 1)) == set(claimed)
    for nonce in claimed:
        again = dataclasses.replace(nonce, expires_at=expires + 5)
        assert not store.claim_nonce(again, now=expires - 1)
    assert list(store.live_nonces(expires + 1)) == []


# --- the log and its tree -----------------------------------------------------------------


def test_batches_append_one_tree_with_proofs(store: HubStore, writer: AuditWriter) -> None:
    entries = [_record(n) for n in range(23)]
    firsts = [writer.append(entries[a:b]) for a, b in ((0, 1), (1, 8), (8, 9), (9, 23))]
    assert firsts == [0, 1, 8, 9]
    leaves = [e.leaf_hash for e in entries]
    assert (store.size(), store.tree_size()) == (23, 23)
    for size in (1, 2, 7, 8, 9, 16, 23):
        root = store.tree_root(size)
        assert root == root_of(leaves[:size])
        for index in (0, size // 2, size - 1):
            verify_inclusion(index, size, leaves[index], store.inclusion_proof(index, size), root)
    assert store.consistency_proof(7, 23) == consistency_proof(7, 23, leaves)
    proofs = list(store.inclusion_proofs(3, 9, 23))
    assert proofs == [store.inclusion_proof(i, 23) for i in range(3, 9)]
    assert store.committed_leaf(5) == leaves[5]
    assert [(i, leaf, rec) for i, leaf, rec in store.committed_entries(23, 20)] == [
        (i, leaves[i], entries[i].record_json) for i in range(20, 23)
    ]
    assert list(store.entries()) == [(i, leaves[i], e.record_json) for i, e in enumerate(entries)]
    assert store.entry(22) == (leaves[22], entries[22].record_json)
    assert store.entry(23) is None


def test_a_batch_whose_write_fails_leaves_nothing_behind(
    location: str | Path, store: HubStore, writer: AuditWriter
) -> None:
    # Fail closed: the batch's writes go out together (one round trip on PostgreSQL), and
    # one failing among them fails the batch — no record, no node, no nonce of it is kept.
    writer.append([_record(0)])
    with Raw(location) as raw:  # a node where the next leaf would go: its INSERT fails
        raw.rows("INSERT INTO audit_nodes (level, idx, hash) VALUES (0, 1, ?)", (b"x" * 32,))
    expires = int(time.time()) + 600
    claimed = (Nonce("ID/A", "failed-batch", expires),)
    with pytest.raises((sqlite3.Error, psycopg.Error)):
        writer.append([dataclasses.replace(_record(1), nonces=claimed), _record(2)])
    assert store.size() == 1
    assert list(store.live_nonces(expires - 1)) == []
    assert store.entry(1) is None


def test_writers_appending_at_once_make_one_log(location: str | Path, store: HubStore) -> None:
    """Two writers (two replicas' sequencers) racing: every entry exactly once, indices
    contiguous, and the tree over them whole."""
    writers = [open_audit_writer(location) for _ in range(2)]
    placed: dict[int, bytes] = {}
    lock = threading.Lock()

    def run(w: AuditWriter, tag: int) -> None:
        for batch in range(15):
            entries = [_record(tag * 10_000 + batch * 10 + k) for k in range(1 + batch % 4)]
            first = w.append(entries)
            with lock:
                for offset, e in enumerate(entries):
                    assert first + offset not in placed
                    placed[first + offset] = e.leaf_hash

    # Futures, not bare threads: an assertion or a writer's error inside reaches pytest.
    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        for done in [pool.submit(run, w, t) for t, w in enumerate(writers)]:
            done.result()
    for w in writers:
        w.close()
    size = store.size()
    assert sorted(placed) == list(range(size))
    assert size == 2 * sum(1 + b % 4 for b in range(15))
    assert store.tree_root(size) == root_of([placed[i] for i in range(size)])


def test_the_log_cannot_be_rewritten(location: str | Path, writer: AuditWriter) -> None:
    writer.append([_record(0)])
    if isinstance(location, Path):
        import sqlite3

        conn = sqlite3.connect(location)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET decision = 'REFUSED'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            for statement in (
                "UPDATE audit_log SET decision = 'REFUSED'",
                "DELETE FROM audit_log",
                "TRUNCATE audit_log",
            ):
                with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                    conn.execute(statement)
    reopened = open_store(location)
    assert reopened.size() == 1
    reopened.close()


# --- search -------------------------------------------------------------------------------


def test_search_filters_each_column_and_break_glass(store: HubStore, writer: AuditWriter) -> None:
    writer.append(
        [
            _record(0, time="2026-11-23T10:00:00.000+00:00"),
            _record(1, time="2026-11-23T11:00:00.000+00:00", client="ID/GOV/OTHER/x"),
            _record(
                2, time="2026-11-23T12:00:00.000+00:00", decision="REFUSED", reason="NO_POLICY"
            ),
            _record(
                3,
                time="2026-11-23T13:00:00.000+00:00",
                purpose="bansos-emergency",
                break_glass=True,
            ),
            _record(
                4,
                time="2026-11-23T14:00:00.000+00:00",
                service="ID/GOV/POLRI/x/y",
                subject="pseudonym-b",
                on_behalf_of="siti",
                consent_id="consent-7",
                request_digest="d" * 64,
            ),
        ]
    )

    def found(**filters: str) -> list[int]:
        return [i for i, _, _ in store.search(filters, after_index=None, limit=100)]

    assert found() == [0, 1, 2, 3, 4]
    assert found(time_from="2026-11-23T11:00:00.000+00:00") == [1, 2, 3, 4]
    assert found(time_to="2026-11-23T11:00:00.000+00:00") == [0]
    assert found(client_id="ID/GOV/OTHER/x") == [1]
    assert found(service_id="ID/GOV/POLRI/x/y") == [4]
    assert found(purpose="bansos-emergency") == [3]
    assert found(decision="REFUSED") == [2]
    assert found(reason="NO_POLICY") == [2]
    assert found(subject="pseudonym-b") == [4]
    assert found(break_glass="1") == [3]
    assert found(break_glass="0") == [0, 1, 2, 4]
    assert found(on_behalf_of="siti") == [4]
    assert found(on_behalf_of="budi") == []
    assert found(consent_id="consent-7") == [4]
    assert found(request_digest="d" * 64) == [4]
    assert found(decision="RELEASED", time_from="2026-11-23T12:00:00.000+00:00") == [3, 4]
    rows = store.search({}, after_index=1, limit=2)
    assert [i for i, _, _ in rows] == [2, 3]
    _, leaf, record = rows[0]
    assert (leaf, json.loads(record)["reason"]) == (store.committed_leaf(2), "NO_POLICY")

    # Newest first, as the console lists: the latest page, then the older ones before it.
    def newest(before: int | None, **filters: str) -> list[int]:
        rows = store.search(
            filters, after_index=None, before_index=before, newest_first=True, limit=2
        )
        return [i for i, _, _ in rows]

    assert newest(None) == [4, 3]
    assert newest(3) == [2, 1]
    assert newest(1) == [0]
    assert newest(None, decision="RELEASED") == [4, 3]
    assert [i for i, _, _ in store.search({}, after_index=0, before_index=3, limit=9)] == [1, 2]


def _entry(record: AuditRecord | bytes) -> PendingEntry:
    data = record if isinstance(record, bytes) else record.canonical_json()
    doc = json.loads(data)
    return PendingEntry(
        data,
        leaf_hash(data),
        doc["time"],
        doc["client_id"],
        doc["service_id"],
        doc["decision"],
        doc["reason"],
        doc["subject"],
    )


def test_search_filters_record_kinds_officer_events_and_reviews(
    store: HubStore, writer: AuditWriter
) -> None:
    """Version 5's kinds and their filters, on records of every version: a version 4 record
    (without the new fields) is a call."""
    call = AuditRecord.from_json(_record(0).record_json)
    legacy = json.loads(call.canonical_json())
    del legacy["review"], legacy["officer_event"]
    legacy["version"] = 4
    old = json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()
    writer.append(
        [
            _entry(old),
            _entry(dataclasses.replace(call, break_glass=True)),
            _entry(dataclasses.replace(call, review=Review(1, "escalated", "ke Itjen"))),
            _entry(dataclasses.replace(call, officer_event=OfficerEvent("login", "siti", "::1"))),
            _entry(dataclasses.replace(call, officer_event=OfficerEvent("lockout", "budi", ""))),
            _entry(dataclasses.replace(call, review=Review(1, "justified", "sah"))),
            _entry(dataclasses.replace(call, review=Review(11, "justified", "sah"))),
        ]
    )

    def found(**filters: str) -> list[int]:
        return [i for i, _, _ in store.search(filters, after_index=None, limit=100)]

    assert found(kind="call") == [0, 1]
    assert found(kind="break-glass-review") == [2, 5, 6]
    assert found(kind="officer-event") == [3, 4]
    assert found(officer="siti") == [3]
    assert found(officer_event="lockout") == [4]
    assert found(officer="budi", officer_event="login") == []
    assert found(reviewed_index="1") == [2, 5]
    assert found(reviewed_index="11", kind="break-glass-review") == [6]
    assert found(reviewed_index="0") == []


def test_search_refuses_an_unknown_filter(store: HubStore) -> None:
    with pytest.raises(ValueError, match="unknown search filter 'nik'"):
        store.search({"nik": "3510114406770001"}, after_index=None, limit=10)
    with pytest.raises(ValueError, match="break_glass filter must be"):
        store.search({"break_glass": "yes"}, after_index=None, limit=10)
    with pytest.raises(ValueError, match="reviewed_index filter must be"):
        store.search({"reviewed_index": "1 OR 1=1"}, after_index=None, limit=10)


# --- checkpoints --------------------------------------------------------------------------


def test_checkpoints_keep_one_note_per_size(store: HubStore) -> None:
    assert store.latest_checkpoint() is None
    store.add_checkpoint(5, b"\x05" * 32, "note-5", T0)
    store.add_checkpoint(9, b"\x09" * 32, "note-9", T0)
    store.add_checkpoint(5, b"\x05" * 32, "note-5-again", T0)  # the first one stays
    store.add_checkpoint(7, b"\x07" * 32, "note-7", T0)
    assert store.latest_checkpoint() == (9, "note-9")
    assert store.checkpoints() == [(5, "note-5"), (7, "note-7"), (9, "note-9")]


def test_cosignatures_are_kept_per_size_and_witness(store: HubStore, other_store: HubStore) -> None:
    assert store.latest_cosignatures() == {} and store.first_checkpoint_after(-1) is None
    store.add_checkpoint(5, b"\x05" * 32, "note-5", T0)
    store.add_checkpoint(9, b"\x09" * 32, "note-9", "2026-11-23T10:00:09.000+00:00")
    store.add_cosignature(5, "w1", "— w1 a", 100)
    store.add_cosignature(5, "w2", "— w2 b", 101)
    store.add_cosignature(9, "w1", "— w1 c", 109)
    store.add_cosignature(9, "w1", "— w1 again", 110)  # the first one stays
    assert store.cosignatures(5) == ["— w1 a", "— w2 b"]
    assert store.cosignatures(9) == ["— w1 c"]
    assert store.cosignatures(7) == []
    # Another replica sees what this one collected.
    assert other_store.latest_cosignatures() == {"w1": (9, 109), "w2": (5, 101)}
    assert store.first_checkpoint_after(-1) == T0
    assert store.first_checkpoint_after(5) == "2026-11-23T10:00:09.000+00:00"
    assert store.first_checkpoint_after(9) is None


def test_the_signer_lease_is_held_by_one_store_at_a_time(location: str | Path) -> None:
    first, second = open_store(location), open_store(location)
    lease_a, lease_b = first.signer_lease(), second.signer_lease()
    try:
        assert lease_a.held()
        if first.shared:
            assert not lease_b.held()
            lease_a.close()  # the holder goes away: the other takes over on its next try
            assert lease_b.held()
            assert not lease_a.held()
        else:
            assert lease_b.held()  # one process per SQLite file: always its own signer
    finally:
        lease_a.close()
        lease_b.close()
        first.close()
        second.close()


# --- certificates, services, catalogues ---------------------------------------------------


def _cert(serial: str, member: str = "ID/GOV/BPJSTK/wages") -> MemberCertificate:
    return MemberCertificate(serial, member, b"-----PEM-----", "2027-01-01T00:00:00+00:00", None)


def test_a_certificate_is_revoked_once_and_bumps_the_generation(store: HubStore) -> None:
    before = store.generation()
    store.add_member_certificate(_cert("0a"))
    store.add_member_certificate(_cert("0b", "ID/GOV/POLRI/korlantas"))
    assert store.generation() > before
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        store.add_member_certificate(_cert("0a"))
    after_adds = store.generation()
    assert store.revoke_certificate("0a", "2026-11-23T00:00:00+00:00", "key-compromise")
    assert not store.revoke_certificate("0a", "2026-11-24T00:00:00+00:00", "again")
    assert not store.revoke_certificate("ff", "2026-11-24T00:00:00+00:00", "unknown")
    assert store.generation() > after_adds
    revoked = store.member_certificate("0a")
    assert revoked is not None and revoked.revoked_at == "2026-11-23T00:00:00+00:00"
    assert [c.serial for c in store.member_certificates()] == ["0a", "0b"]
    assert [c.serial for c in store.member_certificates("ID/GOV/POLRI/korlantas")] == ["0b"]


def _renewal(serial: str, of: str) -> MemberCertificate:
    return dataclasses.replace(_cert(serial), renewed_from=of)


def test_revoking_a_certificate_revokes_its_renewals_transitively(store: HubStore) -> None:
    store.add_member_certificate(_cert("01"))
    store.add_member_certificate(_cert("99", "ID/GOV/POLRI/korlantas"))
    assert store.add_renewal(_renewal("02", of="01"))
    assert store.add_renewal(_renewal("03", of="02"))
    renewed = store.renewal_of("01")
    assert renewed is not None and (renewed.serial, renewed.renewed_from) == ("02", "01")
    before = store.generation()
    assert store.revoke_certificate("01", T0, "key-compromise") == ["01", "02", "03"]
    assert store.generation() > before
    for serial in ("01", "02", "03"):
        assert store.member_certificate(serial).revoked_at == T0  # type: ignore[union-attr]
    assert not store.member_certificate("99").revoked  # type: ignore[union-attr]
    # Revoked: no renewal from it, nor from anything renewed from it.
    assert not store.add_renewal(_renewal("04", of="03"))
    assert store.member_certificate("04") is None


def test_a_chain_revoked_midway_keeps_its_earlier_certificates(store: HubStore) -> None:
    store.add_member_certificate(_cert("01"))
    assert store.add_renewal(_renewal("02", of="01"))
    assert store.add_renewal(_renewal("03", of="02"))
    assert store.revoke_certificate("03", T0, "superseded") == ["03"]
    assert store.revoke_certificate("02", T0, "key-compromise") == ["02"]
    assert not store.member_certificate("01").revoked  # type: ignore[union-attr]


def test_a_certificate_is_renewed_once(store: HubStore) -> None:
    store.add_member_certificate(_cert("01"))
    assert store.add_renewal(_renewal("02", of="01"))
    assert not store.add_renewal(_renewal("03", of="01"))
    assert not store.add_renewal(_renewal("05", of="unknown"))
    assert [c.serial for c in store.member_certificates()] == ["01", "02"]


def test_a_claim_is_held_by_one_caller_until_released_or_lapsed(store: HubStore) -> None:
    assert store.claim("enrolment x", "a", now=100, hold_s=60)
    assert not store.claim("enrolment x", "b", now=159, hold_s=60)
    assert store.claim("enrolment y", "b", now=159, hold_s=60)
    store.release_claim("enrolment x", "b")  # not b's: still a's
    assert not store.claim("enrolment x", "b", now=159, hold_s=60)
    store.release_claim("enrolment x", "a")
    assert store.claim("enrolment x", "b", now=159, hold_s=60)
    # A holder that died without letting go: its claim lapses.
    assert store.claim("enrolment x", "c", now=220, hold_s=60)


def test_catalogue_versions_change_only_with_the_catalogue(store: HubStore) -> None:
    service = "ID/GOV/BPJSTK/wages/employment"
    one = json.dumps([{"name": "employment_status", "type": "text"}])
    two = json.dumps([{"name": "employment_status", "type": "text"}, {"name": "employer"}])
    assert store.catalogue(service) is None
    assert store.next_catalogue_version(service, one) == 1
    assert store.add_catalogue_version(service, one, T0) == 1
    assert store.add_catalogue_version(service, json.dumps(json.loads(one)), T0) == 1
    assert store.next_catalogue_version(service, two) == 2
    assert store.add_catalogue_version(service, two, T0) == 2
    first = store.catalogue(service, 1)
    latest = store.catalogue(service)
    assert first is not None and first.catalogue_json == one
    assert latest is not None and (latest.version, latest.catalogue_json) == (2, two)
    assert store.catalogue(service, 3) is None
    assert store.current_catalogue_versions() == {service: 2}


def test_an_approved_registration_routes_its_services(store: HubStore) -> None:
    services = {
        "ID/GOV/DINSOS/welfare/a": [{"name": "x", "type": "text"}],
        "ID/GOV/DINSOS/welfare/b": [{"name": "y", "type": "int"}],
    }
    registration = ConnectorRegistration(
        "con-1", "ID/GOV/DINSOS/welfare", "host:7601", json.dumps(services), T0
    )
    store.add_connector_registration(registration)
    store.add_connector_registration(
        ConnectorRegistration("con-2", "ID/GOV/DINSOS/welfare", "host:7602", "{}", T0)
    )
    assert [r.registration_id for r in store.connector_registrations(PENDING)] == [
        "con-1",
        "con-2",
    ]
    before = store.generation()
    versions = store.approve_connector_registration("con-1", "ID/GOV/SPLP/administrator", T0)
    assert versions == {"ID/GOV/DINSOS/welfare/a": 1, "ID/GOV/DINSOS/welfare/b": 1}
    assert store.generation() > before
    assert store.approve_connector_registration("con-1", "ID/GOV/SPLP/administrator", T0) is None
    assert store.reject_connector_registration("con-2", "ID/GOV/SPLP/administrator", T0, "dup")
    assert not store.reject_connector_registration("con-2", "ID/GOV/SPLP/administrator", T0, "x")
    decided = store.connector_registration("con-1")
    assert decided is not None and decided.state == APPROVED
    assert json.loads(decided.versions_json) == versions
    assert [s.service_id for s in store.services()] == list(services)
    # A disabled service stays disabled when its agency re-registers.
    assert store.set_service_enabled("ID/GOV/DINSOS/welfare/a", False)
    assert not store.set_service_enabled("ID/GOV/DINSOS/welfare/none", False)
    store.add_connector_registration(
        ConnectorRegistration(
            "con-3", "ID/GOV/DINSOS/welfare", "host:7603", json.dumps(services), T0
        )
    )
    assert store.approve_connector_registration("con-3", "ID/GOV/SPLP/administrator", T0) == (
        versions
    )
    route = store.service("ID/GOV/DINSOS/welfare/a")
    assert route is not None and (route.endpoint, route.enabled) == ("host:7603", False)
    assert [r.registration_id for r in store.connector_registrations(REJECTED)] == ["con-2"]


def test_an_enrolment_is_decided_once(store: HubStore) -> None:
    for request_id in ("enr-1", "enr-2"):
        store.add_enrolment(
            Enrolment(
                request_id,
                "ID/GOV/KEMENSOS/pilot2",
                ("auditor",),
                b"-----CSR-----",
                "ID/GOV/KEMENSOS/eligibility",
                T0,
            )
        )
    cert = _cert("1f", "ID/GOV/KEMENSOS/pilot2")
    assert store.approve_enrolment("enr-1", "ID/GOV/SPLP/administrator", T0, cert)
    assert not store.approve_enrolment("enr-1", "ID/GOV/SPLP/administrator", T0, _cert("20"))
    assert store.member_certificate("20") is None  # the losing approval changed nothing
    assert store.reject_enrolment("enr-2", "ID/GOV/SPLP/administrator", T0, "not ours")
    assert not store.approve_enrolment("enr-2", "ID/GOV/SPLP/administrator", T0, _cert("21"))
    approved = store.enrolment("enr-1")
    assert approved is not None
    assert (approved.state, approved.serial, approved.roles, approved.csr_pem) == (
        APPROVED,
        "1f",
        ("auditor",),
        b"-----CSR-----",
    )
    registered = store.member_certificate("1f")
    assert registered is not None and registered.member_id == "ID/GOV/KEMENSOS/pilot2"
    assert [e.request_id for e in store.enrolments(REJECTED)] == ["enr-2"]
    assert [e.request_id for e in store.enrolments()] == ["enr-1", "enr-2"]
    assert store.enrolment("enr-9") is None
