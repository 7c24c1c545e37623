"""The hub's side of witnessing: after each checkpoint round, ask every configured witness to
cosign the latest checkpoint, and keep the cosignatures beside it.

Best effort, never in the log's way: each witness is asked in its own task with a timeout,
a witness still busy with the last request is not asked again, and a witness that is down
or refuses only shows in its status, its metric and one log line when that changes. The log
goes on being written and checkpointed whatever the witnesses do.

A witness says which size it holds: the first request after a start sends ``old 0`` (or the
size this hub last had cosigned), and a 409 answer's size is where the next try proves
consistency from. A witness ahead of the log, or refusing a proof, is a log that rolled back
or forked as far as that witness is concerned: logged as an error, never papered over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp

from hub.store.base import CheckpointStore, describe_error
from hub.store.offloop import StoreCalls
from jembatan.audit.checkpoint import CheckpointError
from jembatan.audit.witness import (
    SIZE_CONTENT_TYPE,
    Cosigner,
    WitnessFreshness,
    add_checkpoint_body,
    cosignatures,
    freshness,
    parse_cosigner_key,
    with_signatures,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
# A checkpoint a witness has not cosigned this long after it was signed makes the witness
# stale: a healthy witness cosigns within a round (a second) of the signing.
DEFAULT_STALE_AFTER_S = 60.0
_ATTEMPTS = 3  # a 409 costs one more try; more than two in a row is not a race


@dataclass(frozen=True, slots=True)
class WitnessEndpoint:
    """A witness the hub asks: its key (which names it) and its submission URL prefix."""

    cosigner: Cosigner
    url: str

    @property
    def name(self) -> str:
        return self.cosigner.name


def parse_witness(text: str) -> WitnessEndpoint:
    """``URL=KEY``: the witness's URL prefix and its key string."""
    url, separator, key = text.partition("=")
    if not separator or not url.startswith(("http://", "https://")):
        raise ValueError(f"expected URL=WITNESS_KEY (an http:// or https:// URL), not {text!r}")
    try:
        cosigner = parse_cosigner_key(key)
    except CheckpointError as exc:
        raise ValueError(str(exc)) from None
    return WitnessEndpoint(cosigner, url.rstrip("/"))


@dataclass
class WitnessStatus:
    """What the hub knows of one witness, for metrics and the console."""

    name: str
    url: str
    size: int | None = None  # of the latest checkpoint it cosigned
    cosigned_at: int | None = None  # unix seconds of that cosignature
    problem: str = ""  # why the last request got no cosignature ("" when it did)
    stale: bool = True
    _known_size: int = field(default=0, repr=False)  # the size the witness holds, as last heard


