"""The standard gRPC health service (``grpc.health.v1``), kept true by a small monitor.

Every service the hub serves, and the overall "", is SERVING only while the audit
sequencer runs, its last write (an exchange's record, or the probe it rolls back each
round) went through, and storage answers a read: an exchange the
hub cannot record fails closed, so a hub in that state is of no use to anyone and a
balancer should send its traffic elsewhere. The health service sits on the hub's mTLS
listener like everything else: any member's certificate may ask it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from grpc_health.v1 import health, health_pb2

log = logging.getLogger(__name__)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
_UNCHECKED = "not checked yet"


class HealthMonitor:
    """Sets every service's status from ``await problem()`` (None: healthy), each round."""

    def __init__(
        self,
        services: Iterable[str],
        problem: Callable[[], Awaitable[str | None]],
        *,
        each_round: Callable[[], None] = lambda: None,
    ) -> None:
        self.servicer = health.aio.HealthServicer()
        self._services = ("", *services)
        self._problem = problem
        # Called before each check, for parts that learn their state by trying (a write
        # probe): the next round sees the answer.
        self._each_round = each_round
        self._current: str | None = _UNCHECKED

    async def check(self) -> None:
        self._each_round()
        problem = await self._problem()
        if problem == self._current:
            return
        if problem is None:
            if self._current != _UNCHECKED:
                log.warning("healthy again: serving")
        else:
            log.warning("not serving: %s", problem)
        status = SERVING if problem is None else NOT_SERVING
        for service in self._services:
            await self.servicer.set(service, status)
        # Only once every service says so: a failed round is tried again in full.
        self._current = problem

    async def run(self, interval_s: float) -> None:
        while True:
            try:
                await self.check()
            except Exception as exc:  # the monitor must outlive any one failed check
                log.error("health check failed: %s", type(exc).__name__)
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        await self.servicer.enter_graceful_shutdown()
