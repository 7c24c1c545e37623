"""Officers search the log by role; everyone else is refused, and every such call — allowed
or refused — is itself in the log."""

from __future__ import annotations

import asyncio
import hashlib
import json

import grpc
import pytest

from hub.audit.pseudonym import Pseudonymizer
from hub.provisioning import enrol, revoke_certificate
from jembatan.audit.verify import verify_range_export
from jembatan.client import QueryRefused, refusal_of
from jembatan.v1 import audit_pb2, audit_pb2_grpc
from tests.stack import ELIGIBILITY_ID, Stack, employment_query

AUDITOR_ID = "ID/GOV/BSSN/auditor"


def _stub(stack: Stack, member_id: str) -> tuple[grpc.aio.Channel, audit_pb2_grpc.AuditStub]:
    channel = stack.channel(member_id)
    return channel, audit_pb2_grpc.AuditStub(channel)


@pytest.fixture(scope="module")
def auditor(stack: Stack) -> str:
    if not (stack.home.member_dir(AUDITOR_ID) / "cert.pem").exists():
        enrol(stack.home, AUDITOR_ID, roles=["auditor"])
    return AUDITOR_ID


async def _exchanges_about(stack: Stack, nik: str) -> None:
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        await employment_query(client, nik, token)
        with pytest.raises(QueryRefused, match="CONSENT_MISSING"):  # recorded all the same
            await employment_query(client, nik, "")


async def test_an_officers_lookup_by_nik_is_recorded_under_keyed_digests(
    stack: Stack, auditor: str
) -> None:
    nik = stack.people.employed
    # Something to find: an answer with no entries serialises to nothing, and the record
    # of a call answered with nothing has no response digest at all.
    await _exchanges_about(stack, nik)
    search = audit_pb2.SearchRequest(subject=nik, limit=1)
    before = stack.log_size()
    channel, audit = _stub(stack, auditor)
    async with channel:
        answer = await audit.Search(search)
    (record,) = stack.records(before)
    assert record.service_id == "jembatan.v1.Audit/Search"
    # Whoever reads the log cannot try NIKs against the digest: a plain SHA-256 of a
    # SearchRequest built with this NIK (in any of the usual shapes) is not what it holds.
    guesses = [
        audit_pb2.SearchRequest(subject=nik, **extra).SerializeToString(deterministic=True)
        for extra in ({}, {"limit": 1}, {"limit": 100}, {"purpose": "bansos-eligibility"})
    ]
    assert record.request_digest not in {hashlib.sha256(guess).hexdigest() for guess in guesses}
    key = bytes.fromhex(stack.home.pseudonym_key.read_text().strip())
    keyed = Pseudonymizer(key)
    assert record.request_digest == keyed.digest(search.SerializeToString(deterministic=True))
    assert record.response_digest == keyed.digest(answer.SerializeToString(deterministic=True))


async def test_an_auditor_finds_a_citizens_exchanges_by_nik(stack: Stack, auditor: str) -> None:
    nik = stack.people.recently_terminated
    before = stack.log_size()
    await _exchanges_about(stack, nik)
    channel, audit = _stub(stack, auditor)
    async with channel:
        bansos = "bansos-eligibility"
        found = await audit.Search(audit_pb2.SearchRequest(subject=nik, purpose=bansos))
        refused = await audit.Search(
            audit_pb2.SearchRequest(subject=nik, decision="REFUSED", reason="CONSENT_MISSING")
        )
        page = await audit.Search(audit_pb2.SearchRequest(subject=nik, purpose=bansos, limit=1))
        rest = await audit.Search(
            audit_pb2.SearchRequest(
                subject=nik,
                purpose=bansos,
                after_index=page.entries[0].index,
                has_after_index=True,
            )
        )
        one = await audit.GetRecord(audit_pb2.GetRecordRequest(index=found.entries[0].index))
        # An officer's lookup of a citizen is itself an access to that citizen's data.
        lookups = await audit.Search(audit_pb2.SearchRequest(subject=nik, purpose="audit"))
    records = [json.loads(e.record_json) for e in found.entries]
    assert len(records) >= 2
    pseudonym = records[0]["subject"]
    assert {r["subject"] for r in records} == {pseudonym} and pseudonym != nik
    assert {r["decision"] for r in records} == {"RELEASED", "REFUSED"}
    assert refused.entries
    assert all(json.loads(e.record_json)["reason"] == "CONSENT_MISSING" for e in refused.entries)
    assert len(page.entries) == 1 and page.more
    assert [e.index for e in page.entries] + [e.index for e in rest.entries] == [
        e.index for e in found.entries
    ]
    assert one.record_json == found.entries[0].record_json
    assert {json.loads(e.record_json)["client_id"] for e in lookups.entries} == {AUDITOR_ID}
    # The officer's own calls are in the log too, with the NIK only as its pseudonym.
    # (Those of this test: other tests' officer calls may have been refused, and recorded.)
    officer = [r for r in stack.records(before) if r.client_id == AUDITOR_ID]
    assert {r.service_id for r in officer} >= {
        "jembatan.v1.Audit/Search",
        "jembatan.v1.Audit/GetRecord",
    }
    assert all(r.decision == "RELEASED" and r.stage == "call" for r in officer)
    assert pseudonym in {r.subject for r in officer}
    assert nik.encode() not in stack.stored_bytes()


