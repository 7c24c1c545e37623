"""A member's mTLS channel to the hub: what every client SDK (queries, administration, the
officers' console) shares. The hub decides by the certificate on this channel, so each
client holds its own; a refusal comes back as ``QueryRefused`` with its status and reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Self, TypedDict, TypeVar, Unpack

import grpc
from google.protobuf.message import Message

from jembatan.errors import REASON_METADATA_KEY, JembatanError

_Response = TypeVar("_Response")


class QueryRefused(JembatanError):
    """The hub said no: ``status`` is the gRPC code, ``reason`` the Reason name."""

    def __init__(self, status: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(f"{status.name} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def refusal_of(error: grpc.aio.AioRpcError) -> QueryRefused:
    reason = "UNSPECIFIED"
    for key, value in error.trailing_metadata() or ():
        if key == REASON_METADATA_KEY:
            reason = value if isinstance(value, str) else value.decode()
    return QueryRefused(error.code(), reason, error.details() or "")


class MemberCredentials(TypedDict):
    """What a member's channel is made with: its key and certificate (PEM), and the hub CA
    certificate (PEM) the hub is checked by."""

    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes


class MemberChannel:
    def __init__(
        self, target: str, *, timeout_s: float, **credentials: Unpack[MemberCredentials]
    ) -> None:
        self._timeout_s = timeout_s
        self._channel = grpc.aio.secure_channel(
            target,
            grpc.ssl_channel_credentials(
                credentials["ca_pem"], credentials["key_pem"], credentials["cert_pem"]
            ),
        )

    async def _call(
        self,
        method: Callable[..., Awaitable[_Response]],
        request: Message,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> _Response:
        """One unary call with this client's deadline; a refusal raises QueryRefused."""
        try:
            return await method(request, timeout=self._timeout_s, metadata=tuple(metadata))
        except grpc.aio.AioRpcError as exc:
            raise refusal_of(exc) from exc

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
