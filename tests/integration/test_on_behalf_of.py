"""A caller with the console role names the officer it acts for (``jembatan-on-behalf-of``)
and the hub records them with the call; nobody else may name anyone, and a name that is not
a short printable name is refused — both recorded, without the name."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
import pytest

from consent.artefact import sign_subject_token
from hub.home import CONSENT_MANAGER_ID
from jembatan.audit.record import AuditRecord
from jembatan.client import refusal_of
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
)
from tests.stack import ADMINISTRATOR_ID, ELIGIBILITY_ID, Stack

Metadata = Sequence[tuple[str, str]]


@pytest.fixture(autouse=True)
async def _a_log_to_read(stack: Stack) -> None:
    """At least one record, for GetRecord and ExportRange to read (the stack may be new)."""
    if stack.log_size() == 0:
        async with stack.channel(stack.auditor()) as channel:
            await audit_pb2_grpc.AuditStub(channel).Search(audit_pb2.SearchRequest(limit=1))


def _naming(name: str) -> Metadata:
    return ((ON_BEHALF_OF_METADATA_KEY, name),)


async def _officer_call(
    stack: Stack, member_id: str, method: str, metadata: Metadata
) -> AuditRecord:
    """Make an officer's ``method`` call as ``member_id``; the one record it left."""
    before = stack.log_size()
    async with stack.channel(member_id) as channel:
        audit = audit_pb2_grpc.AuditStub(channel)
        if method == "Search":
            await audit.Search(audit_pb2.SearchRequest(limit=1), metadata=metadata)
        elif method == "GetRecord":
            await audit.GetRecord(audit_pb2.GetRecordRequest(index=0), metadata=metadata)
        elif method == "ExportRange":
            request = audit_pb2.ExportRangeRequest(start=0, end=1)
            [line async for line in audit.ExportRange(request, metadata=metadata)]
        else:  # a follower: recorded before the first entry is sent
            stream = audit.StreamRecords(audit_pb2.StreamRecordsRequest(), metadata=metadata)
            await stream.read()
            stream.cancel()
    (record,) = [r for r in stack.records(before) if r.client_id == member_id]
    assert record.service_id == f"jembatan.v1.Audit/{method}"
    return record


_METHODS = ["ExportRange", "GetRecord", "Search", "StreamRecords"]


@pytest.mark.parametrize("method", _METHODS)
async def test_the_console_names_the_officer_and_every_kind_of_officer_call_records_them(
    stack: Stack, method: str
) -> None:
    console = stack.console_member()
    named = await _officer_call(stack, console, method, _naming("siti"))
    assert (named.decision, named.on_behalf_of) == ("RELEASED", "siti")
    # Without the metadata the call is the console's own, and says so.
    unnamed = await _officer_call(stack, console, method, ())
    assert (unnamed.decision, unnamed.on_behalf_of) == ("RELEASED", "")


async def test_two_officers_behind_one_certificate_are_told_apart(stack: Stack) -> None:
    console = stack.console_member()
    siti = await _officer_call(stack, console, "GetRecord", _naming("siti"))
    budi = await _officer_call(stack, console, "GetRecord", _naming("budi.santoso"))
    assert (siti.client_id, siti.on_behalf_of) == (console, "siti")
    assert (budi.client_id, budi.on_behalf_of) == (console, "budi.santoso")
    assert siti.client_certificate == budi.client_certificate
    # An officer reviewing a colleague finds exactly their calls.
    async with stack.channel(stack.auditor()) as channel:
        found = await audit_pb2_grpc.AuditStub(channel).Search(
            audit_pb2.SearchRequest(on_behalf_of="budi.santoso")
        )
    records = [AuditRecord.from_json(e.record_json) for e in found.entries]
    assert records and {r.on_behalf_of for r in records} == {"budi.santoso"}
    assert budi.request_digest in {r.request_digest for r in records}


