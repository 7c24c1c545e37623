"""The Audit gRPC service.

Checkpoints and proofs carry hashes only, so any member may ask for them: a client checks
that its own exchange was recorded without learning anything about anyone else's.
Searching and reading records needs the auditor role in the caller's certificate, and every
such call — allowed or refused, for the role or for what it asked — is itself appended to
the log before it is answered, so the officers' own access is as auditable as the exchanges
they review. A follower (``StreamRecords``) is checked again before every poll: revoking
the officer's certificate ends the stream; like every stream, it counts against its member's
bound on open streams (``hub.admission``). A citizen's view of who accessed their data is
the consent manager's call, made for a citizen it has just authenticated. Officers' reviews
of break-glass records (``hub.services.reviews``) and the console's reports of its officers'
logins, logouts, lockouts and exports (``hub.services.officer_events``) are records of their
own kinds in the same log.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
from collections.abc import AsyncIterator

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import Message

from hub.admission import Admission, Held
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.publisher import CheckpointPublisher
from hub.services.calls import CallRecorder, MemberCall
from hub.services.exchange import abort_with
from hub.services.officer_events import officer_event
from hub.services.reviews import BreakGlassReviews
from hub.store.base import HubStore
from jembatan.audit.record import KINDS, AuditRecord
from jembatan.audit.verify import range_export_lines
from jembatan.certs import CONSOLE
from jembatan.errors import Refusal
from jembatan.v1 import audit_pb2, audit_pb2_grpc

AUDITOR = "auditor"
# Purposes of the records that officers' and citizens' own calls leave in the log.
AUDIT = "audit"
CITIZEN_VIEW = "citizen-access"
_SEARCH_LIMIT = 500
# Export lines made per storage step (each reads a few pages of records and proofs).
_EXPORT_BATCH = 256
_FILTERS = (
    "time_from",
    "time_to",
    "client_id",
    "service_id",
    "purpose",
    "decision",
    "reason",
    "on_behalf_of",
    "consent_id",
    "request_digest",
    "kind",
    "officer",
    "officer_event",
)


class AuditService(audit_pb2_grpc.AuditServicer):
    def __init__(
        self,
        calls: CallRecorder,
        registry: HubStore,
        publisher: CheckpointPublisher,
        pseudonyms: Pseudonymizer,
        consent_key: Ed25519PublicKey,
        admission: Admission,
        *,
        follow_interval_s: float = 0.2,
    ) -> None:
        self._follow_interval_s = follow_interval_s
        self._admission = admission
        self._calls = calls.bind("jembatan.v1.Audit", AUDIT)
        self._registry = registry
        self._publisher = publisher
        self._pseudonyms = pseudonyms
        self._consent_key = consent_key
        self._reviews = BreakGlassReviews(registry, self._calls)

    async def _officer(
        self, context: grpc.aio.ServicerContext, method: str, request: Message, subject: str
    ) -> MemberCall:
        return await self._calls.caller_with_role(
            context, AUDITOR, method, request, subject=subject
        )

    async def _open_stream(
        self, context: grpc.aio.ServicerContext, call: MemberCall, method: str
    ) -> Held:
        """The officer's stream, admitted against its member's bound (or RATE_LIMITED)."""
        try:
            return await self._admission.stream(
                call.member.member_id,
                call.member.serial,
                f"jembatan.v1.Audit/{method}",
                call.recorded.request_digest,
            )
        except Refusal as refusal:  # recorded by admission control, which bounds how often
            await abort_with(context, refusal)
            raise

    async def _bad_request(self, context: grpc.aio.ServicerContext, detail: str) -> None:
        await abort_with(context, Refusal("MALFORMED_REQUEST", detail))

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.SignedCheckpoint:
        await self._calls.caller(context, "GetCheckpoint", request)
        store = self._calls.store
        if request.min_size > await store(self._registry.tree_size):
            await self._bad_request(context, "min_size is beyond the log")
        size, note = await store(self._publisher.latest, request.min_size)
        return audit_pb2.SignedCheckpoint(note=note, size=size)

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.InclusionProof:
        await self._calls.caller(context, "GetInclusionProof", request)
        store = self._calls.store
        if not request.index < request.tree_size <= await store(self._registry.tree_size):
            await self._bad_request(context, "need index < tree_size <= log size")
        return audit_pb2.InclusionProof(
            index=request.index,
            tree_size=request.tree_size,
            leaf_hash=await store(self._registry.committed_leaf, request.index),
            hashes=await store(self._registry.inclusion_proof, request.index, request.tree_size),
        )

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ConsistencyProof:
        await self._calls.caller(context, "GetConsistencyProof", request)
        store = self._calls.store
        if not request.old_size <= request.new_size <= await store(self._registry.tree_size):
            await self._bad_request(context, "need old_size <= new_size <= log size")
        return audit_pb2.ConsistencyProof(
            old_size=request.old_size,
            new_size=request.new_size,
            hashes=await store(
                self._registry.consistency_proof, request.old_size, request.new_size
            ),
        )

    async def Search(
        self, request: audit_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.SearchResponse:
        call = await self._officer(context, "Search", request, request.subject)
        filters = await self._filters(context, call, request)
        limit = min(request.limit or _SEARCH_LIMIT, _SEARCH_LIMIT)
        rows = await self._calls.store(
            self._registry.search,
            filters,
            after_index=request.after_index if request.has_after_index else None,
            before_index=request.before_index if request.has_before_index else None,
            newest_first=request.newest_first,
            limit=limit + 1,
        )
        response = audit_pb2.SearchResponse(
            entries=[
                audit_pb2.AuditEntry(index=i, leaf_hash=leaf, record_json=record)
                for i, leaf, record in rows[:limit]
            ],
            more=len(rows) > limit,
        )
        return await self._calls.answer(context, call, response)

    async def StreamRecords(
        self, request: audit_pb2.StreamRecordsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.AuditEntry]:
        query = request.filter
        call = await self._officer(context, "StreamRecords", request, query.subject)
        with await self._open_stream(context, call, "StreamRecords"):
            filters = await self._filters(context, call, query)
            await self._calls.record(context, call)
            after = query.after_index if query.has_after_index else None
            while True:  # until the officer hangs up: the call is cancelled at an await
                # The role was checked once, but a certificate revoked since must not go on
                # reading the log: its registration is read again before every poll.
                await self._calls.still_registered(context, call)
                rows = await self._calls.store(
                    self._registry.search, filters, after_index=after, limit=_SEARCH_LIMIT
                )
                for index, leaf, record in rows:
                    yield audit_pb2.AuditEntry(index=index, leaf_hash=leaf, record_json=record)
                if rows:
                    after = rows[-1][0]
                if len(rows) < _SEARCH_LIMIT:
                    await asyncio.sleep(self._follow_interval_s)

    async def ExportRange(
        self, request: audit_pb2.ExportRangeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[audit_pb2.ExportLine]:
        call = await self._officer(context, "ExportRange", request, "")
        with await self._open_stream(context, call, "ExportRange"):
            store = self._calls.store
            if not request.start < request.end <= await store(self._registry.tree_size):
                await self._calls.refuse(
                    context, call, Refusal("MALFORMED_REQUEST", "need start < end <= log size")
                )
            size, note = await store(self._publisher.latest, request.end)
            # The officer's export is recorded before the first line leaves.
            await self._calls.record(context, call)
            lines = range_export_lines(
                note,
                size,
                request.start,
                request.end,
                self._registry.committed_entries(request.end, request.start),
                self._registry.inclusion_proofs(request.start, request.end, size),
            )
            while True:
                # The lines read storage as they are made: a batch at a time, where storage
                # calls run, so other calls go on in between.
                batch = await store(lambda: list(itertools.islice(lines, _EXPORT_BATCH)))
                for line in batch:
                    yield audit_pb2.ExportLine(line=line)
                if len(batch) < _EXPORT_BATCH:
                    break

    async def _filters(
        self, context: grpc.aio.ServicerContext, call: MemberCall, query: audit_pb2.SearchRequest
    ) -> dict[str, str]:
        """The store's filters for ``query``; a bad one is refused (recorded)."""
        filters = {name: getattr(query, name) for name in _FILTERS if getattr(query, name)}
        try:
            for bound in ("time_from", "time_to"):
                if bound in filters:
                    filters[bound] = _utc(filters[bound])
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)
        if query.subject and query.subject_pseudonym:
            await self._calls.refuse(
                context,
                call,
                Refusal("MALFORMED_REQUEST", "subject and subject_pseudonym: give one of them"),
            )
        if query.subject:
            filters["subject"] = self._pseudonyms.subject(query.subject)
        elif query.subject_pseudonym:
            filters["subject"] = query.subject_pseudonym
        if query.break_glass:
            filters["break_glass"] = "1"
        if query.HasField("reviewed_index"):
            filters["reviewed_index"] = str(query.reviewed_index)
        if query.kind and query.kind not in KINDS:
            bad_kind = Refusal("MALFORMED_REQUEST", f"kind must be one of {', '.join(KINDS)}")
            await self._calls.refuse(context, call, bad_kind)
        return filters

    async def GetRecord(
        self, request: audit_pb2.GetRecordRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.AuditEntry:
        call = await self._officer(context, "GetRecord", request, "")
        entry = await self._calls.store(self._registry.entry, request.index)
        if entry is None:
            await self._calls.refuse(
                context, call, Refusal("UNKNOWN_TARGET", f"no record {request.index}")
            )
        response = audit_pb2.AuditEntry(
            index=request.index, leaf_hash=entry[0], record_json=entry[1]
        )
        return await self._calls.answer(context, call, response)

    async def ReviewBreakGlass(
        self, request: audit_pb2.ReviewBreakGlassRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.LoggedRecord:
        call = await self._officer(context, "ReviewBreakGlass", request, "")
        return await self._reviews.review(context, call, request)

    async def ListBreakGlass(
        self, request: audit_pb2.ListBreakGlassRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.BreakGlassList:
        call = await self._officer(context, "ListBreakGlass", request, "")
        return await self._reviews.list(context, call, request)

    async def RecordOfficerEvent(
        self, request: audit_pb2.OfficerEventRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.LoggedRecord:
        call = await self._calls.caller_with_role(context, CONSOLE, "RecordOfficerEvent", request)
        try:
            event = officer_event(request)
        except Refusal as refusal:
            await self._calls.refuse(context, call, refusal)
        logged = await self._calls.record_kind(context, call, officer_event=event)
        return audit_pb2.LoggedRecord(index=logged.index, leaf_hash=logged.leaf_hash)

    async def CitizenAccesses(
        self, request: audit_pb2.CitizenAccessesRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.CitizenAccessList:
        call = await self._calls.consent_manager(
            context, "CitizenAccesses", request, purpose=CITIZEN_VIEW
        )
        nik = await self._calls.citizen(context, call, request.subject_token, self._consent_key)
        pseudonym = self._pseudonyms.subject(nik)
        if request.limit:
            before = request.before_index if request.has_before_index else None
            response = await self._calls.store(
                self._citizen_page, pseudonym, min(request.limit, _SEARCH_LIMIT), before
            )
        else:
            accesses = await self._calls.store(self._citizen_all, pseudonym)
            response = audit_pb2.CitizenAccessList(accesses=accesses)
        return await self._calls.answer(context, self._calls.about(call, nik), response)

    def _citizen_all(self, pseudonym: str) -> list[audit_pb2.CitizenAccess]:
        accesses = []
        after: int | None = None
        while True:  # every page: a citizen sees all of it
            rows = self._registry.search(
                {"subject": pseudonym}, after_index=after, limit=_SEARCH_LIMIT
            )
            accesses += _citizen_accesses(rows)
            if len(rows) < _SEARCH_LIMIT:
                return accesses
            after = rows[-1][0]

    def _citizen_page(
        self, pseudonym: str, limit: int, before: int | None
    ) -> audit_pb2.CitizenAccessList:
        """At most ``limit`` accesses before ``before``, newest first, and whether more
        remain (looked for, not guessed: the citizen's own looks are left out of a page)."""
        page: list[audit_pb2.CitizenAccess] = []
        while True:
            rows = self._registry.search(
                {"subject": pseudonym},
                after_index=None,
                before_index=before,
                newest_first=True,
                limit=limit,
            )
            for access in _citizen_accesses(rows):
                if len(page) == limit:
                    return audit_pb2.CitizenAccessList(
                        accesses=page, more=True, next_before_index=page[-1].log_index
                    )
                page.append(access)
            if len(rows) < limit:
                return audit_pb2.CitizenAccessList(accesses=page)
            before = rows[-1][0]


def _utc(text: str) -> str:
    """An RFC 3339 bound in the log's own time format, so text order is time order."""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise Refusal("MALFORMED_REQUEST", "time bounds must be RFC 3339") from None
    if moment.tzinfo is None:
        raise Refusal("MALFORMED_REQUEST", "time bounds need a UTC offset")
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds")


def _citizen_accesses(rows: list[tuple[int, bytes, bytes]]) -> list[audit_pb2.CitizenAccess]:
    accesses = []
    for index, _, record_json in rows:
        record = AuditRecord.from_json(record_json)
        if record.purpose == CITIZEN_VIEW:
            continue  # their own look at the list is not news to them
        accesses.append(_citizen_access(index, record))
    return accesses


def _citizen_access(index: int, record: AuditRecord) -> audit_pb2.CitizenAccess:
    return audit_pb2.CitizenAccess(
        time=record.time,
        client_id=record.client_id,
        service_id=record.service_id,
        purpose=record.purpose,
        decision=record.decision,
        reason=record.reason,
        fields_released=[
            audit_pb2.ReleasedFieldRecord(name=name, treatment=treatment)
            for name, treatment in record.fields_released
        ],
        log_index=index,
        on_behalf_of=record.on_behalf_of,
    )
