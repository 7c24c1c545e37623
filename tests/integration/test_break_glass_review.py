"""Officers review break-glass records through the real hub: a review is appended to the log
as a record of its own (kind "break-glass-review", naming the reviewed record's index), in
the same Merkle tree as everything else — its inclusion proof verifies, and an exported range
holding it passes `jembatan audit verify`. Each wrong review is refused with its own status
and reason, recorded without its note, and changes nothing; the list of break-glass records
says which are still waiting and for how long."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest

from hub.services.reviews import MAX_NOTE
from jembatan.audit.checkpoint import verify_checkpoint
from jembatan.audit.merkle import hash_leaf, verify_inclusion
from jembatan.audit.record import REVIEW_KIND, AuditRecord, Review
from jembatan.client import QueryRefused, refusal_of
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2
from tests.disguises import CONTROL_TEXTS, NIK_DISGUISES, disguised
from tests.stack import ELIGIBILITY_ID, Stack, employment_body

SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"
LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
WHY = "Banjir bandang di Kemiren 20 Nov: keluarga mengungsi, tidak dapat dihubungi"
OFFICER = "siti"
NOTE = "Banjir tercatat BNPB 20 Nov; persetujuan supervisor sah, akses sesuai aturan darurat."
MALFORMED = (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST")
NOT_FOUND = (grpc.StatusCode.NOT_FOUND, "UNKNOWN_TARGET")
DECIDED = (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_DECIDED")


async def _break_glass(stack: Stack) -> int:
    """A new approved break-glass exchange; its log index."""
    stack.member(SUPERVISOR, roles=["approver"])
    before = stack.log_size()
    async with stack.client() as client, stack.client(SUPERVISOR) as supervisor:
        basis = exchange_pb2.LegalBasis(reference=LAW, justification=WHY)
        body = employment_body(
            client,
            stack.people.employed,
            fields=["employment_status"],
            purpose="bansos-emergency",
            legal_basis=basis,
        )
        await client.send(supervisor.approve(client.sign(body)))
    (index,) = [
        before + i for i, r in enumerate(stack.records(before)) if r.break_glass and r.client_id
    ]
    return index


def _naming(officer: str | None) -> Sequence[tuple[str, str]]:
    return () if officer is None else ((ON_BEHALF_OF_METADATA_KEY, officer),)


async def _review(
    stack: Stack,
    index: int,
    outcome: str = "justified",
    note: str = NOTE,
    *,
    member: str | None = None,
    officer: str | None = OFFICER,
) -> audit_pb2.LoggedRecord:
    """Review record ``index`` as the console (by default) for ``officer``."""
    async with stack.channel(member or stack.console_member()) as channel:
        request = audit_pb2.ReviewBreakGlassRequest(index=index, outcome=outcome, note=note)
        try:
            logged: audit_pb2.LoggedRecord = await audit_pb2_grpc.AuditStub(
                channel
            ).ReviewBreakGlass(request, metadata=_naming(officer))
        except grpc.aio.AioRpcError as error:
            raise refusal_of(error) from error
        return logged


async def _refused_review(
    stack: Stack, expected: tuple[grpc.StatusCode, str], index: int, **review: object
) -> AuditRecord:
    """The review is refused ``expected``, and leaves one record: the refused call, with
    no review in it and no trace of the note."""
    before = stack.log_size()
    with pytest.raises(QueryRefused) as refused:
        await _review(stack, index, **review)  # type: ignore[arg-type]
    record = stack.refused_once(before, refused.value, *expected)
    assert record.review is None and record.service_id == "jembatan.v1.Audit/ReviewBreakGlass"
    note = str(review.get("note", NOTE))
    assert not note or note.encode() not in record.canonical_json()
    return record


async def test_a_review_is_appended_as_its_own_record_and_proven_like_any_other(
    stack: Stack, tmp_path: Path
) -> None:
    index = await _break_glass(stack)
    logged = await _review(stack, index, "justified", NOTE)
    assert logged.index > index

    async with stack.channel(stack.console_member()) as channel:
        audit = audit_pb2_grpc.AuditStub(channel)
        entry = await audit.GetRecord(
            audit_pb2.GetRecordRequest(index=logged.index), metadata=_naming(OFFICER)
        )
        signed = await audit.GetCheckpoint(
            audit_pb2.GetCheckpointRequest(min_size=logged.index + 1)
        )
        verifier = stack.home.log_verifier_key.read_text().strip()
        checkpoint = verify_checkpoint(signed.note, verifier)
        proof = await audit.GetInclusionProof(
            audit_pb2.GetInclusionProofRequest(index=logged.index, tree_size=checkpoint.size)
        )
        lines = [
            line.line
            async for line in audit.ExportRange(
                audit_pb2.ExportRangeRequest(start=index, end=logged.index + 1),
                metadata=_naming(OFFICER),
            )
        ]
    record = AuditRecord.from_json(entry.record_json)
    assert record.kind == REVIEW_KIND
    assert record.review == Review(index, "justified", NOTE)
    assert (record.on_behalf_of, record.decision, record.purpose) == (OFFICER, "RELEASED", "audit")
    # The console hashes the bytes it shows: they are the leaf the signed tree holds.
    assert hash_leaf(entry.record_json) == logged.leaf_hash == entry.leaf_hash
    verify_inclusion(
        logged.index,
        checkpoint.size,
        hash_leaf(entry.record_json),
        proof.hashes,
        checkpoint.root_hash,
    )

    # Anyone with the verifier key checks the range — the exchange and its review — offline.
    export = tmp_path / "review.jsonl"
    export.write_text("\n".join(lines) + "\n")
    verified = subprocess.run(
        [sys.executable, "-m", "hub.cli", "audit", "verify", str(export), "--key", verifier],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    exported = [json.loads(line) for line in lines[1:]]
    assert exported[0]["index"] == index and json.loads(exported[0]["record"])["break_glass"]
    assert json.loads(exported[-1]["record"])["review"]["reviewed_index"] == index


async def test_each_wrong_review_is_refused_precisely_and_recorded_without_its_note(
    stack: Stack,
) -> None:
    index = await _break_glass(stack)
    ordinary = next(i for i, r in enumerate(stack.records()) if not r.break_glass)
    nik = stack.people.employed

    await _refused_review(stack, NOT_FOUND, 10**12)
    record = await _refused_review(stack, NOT_FOUND, ordinary)
    assert record.on_behalf_of == OFFICER
    await _refused_review(stack, MALFORMED, index, outcome="approved")
    await _refused_review(stack, MALFORMED, index, outcome="")
    await _refused_review(stack, MALFORMED, index, note="")
    await _refused_review(stack, MALFORMED, index, note="x" * (MAX_NOTE + 1))
    for how in NIK_DISGUISES:
        await _refused_review(stack, MALFORMED, index, note=f"pemohon {disguised(nik, how)} sah")
    for text in CONTROL_TEXTS.values():
        await _refused_review(stack, MALFORMED, index, note=text)
    assert nik.encode() not in stack.stored_bytes()
    # Not an officer: an agency's client; the console's shared certificate naming nobody.
    await _refused_review(
        stack, (grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED"), index, member=ELIGIBILITY_ID
    )
    await _refused_review(stack, MALFORMED, index, officer=None)

    # None of them reviewed it: the first real review is accepted, a second is refused.
    await _review(stack, index, "unjustified", "Tidak ada bencana tercatat di desa ini.")
    record = await _refused_review(stack, DECIDED, index, outcome="justified")
    assert record.on_behalf_of == OFFICER
    # An auditor's own certificate (no console role) reviews in its own name.
    await _refused_review(stack, DECIDED, index, member=stack.auditor(), officer=None)


async def test_an_escalated_record_stays_open_until_its_final_review(stack: Stack) -> None:
    index = await _break_glass(stack)
    first = await _review(stack, index, "escalated", "Perlu keputusan Inspektorat Jenderal.")
    final = await _review(stack, index, "justified", NOTE, member=stack.auditor(), officer=None)
    await _refused_review(stack, DECIDED, index, outcome="escalated")
    reviews = [
        (r.review, r.on_behalf_of or r.client_id)
        for r in stack.records(first.index)
        if r.review is not None and r.review.reviewed_index == index
    ]
    assert reviews == [
        (Review(index, "escalated", "Perlu keputusan Inspektorat Jenderal."), OFFICER),
        (Review(index, "justified", NOTE), stack.auditor()),
    ]
    assert final.index > first.index


async def test_two_reviews_at_once_record_one_verdict(stack: Stack) -> None:
    index = await _break_glass(stack)
    outcomes = await asyncio.gather(
        *(_review(stack, index, outcome, NOTE) for outcome in ("justified", "unjustified")),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, audit_pb2.LoggedRecord)]
    lost = [o for o in outcomes if isinstance(o, QueryRefused)]
    assert len(won) == 1 and len(lost) == 1 and lost[0].reason == "ALREADY_DECIDED"
    verdicts = [
        r.review for r in stack.records(index) if r.review and r.review.reviewed_index == index
    ]
    assert len(verdicts) == 1


async def _cases(stack: Stack, state: str = "") -> list[audit_pb2.BreakGlassCase]:
    cases: list[audit_pb2.BreakGlassCase] = []
    request = audit_pb2.ListBreakGlassRequest(state=state, limit=2)
    async with stack.channel(stack.console_member()) as channel:
        audit = audit_pb2_grpc.AuditStub(channel)
        while True:  # in pages of two, to follow `more`
            try:
                page = await audit.ListBreakGlass(request, metadata=_naming(OFFICER))
            except grpc.aio.AioRpcError as error:
                raise refusal_of(error) from error
            cases.extend(page.cases)
            if not page.more:
                return cases
            request.after_index, request.has_after_index = page.cases[-1].entry.index, True


async def test_the_list_says_which_break_glass_records_wait_for_review_and_how_long(
    stack: Stack,
) -> None:
    waiting = await _break_glass(stack)
    reviewed = await _break_glass(stack)
    escalated = await _break_glass(stack)
    await _review(stack, reviewed, "unjustified", "Tidak ada bencana tercatat di desa ini.")
    review = await _review(stack, escalated, "escalated", "Perlu keputusan Inspektorat.")
    await asyncio.sleep(1.1)

    every = {case.entry.index: case for case in await _cases(stack)}
    assert [index for index in every if index in (waiting, reviewed, escalated)] == [
        waiting,
        reviewed,
        escalated,
    ]
    assert (every[waiting].state, every[waiting].reviews) == ("unreviewed", 0)
    assert every[waiting].waiting_s >= 1 and not every[waiting].HasField("review")
    assert (every[reviewed].state, every[reviewed].waiting_s) == ("unjustified", 0)
    assert (every[escalated].state, every[escalated].review.index) == ("escalated", review.index)
    assert every[escalated].waiting_s >= 1
    assert all(json.loads(case.entry.record_json)["break_glass"] for case in every.values())

    open_ = {case.entry.index for case in await _cases(stack, "open")}
    closed = {case.entry.index for case in await _cases(stack, "closed")}
    unreviewed = {case.entry.index for case in await _cases(stack, "unreviewed")}
    assert {waiting, escalated} <= open_ and reviewed not in open_
    assert reviewed in closed and not {waiting, escalated} & closed
    assert waiting in unreviewed and not {reviewed, escalated} & unreviewed

    before = stack.log_size()
    with pytest.raises(QueryRefused) as refused:
        await _cases(stack, "pending")
    stack.refused_once(before, refused.value, *MALFORMED)
