"""A bare forwarding gRPC proxy: the limit for the hub's design, for ``bench/pipeline.py``.

It serves ``/jembatan.v1.Exchange/Query`` over the same mTLS hop as the hub (the hub's own
key and certificate, client certificates required) and forwards each query to the same
agency connector with the hub's client certificate (the only identity a connector accepts).
It does only what any router must: parse the request body for service, subject, fields and
request id, pick the connector from a route table read once at start, and wrap the
connector's answer. No signature checks, no consent, no policy, no audit, no receipt.

Handlers are generic and work on raw bytes, so gRPC does no (de)serialization of its own.

    python bench/bare_proxy.py --home HOME [--listen 127.0.0.1:0]

prints ``bare proxy listening on HOST:PORT`` when ready; stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import grpc

from hub.home import HubHome
from hub.routing import connector_channel_options
from hub.store import open_store
from jembatan.tls import listen_mtls
from jembatan.v1 import connector_pb2, exchange_pb2

QUERY_METHOD = "/jembatan.v1.Exchange/Query"
FETCH_METHOD = "/jembatan.v1.Connector/Fetch"
MAX_MESSAGE_BYTES = 64 * 1024


class BareProxy:
    def __init__(self, home: HubHome, listen: str, deadline_s: float = 2.0) -> None:
        registry = open_store(home)
        try:
            connectors = {
                r.service_id: (r.endpoint, r.agency_id) for r in registry.services() if r.enabled
            }
        finally:
            registry.close()
        credentials = grpc.ssl_channel_credentials(
            home.ca_cert.read_bytes(), home.hub_key.read_bytes(), home.hub_cert.read_bytes()
        )
        # One channel per connector (endpoint, agency), raw bytes in and out; each checks
        # the agency's certificate as the hub's channels do.
        self._fetch: dict[str, grpc.aio.UnaryUnaryMultiCallable] = {}
        self._channels: list[tuple[tuple[str, str], grpc.aio.Channel]] = []
        for service_id, connector in connectors.items():
            channel = next((c for e, c in self._channels if e == connector), None)
            if channel is None:
                endpoint, agency_id = connector
                channel = grpc.aio.secure_channel(
                    endpoint, credentials, options=connector_channel_options(agency_id)
                )
                self._channels.append((connector, channel))
            self._fetch[service_id] = channel.unary_unary(FETCH_METHOD)
        self._deadline_s = deadline_s
        self._host = listen.rsplit(":", 1)[0]
        self._server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ]
        )
        handler = grpc.unary_unary_rpc_method_handler(self._query)
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("jembatan.v1.Exchange", {"Query": handler}),)
        )
        self.port = listen_mtls(
            self._server,
            listen,
            key_pem=home.hub_key.read_bytes(),
            cert_pem=home.hub_cert.read_bytes(),
            ca_pem=home.ca_cert.read_bytes(),
        )

    async def _query(self, data: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            request = exchange_pb2.QueryRequest.FromString(data)
            body = exchange_pb2.QueryBody.FromString(request.body)
        except Exception:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "malformed request")
            raise
        fetch = self._fetch.get(body.service_id)
        if fetch is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
            raise AssertionError("unreachable: abort raises")
        fetch_request = connector_pb2.FetchRequest(
            request_id=body.request_id,
            service_id=body.service_id,
            subject=body.subject,
            fields=body.fields,
        ).SerializeToString()
        try:
            answer = await fetch(fetch_request, timeout=self._deadline_s)
        except grpc.aio.AioRpcError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"connector said {exc.code().name}")
            raise
        response = connector_pb2.FetchResponse.FromString(answer)
        return exchange_pb2.QueryResponse(result=response.body).SerializeToString()

    async def run(self) -> None:
        await self._server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"bare proxy listening on {self._host}:{self.port}", flush=True)
        await stop.wait()
        await self._server.stop(1.0)
        for _, channel in self._channels:
            await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", required=True, help="hub home (keys, CA, route table)")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--deadline", type=float, default=2.0, help="connector deadline, s")
    args = parser.parse_args()

    async def run() -> None:
        await BareProxy(HubHome(Path(args.home)), args.listen, args.deadline).run()

    asyncio.run(run())


if __name__ == "__main__":
    main()
