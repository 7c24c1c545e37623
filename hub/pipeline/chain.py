"""The chain: run the stages in order, record the outcome, then answer with a receipt.

Nothing is released before its audit record is durable; if the record cannot be written
the exchange fails closed with AUDIT_UNAVAILABLE and no fields.

Under admission control (``hub.admission``) an exchange starts in its member's turn: once
its caller is identified it waits for its start (the next goes to the next member with an
exchange waiting), before any costly work. While it waits on its agency (the ``forward``
stage) it is away: its place on the hub is another's until the agency has answered.

When tracing is on (``jembatan.tracing``) each stage, the wait for a turn and the audit
append are spans under the call's server span; the exchange's log line names the trace.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import traceback
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from time import perf_counter
from types import TracebackType
from typing import Protocol, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import DecodeError
from opentelemetry.trace import Tracer

from hub.audit.log import AuditLog, AuditUnavailable, LogEntry, pending_entry
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.recording import Call, QueryDetails, audit_record, outcome
from hub.logs import EXCHANGES
from hub.metrics import HubMetrics, Observe
from hub.pipeline.exchange import Exchange
from hub.pipeline.stages import Stage
from jembatan.audit.receipt import sign_receipt
from jembatan.audit.record import AuditRecord
from jembatan.errors import Refusal
from jembatan.tracing import span, trace_id
from jembatan.v1 import exchange_pb2

log = logging.getLogger(__name__)
T = TypeVar("T")
RESULT_SALT_BYTES = 16


# The stage in which an exchange waits on its agency, away from the hub (``Turn.away``).
AWAY_STAGE = "forward"


class Turn(Protocol):
    """An exchange's place at work on the hub (``hub.admission.Turn``), held while it runs."""

    def __enter__(self) -> Turn: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None: ...

    def away(self, agency: str) -> AbstractAsyncContextManager[None]:
        """Give the place up while waiting on ``agency``; take one again after."""


class Turns(Protocol):
    """When exchanges start (``hub.admission.Admission``)."""

    async def start(self, x: Exchange) -> Turn:
        """Start ``x`` (its caller identified) in its member's turn; held while it runs."""


