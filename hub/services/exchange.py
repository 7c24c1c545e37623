"""The Exchange service: one query, a fan-out for one applicant, and the bulk stream.

All three run every leg through the same pipeline; fan-out and bulk only schedule legs.
The methods are registered on raw bytes so that even undecodable input gets a precise
refusal (the pipeline's decode stage parses single queries; this module parses the
fan-out envelope).

Each call is admitted (``hub.admission``) as soon as its caller is identified: a query or
fan-out against its member's bound on calls, a bulk stream against its bound on streams;
the pipeline then works on every leg in the member's fair turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import grpc
from google.protobuf.any_pb2 import Any
from google.protobuf.message import DecodeError
from google.protobuf.unknown_fields import UnknownFieldSet
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from hub.admission import Admission, Held
from hub.pipeline.chain import Pipeline
from hub.pipeline.exchange import Exchange, Peer
from jembatan.errors import (
    CATEGORY_KEY,
    ERROR_DOMAIN,
    REASON_METADATA_KEY,
    RETRYABLE_KEY,
    STAGE_KEY,
    Refusal,
)
from jembatan.limits import MAX_CORRELATION_ID, MAX_LEGS
from jembatan.tracing import span
from jembatan.v1 import exchange_pb2

log = logging.getLogger(__name__)
SERVICE = "jembatan.v1.Exchange"
QUERY, FAN_OUT, BULK = (f"{SERVICE}/{method}" for method in ("Query", "FanOut", "Bulk"))


def peer_of(context: grpc.aio.ServicerContext) -> Peer:
    certs = context.auth_context().get("x509_pem_cert")
    return Peer(cert_pem=certs[0] if certs else None)


async def abort_with(context: grpc.aio.ServicerContext, refusal: Refusal) -> None:
    """End the call with ``refusal`` as the caller may see it: the gRPC status and message,
    a google.rpc.Status with its ErrorInfo in grpc-status-details-bin, and the reason in
    the jembatan-reason trailer that clients from before the Status still read."""
    told = refusal.public()
    details = Any()
    details.Pack(_error_info(told))
    status = rpc_status.to_status(
        status_pb2.Status(code=told.status.value[0], message=told.detail, details=[details])
    )
    context.set_trailing_metadata((*status.trailing_metadata, (REASON_METADATA_KEY, told.reason)))
    await context.abort(status.code, status.details)


def _error_info(told: Refusal) -> error_details_pb2.ErrorInfo:
    """Reason, domain, and what a LegOutcome says besides: stage, category, retryable."""
    metadata = {CATEGORY_KEY: told.category, RETRYABLE_KEY: str(told.retryable).lower()}
    if told.stage:
        metadata[STAGE_KEY] = told.stage
    return error_details_pb2.ErrorInfo(reason=told.reason, domain=ERROR_DOMAIN, metadata=metadata)


def _outcome_of(refusal: Refusal) -> exchange_pb2.LegOutcome:
    told = refusal.public()
    return exchange_pb2.LegOutcome(
        status=told.status.name,
        reason=told.reason,
        message=told.detail,
        stage=told.stage,
        category=told.category,
        retryable=told.retryable,
    )


def _decode_fan_out(raw: bytes) -> exchange_pb2.FanOutRequest:
    try:
        return exchange_pb2.FanOutRequest.FromString(raw)
    except DecodeError as exc:
        raise Refusal("MALFORMED_REQUEST", "not a FanOutRequest") from exc


def _parse_fan_out(raw: bytes) -> exchange_pb2.FanOutRequest:
    request = _decode_fan_out(raw)
    _check_fan_out(request)
    return request


def _check_fan_out(request: exchange_pb2.FanOutRequest) -> None:
    if len(UnknownFieldSet(request)):
        raise Refusal("MALFORMED_REQUEST", "FanOutRequest carries unknown fields")
    if not 1 <= len(request.legs) <= MAX_LEGS:
        raise Refusal("MALFORMED_REQUEST", f"a fan-out has 1..{MAX_LEGS} legs")
    if len(request.applicant_id) > MAX_CORRELATION_ID:
        raise Refusal("MALFORMED_REQUEST", "applicant_id longer than 64 characters")


class ExchangeService:
    def __init__(
        self,
        pipeline: Pipeline,
        admission: Admission,
        clock: Callable[[], float],
        *,
        bulk_concurrency: int = 32,
    ) -> None:
        self._pipeline = pipeline
        self._admission = admission
        self._clock = clock
        self._bulk_concurrency = bulk_concurrency

    async def query(
        self, raw: bytes, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.QueryResponse:
        exchange = Exchange(raw=raw, peer=peer_of(context), received_at=self._clock())
        try:
            await self._pipeline.identify(exchange)
            with await self._admit(exchange, QUERY):
                return await self._pipeline.handle(exchange)
        except Refusal as refusal:
            await abort_with(context, refusal)
            raise  # unreachable: abort raises

    async def fan_out(
        self, raw: bytes, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.FanOutResponse:
        peer = peer_of(context)
        envelope = Exchange(raw=raw, peer=peer, received_at=self._clock())
        try:
            await self._pipeline.identify(envelope)
            with await self._admit(envelope, FAN_OUT):
                request = await self._pipeline.screen(envelope, _parse_fan_out)
                return await self._fan_out(request, envelope)
        except Refusal as refusal:
            await abort_with(context, refusal)
            raise

    async def _admit(self, x: Exchange, method: str) -> Held:
        return await self._admission.call(
            x.member_id, x.certificate_serial, method, x.request_digest
        )

    async def _fan_out(
        self, request: exchange_pb2.FanOutRequest, envelope: Exchange
    ) -> exchange_pb2.FanOutResponse:
        received_at = self._clock()
        # Each leg is the envelope's caller's, identified with it (its revocation is read
        # for the envelope, moments before).
        outcomes = await asyncio.gather(
            *(
                self._leg(
                    Exchange(
                        raw=leg,
                        peer=envelope.peer,
                        received_at=received_at,
                        member_id=envelope.member_id,
                        certificate_serial=envelope.certificate_serial,
                        member_key=envelope.member_key,
                    )
                )
                for leg in request.legs
            )
        )
        return exchange_pb2.FanOutResponse(applicant_id=request.applicant_id, legs=outcomes)

    async def _leg(self, exchange: Exchange) -> exchange_pb2.LegOutcome:
        try:
            # Traced, each leg's stages under a span of its own (legs run side by side).
            with span(self._pipeline.tracer, "leg"):
                response = await self._pipeline.handle(exchange)
        except Refusal as refusal:
            return _outcome_of(refusal)
        return exchange_pb2.LegOutcome(status="OK", response=response)

    async def bulk(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[exchange_pb2.FanOutResponse]:
        peer = peer_of(context)
        # The stream is admitted (or not) before anything is read from it.
        opening = Exchange(raw=b"", peer=peer, received_at=self._clock())
        try:
            await self._pipeline.identify(opening)
            held = await self._admission.stream(opening.member_id, opening.certificate_serial, BULK)
        except Refusal as refusal:
            await abort_with(context, refusal)
            raise
        with held:
            async with contextlib.aclosing(self._bulk(requests, peer)) as bulk:
                async for response in bulk:
                    yield response

    async def _bulk(
        self, requests: AsyncIterator[bytes], peer: Peer
    ) -> AsyncGenerator[exchange_pb2.FanOutResponse, None]:
        # At most this many applicants are read but not yet answered: the hub stops
        # reading the stream (and gRPC's flow control stops the client) until one is.
        slots = asyncio.Semaphore(self._bulk_concurrency)
        done: asyncio.Queue[exchange_pb2.FanOutResponse | None] = asyncio.Queue()

        async def answer(raw: bytes) -> None:
            # A bad item is answered on its own (named when it can be); the stream goes on.
            applicant_id = ""
            try:
                with contextlib.suppress(Refusal):
                    applicant_id = _decode_fan_out(raw).applicant_id[:MAX_CORRELATION_ID]
                applicant = Exchange(raw=raw, peer=peer, received_at=self._clock())
                with span(self._pipeline.tracer, "applicant"):
                    request = await self._pipeline.screen(applicant, _parse_fan_out)
                    response = await self._fan_out(request, applicant)
            except Refusal as refusal:
                response = exchange_pb2.FanOutResponse(
                    applicant_id=applicant_id, legs=[_outcome_of(refusal)]
                )
            except Exception as exc:
                # Every applicant read gets an answer, so its slot is always given back.
                log.error("bulk applicant failed with %s", type(exc).__name__)
                failed = Refusal("INTERNAL_ERROR", "the hub failed on this applicant")
                response = exchange_pb2.FanOutResponse(
                    applicant_id=applicant_id, legs=[_outcome_of(failed)]
                )
            await done.put(response)

        tasks: set[asyncio.Task[None]] = set()

        async def read_all() -> None:
            try:
                async for raw in requests:
                    await slots.acquire()
                    task = asyncio.create_task(answer(raw))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if tasks:
                    await asyncio.gather(*tasks)
            finally:
                await done.put(None)

        reader = asyncio.create_task(read_all())
        try:
            while (response := await done.get()) is not None:
                yield response
                slots.release()  # released after the answer is sent: backpressure both ways
        finally:
            # The caller went away or the stream ended: stop reading and stop the work in
            # flight (each leg already running is still recorded by the pipeline).
            reader.cancel()
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Query": grpc.unary_unary_rpc_method_handler(
                    self.query,
                    request_deserializer=None,
                    response_serializer=exchange_pb2.QueryResponse.SerializeToString,
                ),
                "FanOut": grpc.unary_unary_rpc_method_handler(
                    self.fan_out,
                    request_deserializer=None,
                    response_serializer=exchange_pb2.FanOutResponse.SerializeToString,
                ),
                "Bulk": grpc.stream_stream_rpc_method_handler(
                    self.bulk,
                    request_deserializer=None,
                    response_serializer=exchange_pb2.FanOutResponse.SerializeToString,
                ),
            },
        )
