"""The dashboard's figures and the anomaly flags, read from the hub as the console's own.

The records come from the Audit API's ``StreamRecords`` (the console's own call, not an
officer's: the figures are shared by every officer, and what an officer then opens behind a
flag is an officer's call, recorded under their name). The first look reads the anomaly
window (the thresholds' ``window``, at least the 24 hours the charts show); each later look
reads only the records appended since, and drops those that left the window, so a refresh
costs what the log grew by. Looks are cached for ``refresh_s``: officers reloading the page
together share one read.

The figures and flags themselves are the pure functions of ``jembatan.insights``: the same
records and thresholds give anyone the same dashboard.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc

from hub.console.reader import Consistency, LogReader
from jembatan.audit.witness import WitnessFreshness
from jembatan.insights.anomalies import Flag, anomalies
from jembatan.insights.entries import Entry, entries_until, utc
from jembatan.insights.summary import HOUR_S, CheckpointLag, Summary, checkpoint_lag, summarise
from jembatan.insights.thresholds import Thresholds
from jembatan.v1 import audit_pb2

CHART_HOURS = 24
DEFAULT_REFRESH_S = 15.0
# A week of a busy hub streams in seconds; a stream that takes longer than this is stuck.
_READ_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Picture:
    """One look at the log: what the dashboard and the anomalies page show."""

    # Unix seconds of the look.
    at: float
    summary: Summary  # the last CHART_HOURS hours, in whole hours
    flags: tuple[Flag, ...]
    # The anomaly window, Unix seconds.
    window_start: float
    consistency: Consistency
    lag: CheckpointLag
    witnesses: tuple[WitnessFreshness, ...]
    # Records held for the window, and how long this look took (seconds).
    records: int
    took_s: float


class Dashboard:
    def __init__(
        self,
        reader: LogReader,
        thresholds: Thresholds,
        *,
        refresh_s: float = DEFAULT_REFRESH_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.thresholds = thresholds
        self._reader = reader
        self._refresh_s = refresh_s
        self._clock = clock
        self._entries: list[Entry] = []
        self._picture: Picture | None = None
        self._lock = asyncio.Lock()

    async def picture(self) -> Picture:
        """The latest look, taken afresh if older than ``refresh_s``. Raises what the
        reader raises (CheckpointError, QueryRefused, HubCallFailed)."""
        async with self._lock:
            now = self._clock()
            if self._picture is None or now - self._picture.at >= self._refresh_s:
                self._picture = await self._look(now)
            return self._picture

    async def _look(self, now: float) -> Picture:
        started = time.perf_counter()
        consistency = await self._reader.checkpoint()
        window_start = now - max(self.thresholds.window_s, CHART_HOURS * HOUR_S)
        await self._read(window_start, now)
        entries = self._entries
        # Whole hours, the current one last (still filling).
        chart_start = (int(now // HOUR_S) - CHART_HOURS + 1) * HOUR_S
        summary = summarise(entries, start=chart_start, end=now)
        flags = anomalies(entries, self.thresholds, start=now - self.thresholds.window_s, end=now)
        size = consistency.latest.size
        log_size = max(size, entries[-1].index + 1 if entries else 0)
        lag = checkpoint_lag(size, log_size, entries, now=now)
        witnesses = self._reader.witnesses
        return Picture(
            at=now,
            summary=summary,
            flags=tuple(flags),
            window_start=now - self.thresholds.window_s,
            consistency=consistency,
            lag=lag,
            witnesses=tuple(witnesses.status(now)) if witnesses else (),
            records=len(entries),
            took_s=time.perf_counter() - started,
        )

    async def _read(self, window_start: float, end: float) -> None:
        """Bring the held records up to ``end``: those appended since the last look (all of
        the window the first time), less those now before ``window_start``."""
        search = audit_pb2.SearchRequest()
        if self._entries:
            search.after_index, search.has_after_index = self._entries[-1].index, True
        else:
            search.time_from = utc(window_start).isoformat()
        call = self._reader.audit.StreamRecords(
            audit_pb2.StreamRecordsRequest(filter=search), timeout=_READ_TIMEOUT_S
        )

        async def stream() -> AsyncIterator[audit_pb2.AuditEntry]:
            async for logged in call:
                yield logged

        try:
            fresh = await entries_until(stream(), end)
        except grpc.aio.AioRpcError as exc:
            raise self._reader.error_of(exc) from exc
        finally:
            call.cancel()
        self._entries = [e for e in (*self._entries, *fresh) if e.at >= window_start]
