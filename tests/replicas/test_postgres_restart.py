"""PostgreSQL restarted under load: the hub refuses while its store is away (fail closed:
no answer without its audit record) and recovers by itself once it is back.

The server restarted is the test's own throw-away cluster (initdb in a temporary folder, on
a free port), never the shared one on :5432, so suites running beside it are not disturbed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from jembatan.client import QueryAnswer, QueryRefused
from tests.postgres import throwaway_cluster
from tests.replicas.support import assert_one_log, replicas
from tests.stack import employment_query

pytestmark = pytest.mark.postgres


async def test_the_hub_fails_closed_while_postgresql_restarts_and_recovers(
    tmp_path: Path,
) -> None:
    with (
        throwaway_cluster() as cluster,
        replicas(tmp_path / "restart", count=2, admin_dsn=cluster.dsn) as running,
    ):
        nik = running.stack.people.employed
        token, _ = running.stack.consent(nik)
        answers: list[tuple[float, int, QueryAnswer]] = []
        refused: list[tuple[float, QueryRefused]] = []
        stop = asyncio.Event()
        async with running.client(0) as a, running.client(1) as b:

            async def worker(n: int) -> None:
                replica = n % 2
                client = (a, b)[replica]
                while not stop.is_set():
                    try:
                        answer = await employment_query(client, nik, token)
                    except QueryRefused as refusal:
                        refused.append((time.monotonic(), refusal))
                        await asyncio.sleep(0.05)
                    else:
                        answers.append((time.monotonic(), replica, answer))

            workers = [asyncio.create_task(worker(n)) for n in range(8)]

            async def until(enough: Callable[[], bool], what: str) -> None:
                deadline = time.monotonic() + 60
                while not enough():
                    # A worker that died of anything but a refusal fails the test now.
                    for task in workers:
                        if task.done():
                            task.result()
                            raise AssertionError("a worker stopped")
                    assert time.monotonic() < deadline, f"gave up waiting for {what}"
                    await asyncio.sleep(0.05)

            def answered_by_each_since(since: float, count: int) -> Callable[[], bool]:
                return lambda: all(
                    sum(1 for at, r, _ in answers if at > since and r == replica) >= count
                    for replica in (0, 1)
                )

            await until(answered_by_each_since(0.0, 25), "answers before the restart")
            await asyncio.to_thread(cluster.restart)
            restarted = time.monotonic()
            # Recovers by itself: answers flow again, from each replica.
            await until(answered_by_each_since(restarted, 25), "the hub to recover")
            stop.set()
            await asyncio.gather(*workers)
        assert refused, "the restart went unnoticed: nothing was refused"
        # Every refusal failed closed: nothing released without its record.
        assert {(r.status, r.reason) for _, r in refused} <= {
            (grpc.StatusCode.UNAVAILABLE, "AUDIT_UNAVAILABLE"),
            (grpc.StatusCode.INTERNAL, "INTERNAL_ERROR"),
        }
        assert any(r.reason == "AUDIT_UNAVAILABLE" for _, r in refused)
        assert_one_log(running.stack, [answer for _, _, answer in answers])
