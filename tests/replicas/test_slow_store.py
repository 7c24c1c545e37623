"""A slow PostgreSQL holds up only the calls that wait for it: the hub's event loop goes on
answering health checks, metrics scrapes and checkpoint reads while a query's storage call
waits, and a call that waits too long is refused with its record (fail closed).

The slowness is the server's own: the test takes a lock on the consents table in a
transaction of its own, so the hub's consent read waits in PostgreSQL as behind any
long-running writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path

import aiohttp
import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from jembatan.client import QueryAnswer, QueryRefused
from jembatan.v1 import audit_pb2, audit_pb2_grpc
from tests.replicas.support import Replicas, replicas
from tests.stack import employment_query

pytestmark = pytest.mark.postgres

# What "at once" means here: far below the lock's hold, above a loaded machine's jitter.
_PROMPT_S = 0.5
# The sessions for queries' and services' calls (hub.store.postgres, hub.store.offloop.lanes).
_QUERY_SESSIONS = 8


@contextlib.contextmanager
def consents_locked(dsn: str) -> Iterator[None]:
    """The consents table locked by another session until the block ends."""
    with psycopg.connect(dsn, autocommit=True) as blocker, blocker.transaction():
        blocker.execute("LOCK TABLE consents IN ACCESS EXCLUSIVE MODE")
        yield


async def hub_waits_on_a_lock(running: Replicas, sessions: int = 1) -> None:
    """Until ``sessions`` of the hub's own sessions wait on a lock in PostgreSQL."""
    name = f"jembatan-registry-{running.hubs[0].process.pid}"
    deadline = time.monotonic() + 10
    with psycopg.connect(running.dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                (name,),
            ).fetchone()
            if row and row[0] >= sessions:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the hub never waited on the lock")


@contextlib.asynccontextmanager
async def slow_queries(
    running: Replicas, count: int = 1
) -> AsyncIterator[list[asyncio.Task[QueryAnswer]]]:
    """``count`` consented queries whose consent reads wait on the lock while the block runs."""
    stack = running.stack
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    # A deadline beyond the hub's lock_timeout (5 s): the hub, not the client, gives up.
    async with stack.client(address=running.hubs[0].address, timeout_s=15) as client:
        # Warm: the registry snapshot loaded, the agency's channel open.
        await employment_query(client, nik, token)
        with consents_locked(running.dsn):
            queries = [
                asyncio.create_task(employment_query(client, nik, token)) for _ in range(count)
            ]
            # As many as the sessions the queries' calls have (8) wait in PostgreSQL.
            await hub_waits_on_a_lock(running, min(count, _QUERY_SESSIONS))
            yield queries
        for query in queries:
            with contextlib.suppress(QueryRefused):
                await query


async def timed(call: Awaitable[None]) -> float:
    started = time.monotonic()
    await call
    return time.monotonic() - started


async def test_health_metrics_and_checkpoints_are_answered_while_a_query_waits_on_postgresql(
    tmp_path: Path,
) -> None:
    with replicas(tmp_path / "slow", count=1) as running:
        stack = running.stack
        async with (
            slow_queries(running) as (waiting,),
            stack.channel() as channel,
            aiohttp.ClientSession() as http,
        ):
            health = health_pb2_grpc.HealthStub(channel)
            audit = audit_pb2_grpc.AuditStub(channel)

            async def scrape() -> None:
                async with http.get(stack.metrics_url) as response:
                    assert response.status == 200
                    assert "jembatan_checkpoint_entries" in await response.text()

            async def check() -> None:
                answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
                assert answer.status == health_pb2.HealthCheckResponse.SERVING

            async def checkpoint() -> None:
                signed = await audit.GetCheckpoint(audit_pb2.GetCheckpointRequest())
                assert signed.size >= 1

            for call in (scrape, check, checkpoint, scrape):
                assert await timed(call()) < _PROMPT_S, call.__name__
            # Each answered while the query still waits for its consent read.
            assert not waiting.done()
        # Once the lock is gone the query goes on, and is answered with its receipt.
        answer = await waiting
        assert answer.log_index >= 1


async def test_a_query_waiting_past_the_lock_timeout_is_refused_and_recorded(
    tmp_path: Path,
) -> None:
    with replicas(tmp_path / "stuck", count=1) as running:
        stack = running.stack
        async with slow_queries(running) as (waiting,):
            # The hub's sessions give up a lock after lock_timeout (5 s): it must refuse.
            done, _ = await asyncio.wait({waiting}, timeout=15)
            assert done, "the query was still waiting after lock_timeout"
            with pytest.raises(QueryRefused) as refused:
                waiting.result()
        assert (refused.value.status, refused.value.reason) == (
            grpc.StatusCode.INTERNAL,
            "INTERNAL_ERROR",
        )
        last = stack.records()[-1]
        # Fail closed: the refusal is in the log, and nothing was released.
        assert (last.decision, last.reason, last.fields_released) == (
            "REFUSED",
            "INTERNAL_ERROR",
            (),
        )


async def test_health_and_metrics_are_answered_while_every_query_session_waits(
    tmp_path: Path,
) -> None:
    # More stuck queries than the sessions queries get: the hub's own checks have theirs.
    with replicas(tmp_path / "crowd", count=1) as running:
        stack = running.stack
        async with (
            slow_queries(running, count=_QUERY_SESSIONS + 4) as waiting,
            stack.channel() as channel,
            aiohttp.ClientSession() as http,
        ):
            health = health_pb2_grpc.HealthStub(channel)

            async def scrape() -> None:
                async with http.get(stack.metrics_url) as response:
                    assert response.status == 200

            async def check() -> None:
                answer = await health.Check(health_pb2.HealthCheckRequest(service=""))
                assert answer.status == health_pb2.HealthCheckResponse.SERVING

            for call in (scrape, check, scrape, check):
                assert await timed(call()) < _PROMPT_S, call.__name__
            assert not any(query.done() for query in waiting)
        # The lock gone, every one of them is answered.
        answers = [await query for query in waiting]
        assert len({answer.log_index for answer in answers}) == len(waiting)
