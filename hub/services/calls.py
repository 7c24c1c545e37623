"""Calls outside the query pipeline — officers', administrators', the consent manager's —
and the audit record each of them leaves.

Every such call is itself an audited exchange: allowed or refused, it is appended to the
log before it is answered, and if it cannot be recorded it is not answered (fail closed).
Services share this one recorder so that a refusal looks the same everywhere: the caller
gets a status and reason, the log gets who asked, which method and why it was refused.
A service holds each call as one ``MemberCall`` (who called, and what the log says of the
call) from the moment its caller is checked, and hands that to ``refuse``, ``answer`` and
``record``; the record is built as the pipeline's are (``hub.audit.recording``).

A caller the hub cannot identify (its certificate unregistered or revoked) is refused
UNAUTHENTICATED alone, and recorded as a query from it would be: the certificate's member
and serial if it names them, the method, the precise reason (``CERT_UNKNOWN``,
``CERT_REVOKED``) — and nothing the call says it is about or for whom.

A caller whose certificate carries the console role vouches for the person behind it: it
names them with each call (``jembatan-on-behalf-of`` metadata, ``hub.on_behalf``) and the
record says so (``on_behalf_of``). A name from any other caller, or one that is not a
short printable name, refuses the call (``ROLE_REQUIRED``, ``MALFORMED_REQUEST``), recorded
without the name.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NoReturn, ParamSpec, TypeVar

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import Message

from consent.artefact import verify_subject_token
from hub.audit.log import AuditLog, AuditUnavailable, LogEntry, pending_entry
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.recording import Call, audit_record
from hub.home import CONSENT_MANAGER_ID
from hub.pipeline.stages import Identify, PeerMember
from hub.services.exchange import abort_with, peer_of
from hub.store.offloop import StoreCalls
from jembatan.audit.record import OfficerEvent, Review
from jembatan.certs import CONSOLE
from jembatan.errors import Refusal
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY, name_problem


@dataclass(frozen=True, slots=True)
class MemberCall:
    """A recorded call to one of the hub's services: the identified caller, whom the
    service checks and acts for, and what the log says of the call whatever its outcome.

    Made only by ``CallRecorder.admit`` (through ``ServiceCalls.caller_for``,
    ``caller_with_role`` or ``consent_manager``), which refuses the call if it names whom
    it is for when it may not: so every record of a call carries the name it was allowed
    to give, or none.
    """

    member: PeerMember
    recorded: Call


class CallRecorder:
    def bind(self, service: str, purpose: str) -> ServiceCalls:
        """This recorder for the methods of ``service`` (full gRPC name), whose calls are
        recorded under ``purpose``."""
        return ServiceCalls(self, service, purpose)

    def __init__(
        self,
        identify: Identify,
        log: AuditLog,
        pseudonyms: Pseudonymizer,
        clock: Callable[[], float],
        storage: StoreCalls | None = None,
    ) -> None:
        self._identify = identify
        self._log = log
        self._pseudonyms = pseudonyms
        self.clock = clock
        # Where the services' storage calls run (off the event loop on PostgreSQL).
        self.storage = storage or StoreCalls()

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)

    async def caller(
        self, context: grpc.aio.ServicerContext, method: str, request: Message, purpose: str
    ) -> PeerMember:
        """The identified caller of ``method`` (full gRPC name); otherwise the call ends
        UNAUTHENTICATED, recorded under ``purpose`` first."""
        member: PeerMember | None = None
        try:
            member = self._identify.member(peer_of(context))
            await self._identify.check_registered(member)
            return member
        except Refusal as refusal:
            refusal.stage = "identify"
            # The certificate may name its member even though it is refused: the record
            # says which one, so revoked credentials still in use are seen.
            call = Call(
                client_id=member.member_id if member else "",
                client_certificate=member.serial if member else "",
                service_id=method,
                purpose=purpose,
                request_digest=self._digest(request.SerializeToString(deterministic=True)),
                fields_requested=_fields_set(request),
            )
            await self._append(context, call, b"", refusal)
            await abort_with(context, refusal)
            raise

    async def admit(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        refusal: Refusal | None,
        *,
        purpose: str,
        subject: str = "",
    ) -> MemberCall:
        """The call ``member`` makes to ``method`` (full gRPC name) with ``request``, for
        ``purpose``, about ``subject`` (a NIK, or empty); if ``refusal`` is given, or the
        call names whom it is for when it may not, it is refused (recorded) instead, before
        any work is done for it."""
        vouched_for, vouching_refused = on_behalf_of(context, member)
        call = MemberCall(
            member,
            Call(
                client_id=member.member_id,
                client_certificate=member.serial,
                service_id=method,
                purpose=purpose,
                request_digest=self._digest(request.SerializeToString(deterministic=True)),
                fields_requested=_fields_set(request),
                subject=self._subject(subject),
                on_behalf_of=vouched_for,
            ),
        )
        refusal = refusal or vouching_refused
        if refusal is not None:
            await self.refuse(context, call, refusal)
        return call

    def about(self, call: MemberCall, subject: str) -> MemberCall:
        """``call`` as about ``subject`` (a NIK), once the call has shown whom it is about."""
        recorded = replace(call.recorded, subject=self._subject(subject))
        return replace(call, recorded=recorded)

    def _subject(self, nik: str) -> str:
        # Stored only as its pseudonym.
        return self._pseudonyms.subject(nik) if nik else ""

    def _digest(self, data: bytes) -> str:
        # Keyed (see Pseudonymizer.digest): a call's request may be little more than a
        # NIK, and a plain hash of it would give the NIK away to a dictionary.
        return self._pseudonyms.digest(data)

    async def still_registered(self, context: grpc.aio.ServicerContext, call: MemberCall) -> None:
        """The caller identified at the start of a long call (a stream) is still registered
        and unrevoked now; otherwise the call ends with the refusal, recorded."""
        try:
            await self._identify.check_registered(call.member)
        except Refusal as refusal:
            await self.refuse(context, call, refusal)

    async def refuse(
        self, context: grpc.aio.ServicerContext, call: MemberCall, refusal: Refusal
    ) -> NoReturn:
        """Record the refusal, then end the call with it."""
        refusal.stage = "call"  # as the record says
        await self.record(context, call, b"", refusal)
        await abort_with(context, refusal)
        raise AssertionError("abort returned")

    async def record(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        response: bytes,
        refusal: Refusal | None = None,
        *,
        review: Review | None = None,
        officer_event: OfficerEvent | None = None,
    ) -> LogEntry:
        """Append the call to the log (with its ``review`` or ``officer_event``, making it a
        record of that kind); fail closed if it cannot be. ``response`` (the serialised
        answer) is stored only as its keyed digest. Where the record went."""
        return await self._append(
            context, call.recorded, response, refusal, review=review, officer_event=officer_event
        )

    async def _append(
        self,
        context: grpc.aio.ServicerContext,
        call: Call,
        response: bytes,
        refusal: Refusal | None,
        *,
        review: Review | None = None,
        officer_event: OfficerEvent | None = None,
    ) -> LogEntry:
        record = audit_record(
            call,
            refusal,
            at=self.clock(),
            stage="call",
            response_digest=self._digest(response) if response else "",
            review=review,
            officer_event=officer_event,
        )
        try:
            return await self._log.append(pending_entry(record))
        except AuditUnavailable:
            await abort_with(
                context,
                Refusal("AUDIT_UNAVAILABLE", "the audit log cannot record this", stage="audit"),
            )
            raise


def _fields_set(request: Message) -> tuple[str, ...]:
    """The names of the fields ``request`` sets, in field-number order (never their values)."""
    return tuple(f.name for f, _ in request.ListFields())


def on_behalf_of(
    context: grpc.aio.ServicerContext, member: PeerMember
) -> tuple[str, Refusal | None]:
    """(the person the call names as whom it is for, or "", and the refusal if it may not
    name them). Only a console-role caller may name someone, once, with a short printable
    name that cannot carry a NIK; a refused name is never returned, so never recorded."""
    names = [
        value if isinstance(value, str) else value.decode("utf-8", "replace")
        for key, value in context.invocation_metadata() or ()
        if key == ON_BEHALF_OF_METADATA_KEY
    ]
    if not names:
        return "", None
    if CONSOLE not in member.roles:
        detail = f"naming whom a call is for ({ON_BEHALF_OF_METADATA_KEY}) needs the {CONSOLE} role"
        return "", Refusal("ROLE_REQUIRED", detail)
    if len(names) > 1:
        return "", Refusal("MALFORMED_REQUEST", f"{ON_BEHALF_OF_METADATA_KEY} given more than once")
    problem = name_problem(names[0])
    if problem is not None:
        return "", Refusal("MALFORMED_REQUEST", f"{ON_BEHALF_OF_METADATA_KEY}: {problem}")
    return names[0], None


_Response = TypeVar("_Response", bound=Message)
_P = ParamSpec("_P")
_T = TypeVar("_T")


class ServiceCalls:
    """The recorder as one gRPC service uses it: methods are named by their short name and
    recorded under the service's full name, with the purpose its calls serve."""

    def __init__(self, recorder: CallRecorder, service: str, purpose: str) -> None:
        self._recorder = recorder
        self._service = service
        self._purpose = purpose

    def now(self) -> datetime.datetime:
        return self._recorder.now()

    async def store(self, call: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """A storage call (or a step made of them), where it does not hold up the event
        loop (``hub.store.offloop``)."""
        return await self._recorder.storage(call, *args, **kwargs)

    async def caller(
        self, context: grpc.aio.ServicerContext, method: str, request: Message
    ) -> PeerMember:
        """The identified caller, for a call that is not recorded (it reads only hashes or
        public lists): whom it names, if anyone, is neither checked nor kept. A caller not
        identified is refused, and that is recorded."""
        return await self._identified(context, method, request)

    async def _identified(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        request: Message,
        purpose: str | None = None,
    ) -> PeerMember:
        return await self._recorder.caller(
            context, self._method(method), request, purpose or self._purpose
        )

    async def caller_for(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        request: Message,
        *,
        subject: str = "",
    ) -> MemberCall:
        """The call of an identified caller, refused (recorded) at once if it names whom it
        acts for when it may not."""
        member = await self._identified(context, method, request)
        return await self._admit(context, member, method, request, None, subject=subject)

    async def caller_with_role(
        self,
        context: grpc.aio.ServicerContext,
        role: str,
        method: str,
        request: Message,
        *,
        subject: str = "",
    ) -> MemberCall:
        """The call, if the caller's certificate carries ``role``; otherwise refused and
        recorded."""
        member = await self._identified(context, method, request)
        refusal = None
        if role not in member.roles:
            refusal = Refusal("ROLE_REQUIRED", f"{self._method(method)} needs the {role} role")
        return await self._admit(context, member, method, request, refusal, subject=subject)

    async def consent_manager(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        request: Message,
        *,
        purpose: str | None = None,
    ) -> MemberCall:
        """The call, if the caller is the consent manager; otherwise refused
        NOT_CONSENT_MANAGER and recorded."""
        member = await self._identified(context, method, request, purpose)
        refusal = None
        if member.member_id != CONSENT_MANAGER_ID:
            refusal = Refusal("NOT_CONSENT_MANAGER", f"{method} is the consent manager's call")
        return await self._admit(context, member, method, request, refusal, purpose=purpose)

    async def _admit(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        refusal: Refusal | None,
        *,
        subject: str = "",
        purpose: str | None = None,
    ) -> MemberCall:
        return await self._recorder.admit(
            context,
            member,
            self._method(method),
            request,
            refusal,
            purpose=purpose or self._purpose,
            subject=subject,
        )

    def _method(self, name: str) -> str:
        return f"{self._service}/{name}"

    def about(self, call: MemberCall, subject: str) -> MemberCall:
        return self._recorder.about(call, subject)

    async def citizen(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        subject_token: str,
        consent_key: Ed25519PublicKey,
    ) -> str:
        """The NIK of the citizen the consent manager vouches for with ``subject_token``
        (signed with ``consent_key``); a token that does not verify refuses the call
        (recorded)."""
        try:
            return verify_subject_token(
                subject_token, consent_key, issuer=CONSENT_MANAGER_ID, now=self.now()
            )
        except Refusal as refusal:
            await self.refuse(context, call, refusal)

    async def still_registered(self, context: grpc.aio.ServicerContext, call: MemberCall) -> None:
        await self._recorder.still_registered(context, call)

    async def refuse(
        self, context: grpc.aio.ServicerContext, call: MemberCall, refusal: Refusal
    ) -> NoReturn:
        await self._recorder.refuse(context, call, refusal)

    async def answer(
        self, context: grpc.aio.ServicerContext, call: MemberCall, response: _Response
    ) -> _Response:
        """Record the call with the digest of ``response``, then hand it back to send."""
        await self._recorder.record(context, call, response.SerializeToString(deterministic=True))
        return response

    async def record(self, context: grpc.aio.ServicerContext, call: MemberCall) -> None:
        """Record a call whose answer is not one message (a stream): before it starts."""
        await self._recorder.record(context, call, b"")

    async def record_kind(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        *,
        review: Review | None = None,
        officer_event: OfficerEvent | None = None,
    ) -> LogEntry:
        """Record an answered call that is a record of its own kind (a review, an officer's
        event), and say where it went: the answer is that place, so it has no digest."""
        return await self._recorder.record(
            context, call, b"", review=review, officer_event=officer_event
        )
