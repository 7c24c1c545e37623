"""Storage calls from the event loop, made where they do not hold it up.

A PostgreSQL call waits a network round trip (or a lock, or a server that is away); made
on the event loop it would stop every other query, health check and metrics scrape for that
long. ``StoreCalls`` runs such a store's calls in worker threads, as many as the store has
pooled sessions, and the loop goes on meanwhile. An embedded engine (SQLite) answers in
microseconds, less than the hand-over to a thread costs, so its calls are made inline.

The shared SQL stays synchronous (``hub.store.sql``): one copy of it for both engines, the
CLI and the audit sequencer's thread (docs/storage.md says why not psycopg's async API).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
# Threads (and sessions) kept for the hub's own operations: health, metrics, checkpoints,
# witnesses.
OPERATIONS_THREADS = 2


class StoreCalls:
    """Awaitable storage calls: in ``threads`` worker threads, or inline when 0."""

    def __init__(self, threads: int = 0) -> None:
        self._executor = (
            ThreadPoolExecutor(threads, thread_name_prefix="jembatan-store") if threads else None
        )

    @property
    def off_loop(self) -> bool:
        return self._executor is not None

    async def __call__(self, call: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._executor is None:
            return call(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(call, *args, **kwargs))

    def close(self) -> None:
        # Calls already running finish first: the store closes after this.
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def lanes(threads: int) -> tuple[StoreCalls, StoreCalls]:
    """(calls for queries and services, calls for the hub's own operations) on a store that
    takes ``threads`` calls at once. Apart, so that queries stuck behind a lock, however
    many, cannot hold up a health check or a scrape; the same inline calls when 0."""
    if threads == 0:
        inline = StoreCalls()
        return inline, inline
    operations = min(OPERATIONS_THREADS, threads - 1)
    return StoreCalls(threads - operations), StoreCalls(operations)
