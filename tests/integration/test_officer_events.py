"""The console reports its officers' logins, failed logins, logouts, lockouts and exports to
the hub (``Audit.RecordOfficerEvent``): each is appended to the log as a record of its own
(kind "officer-event"), searchable by officer and event. Only the console role may report
them, and each bad report is refused with its reason, recorded without its texts."""

from __future__ import annotations

import grpc
import pytest

from jembatan.audit.record import OFFICER_EVENT_KIND, AuditRecord, OfficerEvent
from jembatan.client import QueryRefused, refusal_of
from jembatan.v1 import audit_pb2, audit_pb2_grpc
from tests.disguises import CONTROL_TEXTS, NIK_DISGUISES, disguised
from tests.stack import Stack

MALFORMED = (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")


async def _report(stack: Stack, member: str | None = None, **event: str) -> audit_pb2.LoggedRecord:
    async with stack.channel(member or stack.console_member()) as channel:
        try:
            logged: audit_pb2.LoggedRecord = await audit_pb2_grpc.AuditStub(
                channel
            ).RecordOfficerEvent(audit_pb2.OfficerEventRequest(**event))
        except grpc.aio.AioRpcError as error:
            raise refusal_of(error) from error
        return logged


async def _refused(
    stack: Stack, expected: tuple[grpc.StatusCode, str], member: str | None = None, **event: str
) -> None:
    before = stack.log_size()
    with pytest.raises(QueryRefused) as refused:
        await _report(stack, member, **event)
    record = stack.refused_once(before, refused.value, *expected)
    assert record.officer_event is None
    for text in event.values():
        assert not text or text.encode() not in record.canonical_json()


async def test_officer_events_are_records_searchable_by_officer_and_event(stack: Stack) -> None:
    logged = await _report(stack, event="login", officer="rahmat", address="192.0.2.7")
    failed = await _report(stack, event="login-failed", officer="", address="2001:db8::7")
    note = "CSV, 120 records: client ID/GOV/KEMENSOS/eligibility, Desember"
    await _report(stack, event="export", officer="rahmat", address="192.0.2.7", note=note)
    (record,) = stack.records(logged.index)[:1]
    assert record.kind == OFFICER_EVENT_KIND
    assert record.officer_event == OfficerEvent("login", "rahmat", "192.0.2.7")
    assert (record.client_id, record.service_id) == (
        stack.console_member(),
        "jembatan.v1.Audit/RecordOfficerEvent",
    )

    async with stack.client(stack.auditor()) as auditor:
        mine = await auditor.search(
            audit_pb2.SearchRequest(kind=OFFICER_EVENT_KIND, officer="rahmat")
        )
        exports = await auditor.search(
            audit_pb2.SearchRequest(officer="rahmat", officer_event="export")
        )
        failures = await auditor.search(
            audit_pb2.SearchRequest(
                officer_event="login-failed", after_index=logged.index, has_after_index=True
            )
        )
        with pytest.raises(QueryRefused) as bad_kind:
            await auditor.search(audit_pb2.SearchRequest(kind="review"))
    events = [AuditRecord.from_json(e.record_json).officer_event for e in mine.entries]
    assert [e.event for e in events if e] == ["login", "export"]
    (exported,) = [AuditRecord.from_json(e.record_json) for e in exports.entries]
    assert exported.officer_event and exported.officer_event.note == note
    assert [e.index for e in failures.entries] == [failed.index]
    assert (bad_kind.value.status, bad_kind.value.reason) == MALFORMED


async def test_each_bad_report_is_refused_and_recorded_without_its_texts(stack: Stack) -> None:
    nik = stack.people.employed
    ok = {"event": "login", "officer": "rahmat", "address": "192.0.2.7"}
    # Only the console speaks for its officers: not an officer's own auditor certificate.
    await _refused(
        stack, (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED"), stack.auditor(), **ok
    )
    await _refused(stack, MALFORMED, **{**ok, "event": "password-changed"})
    await _refused(stack, MALFORMED, **{**ok, "officer": ""})  # a login names the officer
    await _refused(stack, MALFORMED, **{**ok, "event": "logout", "officer": ""})
    await _refused(stack, MALFORMED, **{**ok, "officer": "x" * 65})
    await _refused(stack, MALFORMED, **{**ok, "officer": nik})
    await _refused(stack, MALFORMED, **{**ok, "officer": "siti\nRELEASED"})
    await _refused(stack, MALFORMED, **{**ok, "address": "not-an-address"})
    await _refused(stack, MALFORMED, **{**ok, "address": "192.0.2.300"})
    for how in NIK_DISGUISES:
        await _refused(stack, MALFORMED, **{**ok, "note": f"ekspor {disguised(nik, how)}"})
    for text in CONTROL_TEXTS.values():
        await _refused(stack, MALFORMED, **{**ok, "note": text})
    await _refused(stack, MALFORMED, **{**ok, "note": "x" * 1001})
    assert nik.encode() not in stack.stored_bytes()
