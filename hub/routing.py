"""Channels from the hub to agency connectors: one mTLS channel per endpoint, reused."""

from __future__ import annotations

import grpc

from jembatan.v1 import connector_pb2, connector_pb2_grpc


class ConnectorPool:
    def __init__(self, *, ca_pem: bytes, key_pem: bytes, cert_pem: bytes) -> None:
        self._credentials = grpc.ssl_channel_credentials(ca_pem, key_pem, cert_pem)
        self._stubs: dict[str, connector_pb2_grpc.ConnectorStub] = {}
        self._channels: list[grpc.aio.Channel] = []

    def _stub(self, endpoint: str) -> connector_pb2_grpc.ConnectorStub:
        stub = self._stubs.get(endpoint)
        if stub is None:
            channel = grpc.aio.secure_channel(endpoint, self._credentials)
            self._channels.append(channel)
            stub = self._stubs[endpoint] = connector_pb2_grpc.ConnectorStub(channel)
        return stub

    async def fetch(
        self, endpoint: str, request: connector_pb2.FetchRequest, deadline_s: float
    ) -> connector_pb2.FetchResponse:
        response: connector_pb2.FetchResponse = await self._stub(endpoint).Fetch(
            request, timeout=deadline_s
        )
        return response

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        self._channels.clear()
        self._stubs.clear()
