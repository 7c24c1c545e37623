"""The hub keeps one channel per connector route and closes the ones the registry no longer
routes to: a connector that moved endpoint leaves no channel to its old address open, and a
call still on a retired channel gets its grace period."""

from __future__ import annotations

import contextlib

import grpc

from hub.routing import ConnectorPool, Route
from jembatan.v1 import connector_pb2
from tests.stack import Stack


async def _ask(pool: ConnectorPool, route: Route) -> None:
    """A call on the route's channel (opening it); whether the connector answers is not the
    point here."""
    with contextlib.suppress(grpc.aio.AioRpcError):
        await pool.fetch(*route, connector_pb2.FetchRequest(), deadline_s=0.5)


async def test_channels_of_routes_gone_from_the_registry_are_closed(stack: Stack) -> None:
    home = stack.home
    pool = ConnectorPool(
        ca_pem=home.ca_cert.read_bytes(),
        key_pem=home.hub_key.read_bytes(),
        cert_pem=home.hub_cert.read_bytes(),
    )
    with stack.registry() as registry:
        routes = {(r.endpoint, r.agency_id) for r in registry.services()}
    old, kept = ("127.0.0.1:1", "ID/GOV/BPJSTK/wages"), next(iter(routes))
    for route in (old, kept, kept):
        await _ask(pool, route)
    assert len(pool) == 2  # one channel per route, reused
    await pool.retire(routes, grace_s=1.0)
    assert len(pool) == 1  # the route that moved away lost its channel
    await pool.close()
    assert len(pool) == 0