class Pipeline:
    def __init__(
        self,
        stages: Sequence[Stage],
        audit: AuditLog,
        pseudonyms: Pseudonymizer,
        receipt_key: Ed25519PrivateKey,
        metrics: HubMetrics | None = None,
        turns: Turns | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.stages = tuple(stages)
        # The process's tracer when it traces (``jembatan.tracing``), else None.
        self.tracer = tracer
        self._turns = turns
        self._identify = next(stage for stage in self.stages if stage.name == "identify")
        self._audit = audit
        self._pseudonyms = pseudonyms
        self._receipt_key = receipt_key
        self._metrics = metrics or HubMetrics()
        self._timed = tuple((stage, self._metrics.stage_timer(stage.name)) for stage in stages)
        # For an exchange already identified (``identify``): the same stages but the first.
        self._identified = tuple(timed for timed in self._timed if timed[0] is not self._identify)
        self._time_identify = self._metrics.stage_timer(self._identify.name)
        self._time_audit = self._metrics.stage_timer("audit")

    async def handle(self, x: Exchange) -> exchange_pb2.QueryResponse:
        if self._turns is None:
            return await self._run(x, None)
        if x.member_key is None:
            await self.identify(x)
        with span(self.tracer, "turn"):
            turn = await self._turns.start(x)
        with turn:
            return await self._run(x, turn)

    async def _run(self, x: Exchange, turn: Turn | None) -> exchange_pb2.QueryResponse:
        refusal: Refusal | None = None
        stage_name = "release"
        result = b""
        started = lap = perf_counter()
        observe: Observe = self._time_audit
        try:
            for stage, observe in self._timed if x.member_key is None else self._identified:
                stage_name = stage.name
                with span(self.tracer, f"stage {stage_name}"):
                    if turn is not None and stage_name == AWAY_STAGE and x.route is not None:
                        async with turn.away(x.route.agency_id):
                            await stage(x)
                    else:
                        await stage(x)
                lap = _lap(observe, lap)
            stage_name = "release"
            result = self._result(x)
        except Refusal as exc:
            _lap(observe, lap)
            exc.stage = stage_name
            refusal = exc
        except asyncio.CancelledError:
            # The caller gave up (deadline, disconnect) mid-exchange, perhaps after the
            # agency was asked: the exchange is still recorded, then the cancel goes on.
            cancelled = Refusal("CANCELLED", f"the caller gave up in stage {stage_name}")
            entry = await asyncio.shield(self._append(x, cancelled, stage_name, b""))
            self._account(x, cancelled, stage_name, entry, started)
            raise
        except Exception as exc:
            # A fault in a stage is a refusal too: nothing released, and still recorded.
            # The message is not logged (it might quote data it was handed); where is.
            log.error(
                "stage %s failed with %s\n%s",
                stage_name,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            refusal = Refusal(
                "INTERNAL_ERROR", f"the hub failed in stage {stage_name}", stage=stage_name
            )
        lap = perf_counter()
        try:
            with span(self.tracer, "audit"):
                entry = await self._append(x, refusal, stage_name, b"" if refusal else result)
        except Refusal as unrecorded:
            self._account(x, unrecorded, stage_name, None, started)
            raise
        _lap(self._time_audit, lap)
        self._account(x, refusal, stage_name, entry, started)
        if refusal is not None:
            raise refusal
        receipt = exchange_pb2.Receipt(
            log_index=entry.index,
            leaf_hash=entry.leaf_hash,
            signature=sign_receipt(self._receipt_key, entry.index, entry.leaf_hash, result),
        )
        return exchange_pb2.QueryResponse(result=result, receipt=receipt)

    async def screen(self, x: Exchange, parse: Callable[[bytes], T]) -> T:
        """For an envelope that carries exchanges (a fan-out, a bulk item): identify the
        caller, then parse the envelope; a refusal is recorded like any exchange's, so an
        unidentified caller learns only UNAUTHENTICATED and nothing goes unlogged."""
        stage = "identify"
        started = perf_counter()
        try:
            try:
                if x.member_key is None:
                    with span(self.tracer, "stage identify"):
                        await self._identify(x)
                    self._time_identify(perf_counter() - started)
                stage = "envelope"
                return parse(x.raw)
            except Refusal:
                raise
            except Exception as exc:
                # As in handle: a fault (the store away, say) is a recorded refusal too,
                # never an unexplained UNKNOWN.
                log.error("stage %s failed with %s", stage, type(exc).__name__)
                raise Refusal("INTERNAL_ERROR", f"the hub failed in stage {stage}") from None
        except Refusal as refusal:
            refusal.stage = stage
            try:
                entry = await self._append(x, refusal, stage, b"")
            except Refusal as unrecorded:
                self._account(x, unrecorded, stage, None, started)
                raise
            self._account(x, refusal, stage, entry, started)
            raise

    async def identify(self, x: Exchange) -> None:
        """Identify the caller of ``x`` ahead of ``handle`` or ``screen`` (which then do not
        again), so admission control knows whom it admits before any costly work; a refusal
        is recorded like any exchange's."""
        await self.screen(x, _nothing)

    def _account(
        self,
        x: Exchange,
        refusal: Refusal | None,
        stage: str,
        entry: LogEntry | None,
        started: float,
    ) -> None:
        """Count the exchange and log its line: correlation ids and outcome only (the
        refusal's message is left out: it may quote what the caller sent)."""
        decision, reason, _ = outcome(refusal)
        # Only a resolved service is a bounded label; an unknown one is whatever was sent.
        service = x.route.service_id if x.route else ""
        self._metrics.exchange(x.member_id, service, decision, reason)
        if EXCHANGES.isEnabledFor(logging.INFO):
            body = x.body  # set only once authenticated and checked for NIK-free texts
            fields: dict[str, object] = {
                "request_id": body.request_id if body else "",
                "request_digest": x.request_digest,
                "client": x.member_id,
                "service": service,
                "purpose": body.purpose if body else "",
                "decision": decision,
                "reason": reason,
                "stage": stage,
                "log_index": entry.index if entry else None,
                "duration_seconds": round(perf_counter() - started, 6),
            }
            traced = trace_id() if self.tracer else ""
            if traced:  # the line and the spans of one exchange, joined
                fields["trace_id"] = traced
            EXCHANGES.info("exchange %s", decision, extra={"fields": fields})

    async def _append(
        self, x: Exchange, refusal: Refusal | None, stage: str, result: bytes
    ) -> LogEntry:
        """Make the exchange's record durable; fail closed if it cannot be."""
        try:
            record = self._record(x, refusal, stage, result)
            return await self._audit.append(pending_entry(record, x.nonces))
        except AuditUnavailable as exc:
            log.error("exchange failed closed: %s", exc)
            raise Refusal(
                "AUDIT_UNAVAILABLE", "the audit log cannot record this exchange", stage="audit"
            ) from exc

    @staticmethod
    def _result(x: Exchange) -> bytes:
        assert x.body is not None and x.fetched is not None
        return exchange_pb2.QueryResult(
            request_id=x.body.request_id,
            service_id=x.body.service_id,
            fields=x.released,
            policy_version=x.policy_version,
            subject_found=x.fetched.subject_found,
            # The record keeps the result's plain SHA-256 (the client recomputes it to check
            # its receipt); without fresh randomness in it, the few possible results of a
            # predicate or bucket could be hashed and matched against the log.
            salt=secrets.token_bytes(RESULT_SALT_BYTES),
        ).SerializeToString(deterministic=True)

    def _record(
        self, x: Exchange, refusal: Refusal | None, stage: str, result: bytes
    ) -> AuditRecord:
        # Empty until authenticated: a refusal before that names no service, purpose or
        # subject.
        body = x.body or exchange_pb2.QueryBody()
        call = Call(
            client_id=x.member_id,
            client_certificate=x.certificate_serial,
            service_id=body.service_id,
            purpose=body.purpose,
            request_digest=x.request_digest,
            fields_requested=tuple(body.fields),
            subject=self._pseudonyms.subject(body.subject) if body.subject else "",
            request_id=body.request_id,
        )
        query = QueryDetails(
            consent_id=x.consent.consent_id if x.consent else "",
            policy_version=x.policy_version,
            fields_released=x.released_names(),
            fields_dropped=tuple(x.dropped),
            # Break-glass attempts are flagged whether or not they were released: officers
            # review the refused ones too. The basis's texts are kept only once the consent
            # stage checked them (they could hold a NIK).
            break_glass=_names_legal_basis(x),
            legal_basis=x.decision.basis if x.decision else "",
            legal_reference=x.legal_basis.reference if x.legal_basis else "",
            justification=x.legal_basis.justification if x.legal_basis else "",
            approved_by=x.approved_by,
        )
        return audit_record(
            call,
            refusal,
            at=x.received_at,
            stage=stage,
            # Plain SHA-256, not keyed: the client recomputes it to check its receipt (the
            # result's salt keeps it from being matched against guessed results).
            response_digest=hashlib.sha256(result).hexdigest() if result else "",
            query=query,
        )


def _names_legal_basis(x: Exchange) -> bool:
    """The query names a legal basis (break-glass), as far as its body decodes: also when
    it was refused before the basis was checked, or before the body was authenticated. A
    body that is no QueryBody names none; nor does a request never decoded (its caller
    unidentified, or an envelope that carries legs rather than a query)."""
    if x.body is not None:
        return x.body.HasField("legal_basis")
    try:
        return exchange_pb2.QueryBody.FromString(x.request.body).HasField("legal_basis")
    except DecodeError:
        return False


def _nothing(raw: bytes) -> None:
    """No envelope to parse: ``identify`` is ``screen`` without one."""


def _lap(observe: Observe, since: float) -> float:
    now = perf_counter()
    observe(now - since)
    return now
