"""The witnesses the console is told to trust: their cosignatures on the checkpoints it
fetches, each one's freshness for the dashboard, and the quorum for the integrity page.

The console is given the witnesses' key strings (``jembatan console --witness KEY``, the
name is in the key) and optionally a quorum. Every checkpoint the console fetches is
checked here (``jembatan.audit.witness.WitnessWatch``): a trusted witness's cosignature that
does not verify is a CheckpointError, like a bad log signature. A witness is *stale* when a
checkpoint larger than the last one it cosigned has waited more than ``stale_after_s``: a
quiet log makes no witness stale, one that stopped answering is, however busy the log.

The quorum is judged on the latest checkpoint: *met* when at least ``quorum`` trusted
witnesses cosigned it; *waiting* when fewer did but enough of the others are not stale yet
(the hub asks its witnesses right after signing, so the newest checkpoint is often a moment
ahead of their answers); *not met* otherwise. Only *met* lets the integrity page say the
witnesses vouch for the log.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from jembatan.audit.witness import Cosigner, WitnessFreshness, WitnessWatch


class QuorumState(enum.StrEnum):
    MET = "met"
    WAITING = "waiting"
    NOT_MET = "not-met"


@dataclass(frozen=True, slots=True)
class Quorum:
    """How the latest checkpoint stands with the required witnesses."""

    required: int
    size: int
    cosigned: tuple[str, ...]
    missing: tuple[str, ...]
    state: QuorumState


class Witnesses:
    """The console's trusted witnesses and what it has seen of them since it started."""

    def __init__(
        self,
        log_verifier: str,
        cosigners: Sequence[Cosigner],
        *,
        quorum: int | None = None,
        stale_after_s: float = 60.0,
    ) -> None:
        names = [c.name for c in cosigners]
        if len(set(names)) != len(names):
            raise ValueError("--witness: the same witness is named twice")
        required = 0 if quorum is None else quorum
        if not 0 <= required <= len(cosigners):
            raise ValueError(
                f"--quorum {required}: cannot be met by {len(cosigners)} --witness witnesses"
            )
        self.cosigners = tuple(cosigners)
        self.quorum = required
        self.stale_after_s = stale_after_s
        self._watch = WitnessWatch(log_verifier, cosigners, stale_after_s)
        # Pages observe from the event loop; the lock keeps the watch whole should a page
        # ever do so from a thread.
        self._lock = threading.Lock()

    def observe(self, note: str, now: float) -> Quorum:
        """Take in a fetched checkpoint note (CheckpointError if a trusted witness's
        cosignature on it does not verify); how it stands with the quorum."""
        with self._lock:
            cosigned = self._watch.observe(note, now)
            status = self._watch.status(now)
        names = tuple(sorted(cosigned.cosigned_at))
        if len(names) >= self.quorum:
            state = QuorumState.MET
        else:
            fresh_missing = [s for s in status if s.name in cosigned.missing and not s.stale]
            possible = len(names) + len(fresh_missing)
            state = QuorumState.WAITING if possible >= self.quorum else QuorumState.NOT_MET
        return Quorum(self.quorum, cosigned.checkpoint.size, names, cosigned.missing, state)

    def status(self, now: float) -> list[WitnessFreshness]:
        with self._lock:
            return self._watch.status(now)
