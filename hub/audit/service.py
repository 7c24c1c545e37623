"""The Audit gRPC service.

Checkpoints and proofs carry hashes only, so any member may ask for them: a client checks
that its own exchange was recorded without learning anything about anyone else's.
Searching and reading records needs the auditor role in the caller's certificate, and every
such call — allowed or refused — is itself appended to the log before it is answered, so
the officers' own access is as auditable as the exchanges they review.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import Message

from consent.artefact import verify_subject_token
from hub.audit.log import AuditLog, AuditUnavailable, pending_entry
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.publisher import CheckpointPublisher
from hub.audit.record import AuditRecord
from hub.errors import Refusal
from hub.exchange import abort_with, peer_of
from hub.home import CONSENT_MANAGER_ID
from hub.pipeline.stages import Identify, PeerMember
from hub.store.sqlite import SqliteRegistry
from jembatan.v1 import audit_pb2, audit_pb2_grpc

AUDITOR = "auditor"
CITIZEN_VIEW = "citizen-access"
_SEARCH_LIMIT = 500
_FILTERS = ("time_from", "time_to", "client_id", "service_id", "purpose", "decision", "reason")


class AuditService(audit_pb2_grpc.AuditServicer):
    def __init__(
        self,
        identify: Identify,
        registry: SqliteRegistry,
        publisher: CheckpointPublisher,
        log: AuditLog,
        pseudonyms: Pseudonymizer,
        clock: Callable[[], float],
        consent_key: Ed25519PublicKey,
    ) -> None:
        self._identify = identify
        self._registry = registry
        self._publisher = publisher
        self._log = log
        self._pseudonyms = pseudonyms
        self._clock = clock
        self._consent_key = consent_key

    async def _check(self, context: grpc.aio.ServicerContext) -> PeerMember:
        try:
            return self._identify.identify(peer_of(context))
        except Refusal as refusal:
            await abort_with(context, refusal)
            raise

    async def _officer(
        self, context: grpc.aio.ServicerContext, method: str, request: Message, subject: str
    ) -> PeerMember:
        """The caller, if an auditor; otherwise the refusal is recorded and sent."""
        member = await self._check(context)
        if AUDITOR not in member.roles:
            refusal = Refusal("ROLE_REQUIRED", f"{method} needs the {AUDITOR} role")
            await self._record(member, method, request, b"", subject, refusal, context)
            await abort_with(context, refusal)
        return member

    async def _record(
        self,
        member: PeerMember,
        method: str,
        request: Message,
        response: bytes,
        subject: str,
        refusal: Refusal | None,
        context: grpc.aio.ServicerContext,
    ) -> None:
        """Append the officer's call to the log; fail closed if it cannot be recorded."""
        record = AuditRecord(
            time=datetime.datetime.fromtimestamp(self._clock(), datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            request_id="",
            client_id=member.member_id,
            client_certificate=member.serial,
            service_id=f"jembatan.v1.Audit/{method}",
            purpose=CITIZEN_VIEW if method == "CitizenAccesses" else "audit",
            consent_id="",
            subject=self._pseudonyms.subject(subject) if subject else "",
            decision="REFUSED" if refusal else "RELEASED",
            reason=refusal.reason if refusal else "",
            stage="audit-api",
            status=refusal.status.name if refusal else "OK",
            policy_version="",
            request_digest=hashlib.sha256(
                request.SerializeToString(deterministic=True)
            ).hexdigest(),
            response_digest=hashlib.sha256(response).hexdigest() if response else "",
            fields_requested=tuple(f.name for f, _ in request.ListFields()),
        )
        try:
            await self._log.append(pending_entry(record))
        except AuditUnavailable:
            await abort_with(
                context, Refusal("AUDIT_UNAVAILABLE", "the audit log cannot record this")
            )

    async def _bad_request(self, context: grpc.aio.ServicerContext, detail: str) -> None:
        await abort_with(context, Refusal("MALFORMED_REQUEST", detail))

    async def GetCheckpoint(
        self, request: audit_pb2.GetCheckpointRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.SignedCheckpoint:
        await self._check(context)
        if request.min_size > self._registry.tree_size():
            await self._bad_request(context, "min_size is beyond the log")
        size, note = self._publisher.latest(request.min_size)
        return audit_pb2.SignedCheckpoint(note=note, size=size)

    async def GetInclusionProof(
        self, request: audit_pb2.GetInclusionProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.InclusionProof:
        await self._check(context)
        if not request.index < request.tree_size <= self._registry.tree_size():
            await self._bad_request(context, "need index < tree_size <= log size")
        return audit_pb2.InclusionProof(
            index=request.index,
            tree_size=request.tree_size,
            leaf_hash=self._registry.committed_leaf(request.index),
            hashes=self._registry.inclusion_proof(request.index, request.tree_size),
        )

    async def GetConsistencyProof(
        self, request: audit_pb2.GetConsistencyProofRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.ConsistencyProof:
        await self._check(context)
        if not request.old_size <= request.new_size <= self._registry.tree_size():
            await self._bad_request(context, "need old_size <= new_size <= log size")
        return audit_pb2.ConsistencyProof(
            old_size=request.old_size,
            new_size=request.new_size,
            hashes=self._registry.consistency_proof(request.old_size, request.new_size),
        )

    async def Search(
        self, request: audit_pb2.SearchRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.SearchResponse:
        member = await self._officer(context, "Search", request, request.subject)
        filters = {name: getattr(request, name) for name in _FILTERS if getattr(request, name)}
        for bound in ("time_from", "time_to"):
            if bound in filters:
                filters[bound] = await self._utc(filters[bound], context)
        if request.subject:
            filters["subject"] = self._pseudonyms.subject(request.subject)
        limit = min(request.limit or _SEARCH_LIMIT, _SEARCH_LIMIT)
        rows = self._registry.search(
            filters,
            after_index=request.after_index if request.has_after_index else None,
            limit=limit + 1,
        )
        response = audit_pb2.SearchResponse(
            entries=[
                audit_pb2.AuditEntry(index=i, leaf_hash=leaf, record_json=record)
                for i, leaf, record in rows[:limit]
            ],
            more=len(rows) > limit,
        )
        body = response.SerializeToString(deterministic=True)
        await self._record(member, "Search", request, body, request.subject, None, context)
        return response

    async def GetRecord(
        self, request: audit_pb2.GetRecordRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.AuditEntry:
        member = await self._officer(context, "GetRecord", request, "")
        entry = self._registry.entry(request.index)
        if entry is None:
            await self._bad_request(context, f"no record {request.index}")
            raise AssertionError("unreachable")
        response = audit_pb2.AuditEntry(
            index=request.index, leaf_hash=entry[0], record_json=entry[1]
        )
        body = response.SerializeToString(deterministic=True)
        await self._record(member, "GetRecord", request, body, "", None, context)
        return response

    async def CitizenAccesses(
        self, request: audit_pb2.CitizenAccessesRequest, context: grpc.aio.ServicerContext
    ) -> audit_pb2.CitizenAccessList:
        member = await self._check(context)
        now = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)
        try:
            nik = verify_subject_token(
                request.subject_token, self._consent_key, issuer=CONSENT_MANAGER_ID, now=now
            )
        except Refusal as refusal:
            await self._record(member, "CitizenAccesses", request, b"", "", refusal, context)
            await abort_with(context, refusal)
            raise
        pseudonym = self._pseudonyms.subject(nik)
        accesses = []
        after: int | None = None
        while True:  # every page: a citizen sees all of it
            rows = self._registry.search({"subject": pseudonym}, after_index=after, limit=500)
            for index, _, record_json in rows:
                record = AuditRecord.from_json(record_json)
                if record.purpose == CITIZEN_VIEW:
                    continue  # their own look at the list is not news to them
                accesses.append(_citizen_access(index, record))
            if len(rows) < 500:
                break
            after = rows[-1][0]
        response = audit_pb2.CitizenAccessList(accesses=accesses)
        body = response.SerializeToString(deterministic=True)
        await self._record(member, "CitizenAccesses", request, body, nik, None, context)
        return response

    async def _utc(self, text: str, context: grpc.aio.ServicerContext) -> str:
        """An RFC 3339 bound in the log's own time format, so text order is time order."""
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            await self._bad_request(context, "time bounds must be RFC 3339")
            raise
        if moment.tzinfo is None:
            await self._bad_request(context, "time bounds need a UTC offset")
        return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds")


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
    )
