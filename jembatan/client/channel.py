"""A member's mTLS channel to the hub: what every client SDK (queries, administration, the
officers' console) shares. The hub decides by the certificate on this channel, so each
client holds its own.

A call that fails raises one of two kinds of error, never the one for the other:

- ``QueryRefused``: the hub decided no. It has the gRPC ``status``, the ``reason``, the
  ``stage`` that refused (when the hub tells it), and the ``category`` of what the caller
  can do, with ``retryable``; its class says the category too (``FixRequest``,
  ``ObtainConsent``, ``RetryLater``, ``CallSupport``), so a caller may catch just those it
  handles.
- ``HubCallFailed``: no decision of the hub came back (a gRPC status without a Jembatan
  reason); ``HubUnreachable`` when the hub could not be reached or did not answer in time,
  the connection refused, a name or TLS failure. That the hub was down is never a refusal.

Traces: when the program set an OpenTelemetry tracer provider (or hands one to the client),
each call is a CLIENT span and its W3C ``traceparent`` goes to the hub in the call's
metadata, so the hub's spans for it join the caller's trace (``jembatan.tracing``). With
none, the channel has no interceptor and sends no ``traceparent``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, Self, TypedDict, TypeVar, Unpack

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.trace import TracerProvider

from jembatan.errors import (
    CALL_SUPPORT,
    CATEGORY_KEY,
    CATEGORY_OF_REASON,
    ERROR_DOMAIN,
    FIX_REQUEST,
    OBTAIN_CONSENT,
    REASON_METADATA_KEY,
    RETRY_LATER,
    RETRYABLE,
    STAGE_KEY,
    JembatanError,
)
from jembatan.tracing import client_interceptors, tracer_of

_Response = TypeVar("_Response")
# No answer at all, as opposed to an answer without a reason (UNIMPLEMENTED, a proxy's error).
_TRANSPORT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


class QueryRefused(JembatanError):
    """The hub said no: ``status`` is the gRPC code, ``reason`` the Reason name, ``stage``
    where it was refused ("" when not told), ``category`` what the caller can do about it
    (``jembatan.errors``: FIX_REQUEST, OBTAIN_CONSENT, RETRY_LATER, CALL_SUPPORT) and
    ``retryable`` whether the same request may pass later. Made by ``refused``, which picks
    the subclass of the category."""

    def __init__(
        self,
        status: grpc.StatusCode,
        reason: str,
        message: str,
        *,
        stage: str = "",
        category: str = "",
    ) -> None:
        super().__init__(f"{status.name} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.stage = stage
        # The hub's word first; a reason this SDK does not know needs a person.
        self.category = category or CATEGORY_OF_REASON.get(reason, CALL_SUPPORT)
        self.retryable = self.category in RETRYABLE


class FixRequest(QueryRefused):
    """Change the request: malformed, badly signed, stale, or naming what does not exist."""


class ObtainConsent(QueryRefused):
    """Obtain the citizen's consent, again or one that covers this query."""


class RetryLater(QueryRefused):
    """Nothing is wrong with the request: the same request may pass later."""


class CallSupport(QueryRefused):
    """A person at the hub must act: a certificate, a role, a policy rule, a fault."""


_CLASS_OF_CATEGORY: dict[str, type[QueryRefused]] = {
    FIX_REQUEST: FixRequest,
    OBTAIN_CONSENT: ObtainConsent,
    RETRY_LATER: RetryLater,
    CALL_SUPPORT: CallSupport,
}


def refused(
    status: grpc.StatusCode, reason: str, message: str, *, stage: str = "", category: str = ""
) -> QueryRefused:
    """The refusal as the class of its category (the hub's ``category``, else the reason's)."""
    category = category if category in _CLASS_OF_CATEGORY else ""
    kind = _CLASS_OF_CATEGORY[category or CATEGORY_OF_REASON.get(reason, CALL_SUPPORT)]
    return kind(status, reason, message, stage=stage, category=category)


class HubCallFailed(JembatanError):
    """The call ended without the hub's decision: a gRPC ``status`` that carries no
    Jembatan reason (the hub is another program, a proxy answered, the call was cut)."""

    retryable: ClassVar[bool] = False

    def __init__(self, target: str, status: grpc.StatusCode, message: str) -> None:
        super().__init__(self.sentence(target, status, message))
        self.target = target
        self.status = status
        self.message = message

    @staticmethod
    def sentence(target: str, status: grpc.StatusCode, message: str) -> str:
        return f"The call to the hub at {target} failed: {status.name} {message}"


class HubUnreachable(HubCallFailed):
    """The hub could not be reached or did not answer in time: connection refused, a name
    or TLS failure (such as a certificate the hub's CA did not issue), the deadline."""

    retryable: ClassVar[bool] = True

    @staticmethod
    def sentence(target: str, status: grpc.StatusCode, message: str) -> str:
        return f"Cannot reach the hub at {target}: {message}"


def refusal_of(error: grpc.aio.AioRpcError) -> QueryRefused:
    """The hub's refusal that ended a call (for callers that made the call themselves);
    ``error_of`` for a call that may also not have reached the hub."""
    found = error_of(error, "the hub")
    if not isinstance(found, QueryRefused):
        raise found from error
    return found


def error_of(error: grpc.aio.AioRpcError, target: str) -> QueryRefused | HubCallFailed:
    """What ended a call to the hub at ``target``: its refusal, or the failure to get one."""
    status, message = error.code(), error.details() or ""
    info = _error_info(error)
    if info is not None:
        return refused(
            status,
            info.reason,
            message,
            stage=info.metadata.get(STAGE_KEY, ""),
            category=info.metadata.get(CATEGORY_KEY, ""),
        )
    # A hub from before the Status says its reason only in the trailer.
    for key, value in error.trailing_metadata() or ():
        if key == REASON_METADATA_KEY:
            return refused(status, value if isinstance(value, str) else value.decode(), message)
    if status in _TRANSPORT:
        return HubUnreachable(target, status, message)
    return HubCallFailed(target, status, message)


def _error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    """The Jembatan ErrorInfo in the call's google.rpc.Status, if it carries one."""
    try:
        status = rpc_status.from_call(error)
    except ValueError:  # a Status that contradicts the call's own: trust neither
        return None
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.domain == ERROR_DOMAIN and info.reason:
            return info
    return None


class MemberCredentials(TypedDict):
    """What a member's channel is made with: its key and certificate (PEM), and the hub CA
    certificate (PEM) the hub is checked by."""

    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes


class MemberChannel:
    def __init__(
        self,
        target: str,
        *,
        timeout_s: float,
        tracer_provider: TracerProvider | None = None,
        **credentials: Unpack[MemberCredentials],
    ) -> None:
        self.target = target
        self._timeout_s = timeout_s
        # The provider given, else the program's (if it set one when this client was made).
        interceptors = client_interceptors(tracer_of(tracer_provider))
        self._channel = grpc.aio.secure_channel(
            target,
            grpc.ssl_channel_credentials(
                credentials["ca_pem"], credentials["key_pem"], credentials["cert_pem"]
            ),
            interceptors=interceptors or None,
        )

    async def _call(
        self,
        method: Callable[..., Awaitable[_Response]],
        request: Message,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> _Response:
        """One unary call with this client's deadline; raises QueryRefused or HubCallFailed."""
        try:
            return await method(request, timeout=self._timeout_s, metadata=tuple(metadata))
        except grpc.aio.AioRpcError as exc:
            raise self.error_of(exc) from exc

    def error_of(self, error: grpc.aio.AioRpcError) -> QueryRefused | HubCallFailed:
        return error_of(error, self.target)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
