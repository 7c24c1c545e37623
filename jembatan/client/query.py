"""Client SDK for members that query the hub (the Kemensos eligibility service).

Secure by default: every channel is mTLS, every query is signed with a fresh nonce and
carries a deadline, and a receipt is checked against the hub's log key when it is given.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict, Unpack

import grpc
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import Message
from opentelemetry.trace import TracerProvider

from jembatan.audit.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from jembatan.audit.merkle import verify_inclusion
from jembatan.audit.receipt import verify_receipt
from jembatan.audit.witness import Cosigner, QuorumNotMet, verify_quorum
from jembatan.certs import member_id_of
from jembatan.client.channel import (
    HubCallFailed,
    MemberChannel,
    MemberCredentials,
    QueryRefused,
    refused,
)
from jembatan.jws import APPROVAL_TYPE, ENVELOPE_TTL_S, REQUEST_TYPE, sign_envelope
from jembatan.keys import load_cert_pem, load_key_pem, serial_text
from jembatan.limits import MAX_CORRELATION_ID, MAX_LEGS
from jembatan.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
)
from jembatan.values import FieldValue, from_wire


class QueryTerms(TypedDict):
    """What one query asks (``HubClient.body``, ``HubClient.query``), as keywords."""

    service_id: str
    subject: str  # the NIK
    purpose: str
    fields: Sequence[str]
    # The consent artefact (JWS) it rests on; empty for a break-glass query.
    consent: NotRequired[str]
    # What a break-glass query rests on instead of consent.
    legal_basis: NotRequired[exchange_pb2.LegalBasis | None]
    # The client's correlation id; a fresh random one when None.
    request_id: NotRequired[str | None]


@dataclass(frozen=True, slots=True)
class Released:
    value: FieldValue
    treatment: str
    detail: str


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    request_id: str
    service_id: str
    subject_found: bool
    fields: dict[str, Released]
    policy_version: str
    log_index: int
    leaf_hash: bytes


@dataclass(frozen=True, slots=True)
class LegAnswer:
    """One leg of a fan-out: the answer, or why that service refused."""

    service_id: str
    answer: QueryAnswer | None
    refusal: QueryRefused | None


@dataclass(frozen=True, slots=True)
class FanOutAnswer:
    applicant_id: str
    legs: tuple[LegAnswer, ...]

    def leg(self, service_id: str) -> LegAnswer:
        return next(leg for leg in self.legs if leg.service_id == service_id)


@dataclass(frozen=True, slots=True)
class Applicant:
    """What to ask about one applicant: the unsigned bodies of its legs."""

    applicant_id: str
    legs: tuple[exchange_pb2.QueryBody, ...]


class HubClient(MemberChannel):
    def __init__(
        self,
        target: str,
        *,
        log_key: Ed25519PublicKey | None = None,
        unsafe_skip_receipt_check: bool = False,
        timeout_s: float = 5.0,
        request_ttl_s: int = ENVELOPE_TTL_S,
        tracer_provider: TracerProvider | None = None,
        **credentials: Unpack[MemberCredentials],
    ) -> None:
        # What a request and an approval are signed for (exp - iat): the hub refuses one
        # valid for longer than its freshness window (60 s unless its operator says).
        if request_ttl_s < 1:
            raise ValueError("request_ttl_s must be at least 1 s")
        key = load_key_pem(credentials["key_pem"])
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("member key must be ECDSA P-256")
        self._key = key
        certificate = load_cert_pem(credentials["cert_pem"])
        self.client_id = member_id_of(certificate)
        self._serial = serial_text(certificate)
        if log_key is None and not unsafe_skip_receipt_check:
            # Checking the hub's receipt is the default; not checking must be said out loud.
            raise ValueError("give the hub's log_key, or unsafe_skip_receipt_check=True")
        self._log_key = log_key
        self._ttl_s = request_ttl_s
        super().__init__(
            target, timeout_s=timeout_s, tracer_provider=tracer_provider, **credentials
        )
        self._exchange = exchange_pb2_grpc.ExchangeStub(self._channel)
        self._consent = consent_pb2_grpc.ConsentRegistryStub(self._channel)
        self._registry = registry_pb2_grpc.RegistryStub(self._channel)
        self._audit = audit_pb2_grpc.AuditStub(self._channel)

    def sign(
        self, body: exchange_pb2.QueryBody, *, now: float | None = None
    ) -> exchange_pb2.QueryRequest:
        """A signed request for ``body`` (exposed so callers can pre-sign or re-send)."""
        data = body.SerializeToString(deterministic=True)
        signature = sign_envelope(
            data, self._key, issuer=self.client_id, typ=REQUEST_TYPE, ttl_s=self._ttl_s, now=now
        )
        return exchange_pb2.QueryRequest(body=data, signature=signature)

    def body(self, **terms: Unpack[QueryTerms]) -> exchange_pb2.QueryBody:
        """A query body resting on ``consent``, or — for a purpose whose policy rule rests
        on a legal obligation or vital interest (break-glass) — on ``legal_basis``."""
        return exchange_pb2.QueryBody(
            legal_basis=terms.get("legal_basis"),
            client_id=self.client_id,
            service_id=terms["service_id"],
            subject=terms["subject"],
            purpose=terms["purpose"],
            fields=list(terms["fields"]),
            consent=terms.get("consent", ""),
            # URL-safe base64 rather than hex: hex too often holds 16 digits in a row,
            # which the hub refuses as possibly a NIK.
            request_id=terms.get("request_id") or secrets.token_urlsafe(16),
        )

    async def query(self, **terms: Unpack[QueryTerms]) -> QueryAnswer:
        """Ask one question (``body``), signed, and the hub's checked answer."""
        return await self.send(self.sign(self.body(**terms)))

    def approve(
        self, request: exchange_pb2.QueryRequest, *, now: float | None = None
    ) -> exchange_pb2.QueryRequest:
        """``request`` countersigned by this member as the second person of a two-person
        rule (its certificate must carry the approver role). Read the body before signing:
        the approval is for exactly these bytes."""
        approval = sign_envelope(
            request.body,
            self._key,
            issuer=self.client_id,
            typ=APPROVAL_TYPE,
            ttl_s=self._ttl_s,
            key_id=self._serial,
            now=now,
        )
        return exchange_pb2.QueryRequest(
            body=request.body, signature=request.signature, approval=approval
        )

    async def send(self, request: exchange_pb2.QueryRequest) -> QueryAnswer:
        response = await self._call(self._exchange.Query, request)
        return self._answer(response)

    def _fan_out_request(self, applicant: Applicant) -> exchange_pb2.FanOutRequest:
        if not 1 <= len(applicant.legs) <= MAX_LEGS:
            raise ValueError(f"an applicant has 1..{MAX_LEGS} legs, not {len(applicant.legs)}")
        if len(applicant.applicant_id) > MAX_CORRELATION_ID:
            raise ValueError("applicant_id longer than 64 characters")
        return exchange_pb2.FanOutRequest(
            applicant_id=applicant.applicant_id,
            legs=[self.sign(body).SerializeToString() for body in applicant.legs],
        )

    def _fan_out_answer(
        self, applicant: Applicant, response: exchange_pb2.FanOutResponse
    ) -> FanOutAnswer:
        if len(response.legs) != len(applicant.legs):
            # Only a refusal of the whole request has a different shape.
            (outcome,) = response.legs
            refusal = _refusal_in(outcome)
            return FanOutAnswer(
                applicant.applicant_id,
                tuple(LegAnswer(body.service_id, None, refusal) for body in applicant.legs),
            )
        legs = []
        for body, outcome in zip(applicant.legs, response.legs, strict=True):
            if outcome.status == "OK":
                legs.append(LegAnswer(body.service_id, self._answer(outcome.response), None))
            else:
                legs.append(LegAnswer(body.service_id, None, _refusal_in(outcome)))
        return FanOutAnswer(applicant.applicant_id, tuple(legs))

    async def fan_out(self, applicant: Applicant) -> FanOutAnswer:
        """Ask several services about one applicant at once; each leg answers on its own."""
        response = await self._call(self._exchange.FanOut, self._fan_out_request(applicant))
        return self._fan_out_answer(applicant, response)

    async def bulk(
        self, applicants: AsyncIterable[Applicant] | Iterable[Applicant]
    ) -> AsyncIterator[FanOutAnswer]:
        """Re-verify many applicants over one stream; answers come as they complete.

        Requests are signed as the stream pulls them, so a long run never sends a stale
        signature, and nothing is read ahead of what the hub has room for.
        """
        pending: dict[str, Applicant] = {}

        async def requests() -> AsyncIterator[exchange_pb2.FanOutRequest]:
            async for applicant in _aiter(applicants):
                if applicant.applicant_id in pending:
                    raise ValueError(f"applicant id {applicant.applicant_id!r} used twice")
                pending[applicant.applicant_id] = applicant
                yield self._fan_out_request(applicant)

        call = self._exchange.Bulk(requests())
        try:
            async for response in call:
                applicant = pending.pop(response.applicant_id, None)
                if applicant is None:
                    # Not a decision about anyone this stream sent: the stream is broken.
                    raise HubCallFailed(
                        self.target,
                        grpc.StatusCode.INTERNAL,
                        "the hub answered an applicant this stream did not send",
                    )
                yield self._fan_out_answer(applicant, response)
        except grpc.aio.AioRpcError as exc:
            raise self.error_of(exc) from exc
        if pending:
            # The stream ended cleanly yet someone was never answered: say so, loudly.
            raise HubCallFailed(
                self.target,
                grpc.StatusCode.DATA_LOSS,
                f"{len(pending)} applicants sent were never answered",
            )

    def _answer(self, response: exchange_pb2.QueryResponse) -> QueryAnswer:
        receipt = response.receipt
        if self._log_key is not None:
            verify_receipt(
                self._log_key,
                receipt.log_index,
                receipt.leaf_hash,
                response.result,
                receipt.signature,
            )
        result = exchange_pb2.QueryResult.FromString(response.result)
        return QueryAnswer(
            request_id=result.request_id,
            service_id=result.service_id,
            subject_found=result.subject_found,
            fields={
                f.name: Released(
                    from_wire(f.value), common_pb2.Treatment.Name(f.treatment).lower(), f.detail
                )
                for f in result.fields
            },
            policy_version=result.policy_version,
            log_index=receipt.log_index,
            leaf_hash=receipt.leaf_hash,
        )

    async def checkpoint(
        self,
        verifier: str,
        *,
        min_size: int = 0,
        witnesses: Sequence[Cosigner] = (),
        quorum: int | None = None,
        wait_s: float = 5.0,
    ) -> Checkpoint:
        """The log's latest signed checkpoint (at least ``min_size``), verified with the
        hub's published verifier key; with ``witnesses``, also cosigned by ``quorum`` of them
        (default: all). Witnesses cosign a new checkpoint moments after the hub signs it, so
        for up to ``wait_s`` seconds the hub is asked again; then QuorumNotMet names the
        witnesses missing."""
        if not witnesses:
            signed = await self._call(
                self._audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(min_size=min_size)
            )
            return self._at_least(verify_checkpoint(signed.note, verifier), min_size)
        needed = len(witnesses) if quorum is None else quorum
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            signed = await self._call(
                self._audit.GetCheckpoint, audit_pb2.GetCheckpointRequest(min_size=min_size)
            )
            try:
                cosigned = verify_quorum(signed.note, verifier, witnesses, needed)
                return self._at_least(cosigned.checkpoint, min_size)
            except QuorumNotMet:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
            await asyncio.sleep(0.2)

    @staticmethod
    def _at_least(checkpoint: Checkpoint, min_size: int) -> Checkpoint:
        if checkpoint.size < min_size:
            raise CheckpointError(f"checkpoint of size {checkpoint.size} is older than asked")
        return checkpoint

    async def verify_recorded(
        self,
        answer: QueryAnswer,
        verifier: str,
        *,
        witnesses: Sequence[Cosigner] = (),
        quorum: int | None = None,
        wait_s: float = 5.0,
    ) -> Checkpoint:
        """Prove that ``answer``'s exchange is in the log: its leaf is included in a signed
        checkpoint (cosigned by ``quorum`` of ``witnesses``, when given, waiting up to
        ``wait_s`` for them). Raises ProofError or CheckpointError (QuorumNotMet among them)
        when it is not."""
        checkpoint = await self.checkpoint(
            verifier,
            min_size=answer.log_index + 1,
            witnesses=witnesses,
            quorum=quorum,
            wait_s=wait_s,
        )
        proof = await self._call(
            self._audit.GetInclusionProof,
            audit_pb2.GetInclusionProofRequest(index=answer.log_index, tree_size=checkpoint.size),
        )
        # The receipt's leaf hash, not the one the proof came with: it is what the hub signed.
        verify_inclusion(
            answer.log_index,
            checkpoint.size,
            answer.leaf_hash,
            list(proof.hashes),
            checkpoint.root_hash,
        )
        return checkpoint

    async def search(self, search: audit_pb2.SearchRequest) -> audit_pb2.SearchResponse:
        """One page of records matching ``search`` (auditor role)."""
        response: audit_pb2.SearchResponse = await self._call(self._audit.Search, search)
        return response

    async def stream_records(
        self, search: audit_pb2.SearchRequest | None = None
    ) -> AsyncIterator[audit_pb2.AuditEntry]:
        """Records matching ``search`` (auditor role): those already logged after its
        after_index, then each new one as it is appended, for as long as it is iterated."""
        call = self._audit.StreamRecords(
            audit_pb2.StreamRecordsRequest(filter=search or audit_pb2.SearchRequest())
        )
        try:
            async for entry in call:
                yield entry
        except grpc.aio.AioRpcError as exc:
            raise self.error_of(exc) from exc
        finally:
            call.cancel()

    async def export_range(self, start: int, end: int) -> AsyncIterator[str]:
        """JSON Lines of records [start, end) with their proofs (auditor role); check them
        with ``hub.audit.verify.verify_range_export`` and the hub's verifier key."""
        call = self._audit.ExportRange(audit_pb2.ExportRangeRequest(start=start, end=end))
        try:
            async for chunk in call:
                yield chunk.line
        except grpc.aio.AioRpcError as exc:
            raise self.error_of(exc) from exc

    async def revoke_consent(self, revocation: str) -> consent_pb2.RevokeResponse:
        """Hand the hub a revocation signed by the consent manager."""
        response: consent_pb2.RevokeResponse = await self._call(
            self._consent.Revoke, consent_pb2.RevokeRequest(revocation=revocation)
        )
        return response

    async def _consent_call(self, method: str, request: Message) -> Any:
        return await self._call(getattr(self._consent, method), request)

    async def request_consent(
        self,
        *,
        subject: str,
        purpose: str,
        purpose_text: str,
        services: Mapping[str, Sequence[str]],
        valid_for_s: int,
        data_life_s: int,
        respond_within_s: int = 0,
    ) -> consent_pb2.ConsentRecord:
        """Ask for a citizen's consent (this client is the grantee): a REQUESTED record
        whose ``consent_id`` the consent manager's artefact must carry."""
        record: consent_pb2.ConsentRecord = await self._consent_call(
            "RequestConsent",
            consent_pb2.ConsentRequest(
                subject=subject,
                purpose=purpose,
                purpose_text=purpose_text,
                services=[
                    consent_pb2.ServiceFields(service_id=service, fields=list(fields))
                    for service, fields in services.items()
                ],
                valid_for_s=valid_for_s,
                data_life_s=data_life_s,
                respond_within_s=respond_within_s,
            ),
        )
        return record

    async def grant_consent(
        self, artefact: str, *, request_id: str = ""
    ) -> consent_pb2.ConsentRecord:
        """As the consent manager: register a signed artefact, answering ``request_id`` or,
        without one, directly. Queries are refused under artefacts never granted."""
        record: consent_pb2.ConsentRecord = await self._consent_call(
            "Grant", consent_pb2.GrantRequest(request_id=request_id, artefact=artefact)
        )
        return record

    async def grant_consents(self, artefacts: Iterable[str], *, concurrency: int = 32) -> int:
        """As the consent manager: register many signed artefacts directly, a bounded
        number in flight; the count granted. The first refusal is raised."""
        limit = asyncio.Semaphore(concurrency)

        async def one(artefact: str) -> None:
            async with limit:
                await self.grant_consent(artefact)

        tasks = [one(artefact) for artefact in artefacts]
        await asyncio.gather(*tasks)
        return len(tasks)

    async def reject_consent(self, request_id: str, reason: str) -> consent_pb2.ConsentRecord:
        """As the consent manager: turn a request down with a reason code."""
        record: consent_pb2.ConsentRecord = await self._consent_call(
            "Reject", consent_pb2.RejectConsentRequest(request_id=request_id, reason=reason)
        )
        return record

    async def citizen_consents(self, subject_token: str) -> list[consent_pb2.ConsentRecord]:
        """As the consent manager, for the citizen its subject token speaks for."""
        response: consent_pb2.ConsentList = await self._consent_call(
            "ListMine", consent_pb2.CitizenConsentsRequest(subject_token=subject_token)
        )
        return list(response.consents)

    async def consent_receipt(self, subject_token: str, consent_id: str) -> str:
        """The hub-signed receipt (compact JWS) of one of the citizen's consents; check it
        with ``consent.receipt.verify_consent_receipt`` and the hub's log key."""
        response: consent_pb2.ConsentReceipt = await self._consent_call(
            "Receipt",
            consent_pb2.ConsentReceiptRequest(subject_token=subject_token, consent_id=consent_id),
        )
        return response.receipt

    async def citizen_accesses(
        self, subject_token: str, *, limit: int = 0, before_index: int | None = None
    ) -> audit_pb2.CitizenAccessList:
        """As the consent manager: who accessed the data of the citizen its subject token
        speaks for. ``limit`` 0: every access, oldest first; otherwise one page, newest
        first, before ``before_index`` if given (ask again with the answer's
        ``next_before_index`` while it says ``more``)."""
        request = audit_pb2.CitizenAccessesRequest(subject_token=subject_token, limit=limit)
        if before_index is not None:
            request.before_index, request.has_before_index = before_index, True
        response: audit_pb2.CitizenAccessList = await self._call(
            self._audit.CitizenAccesses, request
        )
        return response

    async def list_services(self) -> list[registry_pb2.ServiceDescriptor]:
        response = await self._call(self._registry.ListServices, registry_pb2.ListServicesRequest())
        return list(response.services)

    async def allowed_services(self, purpose: str) -> registry_pb2.AllowedServicesResponse:
        """For this client and ``purpose``: each service and exactly the fields a query
        would release, with their treatment."""
        return await self._call(
            self._registry.AllowedServices, registry_pb2.AllowedServicesRequest(purpose=purpose)
        )

    async def catalogue(self, service_id: str, version: int = 0) -> registry_pb2.Catalogue:
        """A version of the service's field catalogue (0: the current one)."""
        return await self._call(
            self._registry.GetCatalogue,
            registry_pb2.GetCatalogueRequest(service_id=service_id, version=version),
        )


def _refusal_in(outcome: exchange_pb2.LegOutcome) -> QueryRefused:
    return refused(
        grpc.StatusCode[outcome.status],
        outcome.reason,
        outcome.message,
        stage=outcome.stage,
        category=outcome.category,
    )


async def _aiter(items: AsyncIterable[Applicant] | Iterable[Applicant]) -> AsyncIterator[Applicant]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