@pytest.mark.parametrize("method", _METHODS)
async def test_a_plain_auditor_cannot_put_its_calls_on_someone_elses_name(
    stack: Stack, method: str
) -> None:
    auditor = stack.auditor()  # the auditor role only
    scapegoat = f"scapegoat-{method.lower()}"
    before = stack.log_size()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _officer_call(stack, auditor, method, _naming(scapegoat))
    refusal = refusal_of(error.value)
    assert (refusal.status, refusal.reason) == (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED")
    assert "console role" in refusal.message
    (record,) = [r for r in stack.records(before) if r.client_id == auditor]
    assert (record.service_id, record.decision, record.reason, record.on_behalf_of) == (
        f"jembatan.v1.Audit/{method}",
        "REFUSED",
        "ROLE_REQUIRED",
        "",
    )
    assert scapegoat.encode() not in stack.stored_bytes()


NIK_LIKE = "3510-0101-0101-0001"


@pytest.mark.parametrize(
    "metadata",
    [
        _naming(NIK_LIKE),
        _naming("petugas 3510010101010001"),
        _naming("x" * 65),
        _naming(""),
        (*_naming("siti"), *_naming("budi")),
    ],
    ids=["nik-with-dashes", "nik-in-a-name", "too-long", "empty", "twice"],
)
async def test_a_name_that_is_not_a_short_printable_name_is_refused_and_not_kept(
    stack: Stack, metadata: Metadata
) -> None:
    console = stack.console_member()
    before = stack.log_size()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _officer_call(stack, console, "Search", metadata)
    refusal = refusal_of(error.value)
    assert (refusal.status, refusal.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )
    assert ON_BEHALF_OF_METADATA_KEY in refusal.message
    (record,) = [r for r in stack.records(before) if r.client_id == console]
    assert (record.decision, record.reason, record.on_behalf_of) == (
        "REFUSED",
        "MALFORMED_REQUEST",
        "",
    )
    assert b"3510010101010001" not in stack.stored_bytes()
    assert NIK_LIKE.encode() not in stack.stored_bytes()


async def test_a_citizen_sees_which_officer_looked_them_up(stack: Stack) -> None:
    citizen = stack.people.employed
    async with stack.channel(stack.console_member()) as channel:
        audit = audit_pb2_grpc.AuditStub(channel)
        await audit.Search(
            audit_pb2.SearchRequest(subject=citizen, limit=1), metadata=_naming("dewi")
        )
    async with stack.channel(CONSENT_MANAGER_ID) as channel:
        audit = audit_pb2_grpc.AuditStub(channel)
        token = sign_subject_token(citizen, stack.consent_key, issuer=CONSENT_MANAGER_ID)
        mine = await audit.CitizenAccesses(audit_pb2.CitizenAccessesRequest(subject_token=token))
    lookups = {(a.client_id, a.purpose, a.on_behalf_of) for a in mine.accesses}
    assert (stack.console_member(), "audit", "dewi") in lookups
    # Agencies' exchanges name no officer.
    assert all(a.on_behalf_of == "" for a in mine.accesses if a.client_id == ELIGIBILITY_ID)


async def test_other_services_refuse_a_name_from_a_caller_without_the_role_first(
    stack: Stack,
) -> None:
    """The check comes before the call's own: an empty consent request and an
    administrator's listing are refused for the name, and recorded."""
    before = stack.log_size()
    async with stack.channel(ELIGIBILITY_ID) as channel:
        consents = consent_pb2_grpc.ConsentRegistryStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as asked:
            await consents.RequestConsent(consent_pb2.ConsentRequest(), metadata=_naming("siti"))
    stack.member(ADMINISTRATOR_ID, roles=["administrator"])
    async with stack.channel(ADMINISTRATOR_ID) as channel:
        admin = admin_pb2_grpc.AdminStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as listed:
            await admin.ListEnrolments(admin_pb2.ListRequest(), metadata=_naming("siti"))
    assert refusal_of(asked.value).reason == refusal_of(listed.value).reason == "ROLE_REQUIRED"
    refused = {
        (r.client_id, r.service_id, r.reason, r.on_behalf_of)
        for r in stack.records(before)
        if r.client_id in (ELIGIBILITY_ID, ADMINISTRATOR_ID)
    }
    assert refused == {
        (ELIGIBILITY_ID, "jembatan.v1.ConsentRegistry/RequestConsent", "ROLE_REQUIRED", ""),
        (ADMINISTRATOR_ID, "jembatan.v1.Admin/ListEnrolments", "ROLE_REQUIRED", ""),
    }