class WitnessCollector:
    def __init__(
        self,
        store: CheckpointStore,
        witnesses: Sequence[WitnessEndpoint],
        *,
        clock: Callable[[], float] = time.time,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        calls: StoreCalls | None = None,
    ) -> None:
        self._store = store
        # Where its storage calls run from the event loop (off it on PostgreSQL).
        self._calls = calls or StoreCalls()
        self._witnesses = list(witnesses)
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._stale_after_s = stale_after_s
        self._status = {w.name: WitnessStatus(w.name, w.url) for w in self._witnesses}
        for name, (size, at) in store.latest_cosignatures().items():
            if name in self._status:
                status = self._status[name]
                status.size, status.cosigned_at, status._known_size = size, at, size
        self._busy: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    @property
    def witnesses(self) -> list[WitnessEndpoint]:
        return list(self._witnesses)

    async def kick(self) -> None:
        """Ask each witness not already being asked to cosign the latest checkpoint; returns
        at once (the requests run as tasks)."""
        if not self._witnesses:
            return
        latest = await self._calls(self._store.latest_checkpoint)
        if latest is None:
            return
        for witness in self._witnesses:
            status = self._status[witness.name]
            if witness.name in self._busy or status.size == latest[0]:
                continue
            self._busy[witness.name] = asyncio.create_task(self._ask(witness, *latest))

    def _done(self, name: str) -> None:
        self._busy.pop(name, None)

    async def settle(self) -> None:
        """Wait for the requests under way (tests; shutdown)."""
        while self._busy:
            await asyncio.gather(*list(self._busy.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._busy.values()):
            task.cancel()
        await self.settle()
        if self._session is not None:
            await self._session.close()

    def status(self) -> list[WitnessStatus]:
        """Each witness's latest cosignature and whether it is stale, in configured order."""
        # From the store: replicas sharing it show what the one asking the witnesses got.
        marks = self._store.latest_cosignatures()
        out = []
        for fresh in self.freshness(marks):
            status = self._status[fresh.name]
            if fresh.size is not None and (status.size is None or fresh.size >= status.size):
                status.size, status.cosigned_at = fresh.size, fresh.cosigned_at
            status.stale = fresh.stale
            out.append(status)
        return out

    def freshness(self, marks: dict[str, tuple[int, int]]) -> list[WitnessFreshness]:
        """Per configured witness, from name → (size, time) of its latest cosignature."""
        names = [w.name for w in self._witnesses]

        def waiting_since(size: int) -> float | None:
            signed_at = self._store.first_checkpoint_after(size)
            return None if signed_at is None else datetime.fromisoformat(signed_at).timestamp()

        return freshness(marks, names, self._clock(), self._stale_after_s, waiting_since)

    # --- one witness ----------------------------------------------------------------

    async def _ask(self, witness: WitnessEndpoint, size: int, note: str) -> None:
        status = self._status[witness.name]
        try:
            problem = await self._submit(witness, status, size, note)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            problem = f"unreachable: {type(exc).__name__}"
        except Exception as exc:  # a store fault: the next round tries again
            problem = f"not recorded: {describe_error(exc)}"
        finally:
            self._done(witness.name)
        if problem != status.problem:
            if problem:
                log.warning("witness %s: %s", witness.name, problem)
            else:
                log.info("witness %s cosigns again", witness.name)
        status.problem = problem

    async def _submit(
        self, witness: WitnessEndpoint, status: WitnessStatus, size: int, note: str
    ) -> str:
        """Ask until cosigned or refused; the problem, or "" once cosigned."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        for _ in range(_ATTEMPTS):
            old = status._known_size
            if old > size:
                return (
                    f"holds a checkpoint of size {old}, beyond the log's {size}: the log rolled"
                    " back as this witness saw it"
                )
            proof = (
                await self._calls(self._store.consistency_proof, old, size)
                if 0 < old < size
                else []
            )
            async with self._session.post(
                f"{witness.url}/add-checkpoint", data=add_checkpoint_body(old, proof, note)
            ) as answer:
                text = await answer.text()
                if answer.status == 200:
                    return await self._keep(witness, status, size, note, text)
                if answer.status == 409 and answer.content_type == SIZE_CONTENT_TYPE:
                    held = text.strip()
                    if not held.isdigit():
                        return f"answered 409 without a size: {held[:60]!r}"
                    if int(held) == old:
                        return f"refused the checkpoint of size {size}: another root at that size"
                    status._known_size = int(held)
                    continue
                return f"refused with HTTP {answer.status}: {text.strip()[:200]}"
        return f"no agreement on its size after {_ATTEMPTS} tries"

    async def _keep(
        self, witness: WitnessEndpoint, status: WitnessStatus, size: int, note: str, text: str
    ) -> str:
        lines = [line for line in text.split("\n") if line]
        try:
            cosigned = cosignatures(with_signatures(note, lines), [witness.cosigner])
        except CheckpointError as exc:
            return f"answered a bad cosignature: {exc}"
        at = cosigned.get(witness.name)
        if at is None:
            return "answered no cosignature by its key"
        mine = [line for line in lines if line.startswith(f"\u2014 {witness.name} ")]
        for line in mine:
            with contextlib.suppress(CheckpointError):
                if cosignatures(with_signatures(note, [line]), [witness.cosigner]):
                    await self._calls(self._store.add_cosignature, size, witness.name, line, at)
                    break
        status.size, status.cosigned_at, status._known_size = size, at, size
        return ""