_OFFICER_CALLS = {
    "Search": lambda stack: audit_pb2.SearchRequest(subject=stack.people.employed),
    "GetRecord": lambda stack: audit_pb2.GetRecordRequest(index=0),
    "StreamRecords": lambda stack: audit_pb2.StreamRecordsRequest(),
    "ExportRange": lambda stack: audit_pb2.ExportRangeRequest(start=0, end=1),
}


async def _call(audit: audit_pb2_grpc.AuditStub, method: str, request: object) -> object:
    if method in ("StreamRecords", "ExportRange"):
        return [item async for item in getattr(audit, method)(request)]
    return await getattr(audit, method)(request)


@pytest.mark.parametrize("method", sorted(_OFFICER_CALLS))
async def test_a_member_without_the_auditor_role_is_refused_and_that_is_logged(
    stack: Stack, method: str
) -> None:
    before = stack.log_size()
    channel, audit = _stub(stack, ELIGIBILITY_ID)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await _call(audit, method, _OFFICER_CALLS[method](stack))
    refusal = refusal_of(error.value)
    record = stack.refused_once(before, refusal, grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED")
    assert (record.client_id, record.service_id) == (ELIGIBILITY_ID, f"jembatan.v1.Audit/{method}")


def _last_officer_record(stack: Stack, officer: str, method: str) -> tuple[str, str]:
    record = [r for r in stack.records() if r.client_id == officer][-1]
    assert record.service_id == f"jembatan.v1.Audit/{method}"
    return record.decision, record.reason


@pytest.mark.parametrize("method", ["Search", "StreamRecords"])
@pytest.mark.parametrize("bound", ["yesterday", "2026-01-01T00:00:00"])
async def test_bad_search_bounds_are_refused_precisely_and_recorded(
    stack: Stack, auditor: str, method: str, bound: str
) -> None:
    query = audit_pb2.SearchRequest(time_from=bound)
    request = query if method == "Search" else audit_pb2.StreamRecordsRequest(filter=query)
    channel, audit = _stub(stack, auditor)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await _call(audit, method, request)
    refusal = refusal_of(error.value)
    assert (refusal.status, refusal.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )
    assert _last_officer_record(stack, auditor, method) == ("REFUSED", "MALFORMED_REQUEST")


async def test_a_record_that_is_not_there_is_not_found_and_that_is_recorded(
    stack: Stack, auditor: str
) -> None:
    channel, audit = _stub(stack, auditor)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await audit.GetRecord(audit_pb2.GetRecordRequest(index=10**9))
    refusal = refusal_of(error.value)
    assert (refusal.status, refusal.reason) == (grpc.StatusCode.NOT_FOUND, "UNKNOWN_TARGET")
    assert _last_officer_record(stack, auditor, "GetRecord") == ("REFUSED", "UNKNOWN_TARGET")


async def test_time_bounds_select_by_time(stack: Stack, auditor: str) -> None:
    channel, audit = _stub(stack, auditor)
    async with channel:
        everything = await audit.Search(
            audit_pb2.SearchRequest(time_from="2000-01-01T00:00:00+00:00", limit=5)
        )
        nothing = await audit.Search(audit_pb2.SearchRequest(time_to="2000-01-01T07:00:00+07:00"))
    assert everything.entries and not nothing.entries


async def test_an_auditor_fetches_a_range_with_proofs_that_verify_with_the_key_alone(
    stack: Stack, auditor: str
) -> None:
    await _exchanges_about(stack, stack.people.employed)
    end = stack.log_size()
    start = max(0, end - 5)
    async with stack.client(auditor) as client:
        lines = [line async for line in client.export_range(start, end)]
    verifier = stack.home.log_verifier_key.read_text().strip()
    proven = verify_range_export(lines, verifier)
    assert (proven.start, proven.end) == (start, end) and proven.checkpoint.size >= end
    assert [json.loads(line)["index"] for line in lines[1:]] == list(range(start, end))
    (record,) = [r for r in stack.records(end) if r.service_id.endswith("/ExportRange")]
    assert (record.client_id, record.decision) == (auditor, "RELEASED")


@pytest.mark.parametrize(("start", "end"), [(3, 3), (5, 2), (0, 10**9)])
async def test_a_range_outside_the_log_is_refused_precisely(
    stack: Stack, auditor: str, start: int, end: int
) -> None:
    async with stack.client(auditor) as client:
        with pytest.raises(QueryRefused) as refused:
            [line async for line in client.export_range(start, end)]
    assert (refused.value.status, refused.value.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
    )
    assert _last_officer_record(stack, auditor, "ExportRange") == ("REFUSED", "MALFORMED_REQUEST")


async def test_revoking_an_officer_ends_the_stream_they_follow(stack: Stack) -> None:
    officer = "ID/GOV/BSSN/auditor-leaving"
    files = enrol(stack.home, officer, roles=["auditor"])
    # Nothing matches: the stream only polls, as a follower waiting for news does.
    follow = audit_pb2.SearchRequest(client_id="ID/GOV/BSSN/nobody")
    async with stack.client(officer) as client:

        async def follow_until_ended() -> None:
            async for _ in client.stream_records(follow):
                pass

        following = asyncio.create_task(follow_until_ended())
        await asyncio.sleep(0.5)
        assert not following.done()
        revoke_certificate(stack.home, str(files.cert_path), "left the unit")
        with pytest.raises(QueryRefused) as ended:
            await asyncio.wait_for(following, timeout=10)
    assert (ended.value.status, ended.value.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )
    assert _last_officer_record(stack, officer, "StreamRecords") == ("REFUSED", "CERT_REVOKED")


async def test_an_auditor_following_the_log_sees_new_refusals_as_they_happen(
    stack: Stack, auditor: str
) -> None:
    after = stack.log_size() - 1
    follow = audit_pb2.SearchRequest(
        client_id=ELIGIBILITY_ID, decision="REFUSED", after_index=after, has_after_index=True
    )
    async with stack.client(auditor) as officer:
        seen: asyncio.Queue[audit_pb2.AuditEntry] = asyncio.Queue()

        async def watch() -> None:
            async for entry in officer.stream_records(follow):
                await seen.put(entry)

        watching = asyncio.create_task(watch())
        try:
            async with stack.client() as client:
                nik = stack.people.employed
                token, _ = stack.consent(nik)
                await employment_query(client, nik, token)  # released: not in this stream
                with pytest.raises(QueryRefused):
                    await employment_query(client, nik, "")
            entry = await asyncio.wait_for(seen.get(), timeout=10)
        finally:
            watching.cancel()
    record = json.loads(entry.record_json)
    assert entry.index > after
    assert (record["client_id"], record["decision"], record["reason"]) == (
        ELIGIBILITY_ID,
        "REFUSED",
        "CONSENT_MISSING",
    )
    assert seen.empty()


async def test_an_officer_lists_newest_first_and_pivots_without_a_nik(
    stack: Stack, auditor: str
) -> None:
    """The console's way of reading: newest first, paged back with before_index, and pivots
    from one record to the same subject (by its pseudonym), consent or request."""
    nik = stack.people.employed
    await _exchanges_about(stack, nik)
    channel, audit = _stub(stack, auditor)
    async with channel:
        oldest_first = await audit.Search(
            audit_pb2.SearchRequest(subject=nik, purpose="bansos-eligibility")
        )
        newest = await audit.Search(
            audit_pb2.SearchRequest(
                subject=nik, purpose="bansos-eligibility", newest_first=True, limit=1
            )
        )
        older = await audit.Search(
            audit_pb2.SearchRequest(
                subject=nik,
                purpose="bansos-eligibility",
                newest_first=True,
                before_index=newest.entries[0].index,
                has_before_index=True,
            )
        )
        latest = json.loads(newest.entries[0].record_json)
        by_pseudonym = await audit.Search(
            audit_pb2.SearchRequest(
                subject_pseudonym=latest["subject"], purpose="bansos-eligibility"
            )
        )
        released = next(
            json.loads(e.record_json)
            for e in oldest_first.entries
            if json.loads(e.record_json)["consent_id"]
        )
        by_consent = await audit.Search(audit_pb2.SearchRequest(consent_id=released["consent_id"]))
        by_digest = await audit.Search(
            audit_pb2.SearchRequest(request_digest=latest["request_digest"])
        )
        with pytest.raises(grpc.aio.AioRpcError) as both:
            await audit.Search(audit_pb2.SearchRequest(subject=nik, subject_pseudonym="x"))
    ascending = [e.index for e in oldest_first.entries]
    assert newest.more and [newest.entries[0].index] + [e.index for e in older.entries] == list(
        reversed(ascending)
    )
    assert [e.index for e in by_pseudonym.entries] == ascending
    assert by_consent.entries and all(
        json.loads(e.record_json)["consent_id"] == released["consent_id"]
        for e in by_consent.entries
    )
    assert newest.entries[0].index in [e.index for e in by_digest.entries]
    assert refusal_of(both.value).reason == "MALFORMED_REQUEST"
