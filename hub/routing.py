"""Channels from the hub to agency connectors: one mTLS channel per (endpoint, agency), reused.

The hub talks only to the route's agency. Every channel's authority is the agency's member
DNS name (``hub.pki.member_dns_name``), which only that agency's certificates carry, and
TLS checks the server's certificate against the authority during the handshake, before a
FetchRequest (with its NIK) is sent. So a server at the endpoint holding any other member's
certificate, however valid, never receives a request: the call fails ``UNAVAILABLE`` as if
nothing listened there, whatever host the endpoint names or whoever answers at it.

``grpc.default_authority`` rather than ``grpc.ssl_target_name_override``: gRPC core checks
the server's name against the channel's authority either way, but the override is marked
"for testing only" in gRPC's channel arguments, while the authority is gRPC's general,
supported way to say which server a channel means (Java's ``overrideAuthority``, Go's
``WithAuthority``). gRPC Python has no certificate-verification callback, so a name the
handshake checks is the one way to refuse a server before the request leaves.
"""

from __future__ import annotations

from collections.abc import Collection

import grpc
from opentelemetry.trace import Tracer

from jembatan.certs import member_dns_name
from jembatan.tracing import client_interceptors
from jembatan.v1 import connector_pb2, connector_pb2_grpc

Route = tuple[str, str]
"""(endpoint, agency id) of a connector."""


class ConnectorPool:
    def __init__(
        self, *, ca_pem: bytes, key_pem: bytes, cert_pem: bytes, tracer: Tracer | None = None
    ) -> None:
        self._credentials = grpc.ssl_channel_credentials(ca_pem, key_pem, cert_pem)
        # A client span per call, and the trace carried to the connector, when traced.
        self._interceptors = client_interceptors(tracer)
        self._open: dict[Route, tuple[grpc.aio.Channel, connector_pb2_grpc.ConnectorStub]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def _stub(self, endpoint: str, agency_id: str) -> connector_pb2_grpc.ConnectorStub:
        found = self._open.get((endpoint, agency_id))
        if found is None:
            channel = grpc.aio.secure_channel(
                endpoint,
                self._credentials,
                options=connector_channel_options(agency_id),
                interceptors=self._interceptors or None,
            )
            found = self._open[endpoint, agency_id] = (
                channel,
                connector_pb2_grpc.ConnectorStub(channel),
            )
        return found[1]

    async def retire(self, live: Collection[Route], grace_s: float) -> None:
        """Close the channels of routes no longer in ``live`` (a connector moved to another
        endpoint, a service gone): calls still on them get ``grace_s`` to finish."""
        stale = [route for route in self._open if route not in live]
        for route in stale:
            channel, _ = self._open.pop(route)
            await channel.close(grace_s)

    async def fetch(
        self,
        endpoint: str,
        agency_id: str,
        request: connector_pb2.FetchRequest,
        deadline_s: float,
    ) -> connector_pb2.FetchResponse:
        """Ask the connector at ``endpoint``, which must hold ``agency_id``'s certificate."""
        response: connector_pb2.FetchResponse = await self._stub(endpoint, agency_id).Fetch(
            request, timeout=deadline_s
        )
        return response

    async def close(self) -> None:
        await self.retire((), grace_s=0)


def connector_channel_options(agency_id: str) -> list[tuple[str, str]]:
    """Channel options that make TLS accept only ``agency_id``'s certificate."""
    return [("grpc.default_authority", member_dns_name(agency_id))]
