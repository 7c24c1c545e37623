"""The audit log's sequencer: the one writer that turns records into indexed, durable entries.

Appends from many concurrent queries are grouped into one transaction (group commit): the
thread takes whatever has queued up while the previous batch was being fsynced, so under
load one fsync serves many exchanges, and when idle a lone record is written at once.

The writer decides each batch's first index inside the batch's transaction (see
``AuditWriter``), so this thread keeps no count of its own: with several hub replicas on
one PostgreSQL store, each replica's sequencer appends to the same single log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hub.store.base import AuditWriter, Nonce, PendingEntry, describe_error
from jembatan.audit.record import AuditRecord, leaf_hash
from jembatan.errors import JembatanError

_MAX_BATCH = 4096
_STOP = object()
_PROBE = object()
log = logging.getLogger(__name__)


class AuditUnavailable(JembatanError):
    """The record could not be made durable; the exchange must fail closed."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    index: int
    leaf_hash: bytes


_Item = tuple[PendingEntry, asyncio.Future[LogEntry], asyncio.AbstractEventLoop]


def pending_entry(record: AuditRecord, nonces: Sequence[Nonce] = ()) -> PendingEntry:
    """A record on its way into the log, with the columns officers search by."""
    record_json = record.canonical_json()
    return PendingEntry(
        record_json=record_json,
        leaf_hash=leaf_hash(record_json),
        time=record.time,
        client_id=record.client_id,
        service_id=record.service_id,
        decision=record.decision,
        reason=record.reason,
        subject=record.subject,
        nonces=tuple(nonces),
        consent_id=record.consent_id,
    )


class AuditLog:
    def __init__(self, open_writer: Callable[[], AuditWriter]) -> None:
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        # Written by the sequencer thread only; read (for health and metrics) anywhere. The
        # log's size as this hub last wrote it (replicas sharing a log also append).
        self.size = 0
        self.failing = False
        # When the write in progress began (None: none is): a write that never ends (a
        # replica holding the sequencing lock, a storage hang) must show in health.
        self._writing_since: float | None = None
        self._thread = threading.Thread(
            target=self._run, args=(open_writer,), name="audit-sequencer", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise AuditUnavailable(f"audit store: {self._startup_error}")

    async def append(self, entry: PendingEntry) -> LogEntry:
        if not self._thread.is_alive():
            # Nobody would settle the future: fail closed at once rather than hang.
            raise AuditUnavailable("the audit sequencer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[LogEntry] = loop.create_future()
        self._queue.put((entry, future, loop))
        return await future

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stalled(self, after_s: float) -> bool:
        """A write has been under way for more than ``after_s`` seconds."""
        since = self._writing_since
        return since is not None and time.monotonic() - since > after_s

    def queued(self) -> int:
        """Records waiting for the sequencer (approximate: it is read without a lock)."""
        return self._queue.qsize()

    def probe(self) -> None:
        """Have the sequencer try a write it rolls back: ``failing`` then tells whether the
        store takes records now, even when no exchange comes to find out."""
        self._queue.put(_PROBE)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self, open_writer: Callable[[], AuditWriter]) -> None:
        try:
            writer = open_writer()
        except BaseException as exc:
            self._startup_error = exc
            return
        finally:
            self._ready.set()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                if first is _PROBE:
                    self._probe(writer)
                    continue
                batch: list[_Item] = [first]  # type: ignore[list-item]
                stop = False
                while len(batch) < _MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    if item is _PROBE:
                        continue  # a batch is a better probe than a probe
                    batch.append(item)  # type: ignore[arg-type]
                self._write(writer, batch)
                if stop:
                    return
        finally:
            writer.close()
            self._fail_the_rest()

    def _fail_the_rest(self) -> None:
        """Appends still queued when the sequencer ends are refused, never left waiting."""
        error = AuditUnavailable("the audit sequencer stopped")
        left: list[_Item] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, tuple):
                left.append(item)
        _settle(left, lambda future, _: future.set_exception(error))

    def _write(self, writer: AuditWriter, batch: list[_Item]) -> None:
        self._writing_since = time.monotonic()
        try:
            first = writer.append([entry for entry, _, _ in batch])
        except Exception as exc:
            log.error("audit append failed: %s", describe_error(exc))
            self.failing = True
            error = AuditUnavailable(f"audit record not durable: {describe_error(exc)}")
            _settle(batch, lambda future, _: future.set_exception(error))
            return
        finally:
            self._writing_since = None
        self.failing = False
        self.size = first + len(batch)
        _settle(
            batch, lambda future, i: future.set_result(LogEntry(first + i, batch[i][0].leaf_hash))
        )

    def _probe(self, writer: AuditWriter) -> None:
        self._writing_since = time.monotonic()
        try:
            writer.probe()
        except Exception as exc:
            if not self.failing:
                log.error("audit log not writable: %s", describe_error(exc))
            self.failing = True
            return
        finally:
            self._writing_since = None
        self.failing = False


def _settle(batch: list[_Item], settle: Callable[[asyncio.Future[LogEntry], int], None]) -> None:
    # One wake-up per loop per batch, not per record: call_soon_threadsafe writes a pipe.
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[int, asyncio.Future[LogEntry]]]] = {}
    for i, (_, future, loop) in enumerate(batch):
        by_loop.setdefault(loop, []).append((i, future))

    def settle_all(items: list[tuple[int, asyncio.Future[LogEntry]]]) -> None:
        for i, future in items:
            if not future.done():
                settle(future, i)

    for loop, items in by_loop.items():
        # A loop closed meanwhile has nobody left waiting; it must not kill the sequencer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle_all, items)
