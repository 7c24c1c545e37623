"""What a witness remembers: per log, the latest checkpoint it verified and cosigned.

One JSON file in the witness's directory, replaced atomically (written beside it, fsynced,
renamed over it, the directory fsynced) before the witness answers, so a crash leaves the
old state or the new one, never half of either. The directory is locked for the life of the
process: two witnesses on one state would each check against a size the other is changing.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from jembatan.errors import JembatanError

_STATE = "state.json"
_LOCK = "witness.lock"


class WitnessStateError(JembatanError):
    """The state directory cannot be used: locked by another witness, or unreadable."""


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest checkpoint of one log this witness cosigned."""

    size: int
    root: str  # base64, as in the checkpoint
    note: str  # the checkpoint as the log signed it, with this witness's cosignature
    cosigned_at: int  # unix seconds

    @property
    def root_hash(self) -> bytes:
        return base64.b64decode(self.root)


class WitnessState:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        self._lock = open(directory / _LOCK, "a+")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise WitnessStateError(f"{directory} is in use by another witness process") from None
        self._logs = self._read()

    def _read(self) -> dict[str, Latest]:
        path = self._dir / _STATE
        if not path.exists():
            return {}
        try:
            doc = json.loads(path.read_text())
            return {origin: Latest(**entry) for origin, entry in doc["logs"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Never start afresh over a state we cannot read: that would forget what was
            # cosigned and let the log roll back.
            raise WitnessStateError(f"cannot read {path}: {exc}") from exc

    def get(self, origin: str) -> Latest | None:
        return self._logs.get(origin)

    def put(self, origin: str, latest: Latest) -> None:
        """Persist ``latest`` for ``origin`` before returning."""
        logs = {**self._logs, origin: latest}
        text = json.dumps({"logs": {o: asdict(e) for o, e in logs.items()}}, indent=1)
        temporary = self._dir / (_STATE + ".new")
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self._dir / _STATE)
        directory = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._logs = logs

    def close(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
