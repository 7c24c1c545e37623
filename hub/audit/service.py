"""The Audit gRPC service, the part any member may use: checkpoints and proofs.

They carry hashes only, so a client can check that its own exchange was recorded without
learning anything about anyone else's. Searching and reading records is for officers.
"""

from __future__ import annotations

import grpc

from hub.audit.publisher import CheckpointPublisher
from hub.errors import Refusal
from hub.exchange import abort_with, peer_of
from hub.pipeline.stages import Identify
from hub.store.sqlite import SqliteRegistry
from jembatan.v1 import audit_pb2, audit_pb2_grpc


class AuditService(audit_pb2_grpc.AuditServicer):
    def __init__(
        self, identify: Identify, registry: SqliteRegistry, publisher: CheckpointPublisher
    ) -> None:
        self._identify = identify
        self._registry = registry
        self._publisher = publisher

    async def _check(self, context: grpc.aio.ServicerContext) -> None:
        try:
            self._identify.identify(peer_of(context))
        except Refusal as refusal:
            await abort_with(context, refusal)

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
