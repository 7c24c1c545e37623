"""Calls outside the query pipeline — officers', administrators', the consent manager's —
and the audit record each of them leaves.

Every such call is itself an audited exchange: allowed or refused, it is appended to the
log before it is answered, and if it cannot be recorded it is not answered (fail closed).
Services share this one recorder so that a refusal looks the same everywhere: the caller
gets a status and reason, the log gets who asked, which method and why it was refused.

A caller whose certificate carries the console role vouches for the person behind it: it
names them with each call (``jembatan-on-behalf-of`` metadata, ``hub.on_behalf``) and the
record says so (``on_behalf_of``). A name from any other caller, or one that is not a
short printable name, refuses the call (``ROLE_REQUIRED``, ``MALFORMED_REQUEST``), recorded
without the name.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import NoReturn, TypeVar

import grpc
from google.protobuf.message import Message

from hub.audit.log import AuditLog, AuditUnavailable, pending_entry
from hub.audit.pseudonym import Pseudonymizer
from hub.home import CONSENT_MANAGER_ID
from hub.pipeline.stages import Identify, PeerMember
from hub.services.exchange import abort_with, peer_of
from jembatan.audit.record import AuditRecord
from jembatan.certs import CONSOLE
from jembatan.errors import Refusal
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY, name_problem


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
    ) -> None:
        self._identify = identify
        self._log = log
        self._pseudonyms = pseudonyms
        self.clock = clock

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)

    async def caller(self, context: grpc.aio.ServicerContext) -> PeerMember:
        """The identified caller, or the call ends UNAUTHENTICATED."""
        try:
            return self._identify.identify(peer_of(context))
        except Refusal as refusal:
            await abort_with(context, refusal)
            raise

    async def caller_with_role(
        self,
        context: grpc.aio.ServicerContext,
        role: str,
        method: str,
        request: Message,
        *,
        purpose: str,
        subject: str = "",
    ) -> PeerMember:
        """The caller, if its certificate carries ``role``; otherwise refused and recorded."""
        member = await self.caller(context)
        if role not in member.roles:
            await self.refuse(
                context,
                member,
                method,
                request,
                Refusal("ROLE_REQUIRED", f"{method} needs the {role} role"),
                purpose=purpose,
                subject=subject,
            )
        await self.check_on_behalf_of(
            context, member, method, request, purpose=purpose, subject=subject
        )
        return member

    async def check_on_behalf_of(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        *,
        purpose: str,
        subject: str = "",
    ) -> None:
        """Refuse (recorded) a call that names whom it is for when it may not, before any
        work is done for it. ``record`` checks again, so a call that skips this is refused
        all the same when it is recorded."""
        _, refusal = on_behalf_of(context, member)
        if refusal is not None:
            await self.refuse(
                context, member, method, request, refusal, purpose=purpose, subject=subject
            )

    async def still_registered(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        *,
        purpose: str,
        subject: str = "",
    ) -> None:
        """The caller identified at the start of a long call (a stream) is still registered
        and unrevoked now; otherwise the call ends with the refusal, recorded."""
        try:
            self._identify.check_registered(member)
        except Refusal as refusal:
            await self.refuse(
                context, member, method, request, refusal, purpose=purpose, subject=subject
            )

    async def refuse(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        refusal: Refusal,
        *,
        purpose: str,
        subject: str = "",
    ) -> NoReturn:
        """Record the refusal, then end the call with it."""
        await self.record(
            context, member, method, request, b"", purpose=purpose, subject=subject, refusal=refusal
        )
        await abort_with(context, refusal)
        raise AssertionError("abort returned")

    async def record(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        response: bytes,
        *,
        purpose: str,
        subject: str = "",
        refusal: Refusal | None = None,
    ) -> int:
        """Append the call to the log and return its index; fail closed if it cannot be.

        ``method`` is the full gRPC name (``jembatan.v1.Audit/Search``); ``subject`` a NIK
        or empty, stored only as its pseudonym; ``request`` and ``response`` (the serialised
        answer) are stored only as their keyed digests. The person a console caller names
        is recorded as ``on_behalf_of``; a call that names someone when it may not is
        recorded as refused for that (unless already refused), without the name, and ends.
        """
        vouched_for, vouching_refused = on_behalf_of(context, member)
        ends = refusal is None and vouching_refused is not None
        refusal = refusal or vouching_refused
        record = AuditRecord(
            time=self.now().isoformat(timespec="milliseconds"),
            request_id="",
            client_id=member.member_id,
            client_certificate=member.serial,
            service_id=method,
            purpose=purpose,
            consent_id="",
            subject=self._pseudonyms.subject(subject) if subject else "",
            decision="REFUSED" if refusal else "RELEASED",
            reason=refusal.reason if refusal else "",
            stage="call",
            status=refusal.status.name if refusal else "OK",
            policy_version="",
            # Keyed (see Pseudonymizer.digest): a call's request may be little more than a
            # NIK, and a plain hash of it would give the NIK away to a dictionary.
            request_digest=self._pseudonyms.digest(request.SerializeToString(deterministic=True)),
            response_digest=self._pseudonyms.digest(response) if response else "",
            fields_requested=tuple(f.name for f, _ in request.ListFields()),
            on_behalf_of=vouched_for,
        )
        try:
            entry = await self._log.append(pending_entry(record))
        except AuditUnavailable:
            await abort_with(
                context, Refusal("AUDIT_UNAVAILABLE", "the audit log cannot record this")
            )
            raise
        if ends:
            assert refusal is not None
            await abort_with(context, refusal)
            raise AssertionError("abort returned")
        return entry.index


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


class ServiceCalls:
    """The recorder as one gRPC service uses it: methods are named by their short name and
    recorded under the service's full name, with the purpose its calls serve."""

    def __init__(self, recorder: CallRecorder, service: str, purpose: str) -> None:
        self._recorder = recorder
        self._service = service
        self._purpose = purpose

    def now(self) -> datetime.datetime:
        return self._recorder.now()

    def method(self, name: str) -> str:
        return f"{self._service}/{name}"

    async def caller(self, context: grpc.aio.ServicerContext) -> PeerMember:
        """The identified caller, for a call that is not recorded (it reads only hashes or
        public lists): whom it names, if anyone, is neither checked nor kept."""
        return await self._recorder.caller(context)

    async def caller_for(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        request: Message,
        *,
        subject: str = "",
    ) -> PeerMember:
        """The identified caller of a recorded call, refused (recorded) at once if it names
        whom it acts for when it may not."""
        member = await self._recorder.caller(context)
        await self._recorder.check_on_behalf_of(
            context, member, self.method(method), request, purpose=self._purpose, subject=subject
        )
        return member

    async def caller_with_role(
        self,
        context: grpc.aio.ServicerContext,
        role: str,
        method: str,
        request: Message,
        *,
        subject: str = "",
    ) -> PeerMember:
        return await self._recorder.caller_with_role(
            context, role, self.method(method), request, purpose=self._purpose, subject=subject
        )

    async def consent_manager(
        self,
        context: grpc.aio.ServicerContext,
        method: str,
        request: Message,
        *,
        purpose: str | None = None,
    ) -> PeerMember:
        """The caller, if it is the consent manager; otherwise refused NOT_CONSENT_MANAGER
        and recorded."""
        member = await self.caller(context)
        if member.member_id != CONSENT_MANAGER_ID:
            refusal = Refusal("NOT_CONSENT_MANAGER", f"{method} is the consent manager's call")
            await self.refuse(context, member, method, request, refusal, purpose=purpose)
        await self._recorder.check_on_behalf_of(
            context, member, self.method(method), request, purpose=purpose or self._purpose
        )
        return member

    async def still_registered(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        *,
        subject: str = "",
    ) -> None:
        await self._recorder.still_registered(
            context, member, self.method(method), request, purpose=self._purpose, subject=subject
        )

    async def refuse(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        refusal: Refusal,
        *,
        subject: str = "",
        purpose: str | None = None,
    ) -> NoReturn:
        await self._recorder.refuse(
            context,
            member,
            self.method(method),
            request,
            refusal,
            purpose=purpose or self._purpose,
            subject=subject,
        )

    async def answer(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        response: _Response,
        *,
        subject: str = "",
        purpose: str | None = None,
    ) -> _Response:
        """Record the call with the digest of ``response``, then hand it back to send."""
        await self.record(
            context,
            member,
            method,
            request,
            response.SerializeToString(deterministic=True),
            subject=subject,
            purpose=purpose,
        )
        return response

    async def record(
        self,
        context: grpc.aio.ServicerContext,
        member: PeerMember,
        method: str,
        request: Message,
        response: bytes,
        *,
        subject: str = "",
        purpose: str | None = None,
    ) -> int:
        """Record a call whose answer is not one message (a stream): before it starts."""
        return await self._recorder.record(
            context,
            member,
            self.method(method),
            request,
            response,
            purpose=purpose or self._purpose,
            subject=subject,
        )
