"""The audit record's canonical form: what is hashed is what anyone can recompute."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from jembatan.audit.record import (
    CALL_KIND,
    OFFICER_EVENT_KIND,
    RECORD_VERSION,
    REVIEW_KIND,
    AuditRecord,
    OfficerEvent,
    Review,
    leaf_hash,
)

text = st.text(max_size=20)
names = st.lists(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), max_size=4, unique=True)


@given(
    values=st.lists(text, min_size=15, max_size=15),
    requested=names,
    released=st.lists(st.tuples(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), text), max_size=3),
)
def test_canonical_json_round_trips_and_is_sorted_compact_json(
    values: list[str], requested: list[str], released: list[tuple[str, str]]
) -> None:
    record = AuditRecord(
        *values,
        fields_requested=tuple(requested),
        fields_released=tuple(released),
        fields_dropped=(),
    )
    data = record.canonical_json()
    assert AuditRecord.from_json(data) == record
    doc = json.loads(data)
    assert (
        data == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert doc["fields_released"] == [{"name": n, "treatment": t} for n, t in released]


def test_leaf_hash_is_rfc6962() -> None:
    # RFC 6962 section 2.1: MTH({d0}) = SHA-256(0x00 || d0); the empty leaf's known value.
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()


def test_a_record_from_before_on_behalf_of_still_parses_and_hashes_as_stored() -> None:
    """Version 2 records (before the officer's name was recorded) have no on_behalf_of: they
    parse with it empty, and the log's bytes, hashed as stored, are never rewritten."""
    current = AuditRecord(*["x"] * 15, fields_requested=("subject",), on_behalf_of="siti")
    doc = json.loads(current.canonical_json())
    assert (doc["version"], doc["on_behalf_of"]) == (RECORD_VERSION, "siti")
    del doc["on_behalf_of"], doc["count"], doc["review"], doc["officer_event"]
    doc["version"] = 2
    stored = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    old = AuditRecord.from_json(stored)
    assert (old.version, old.on_behalf_of, old.client_id) == (2, "", "x")


def test_a_record_from_before_count_stands_for_one_call() -> None:
    """Version 3 records (before admission control summed up refusals) have no count: each
    stood for one call, and parses so; a summary says how many calls it stands for."""
    summary = AuditRecord(*["x"] * 15, count=40)
    doc = json.loads(summary.canonical_json())
    assert (doc["version"], doc["count"]) == (RECORD_VERSION, 40)
    del doc["count"], doc["review"], doc["officer_event"]
    doc["version"] = 3
    old = AuditRecord.from_json(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    assert (old.version, old.count) == (3, 1)


def test_reviews_and_officer_events_are_kinds_of_record_and_older_records_are_calls() -> None:
    """Version 5 adds two kinds of record, each an object in its own field and null in every
    other record: they round-trip, hash as their canonical bytes, and a version 4 record
    (without the fields) parses as a call."""
    review = AuditRecord(*["x"] * 15, review=Review(7, "escalated", "kirim ke Inspektorat"))
    event = AuditRecord(*["x"] * 15, officer_event=OfficerEvent("login", "siti", "127.0.0.1"))
    for record, kind in ((review, REVIEW_KIND), (event, OFFICER_EVENT_KIND)):
        data = record.canonical_json()
        assert AuditRecord.from_json(data) == record and record.kind == kind
        assert leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
    doc = json.loads(review.canonical_json())
    assert doc["review"] == {
        "reviewed_index": 7,
        "outcome": "escalated",
        "note": "kirim ke Inspektorat",
    }
    assert (doc["officer_event"], doc["version"]) == (None, RECORD_VERSION) and RECORD_VERSION == 5
    assert json.loads(event.canonical_json())["officer_event"] == {
        "event": "login",
        "officer": "siti",
        "address": "127.0.0.1",
        "note": "",
    }
    del doc["review"], doc["officer_event"]
    doc["version"] = 4
    stored = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    old = AuditRecord.from_json(stored)
    assert (old.version, old.review, old.officer_event, old.kind) == (4, None, None, CALL_KIND)
    assert old.canonical_json() != stored  # parsed, not rewritten: the log hashes what it stored
