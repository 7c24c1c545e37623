"""The console's integrity anchor: the last checkpoint it verified, kept on disk.

A checkpoint held only in memory proves nothing across a restart: a hub that rolled its log
back (restored an old database, started a fresh log with the same key) or forked it while
the console was down would be "verified" against its own new first checkpoint. So the
console keeps the signed note of the largest checkpoint it has verified in
``HOME/console/anchor.checkpoint`` (written whole or not at all), and proves every new one —
at start and at every look at the log's integrity — consistent with it. A log smaller than
the anchor, a consistency proof that fails (a fork, a rewrite), or an anchor that no longer
verifies with the hub's key is an ``Alarm``, never "verified"; the anchor is then left as it
was, so the alarm stays across restarts until an operator has looked (and, having found the
cause, removes the file by hand: the next start trusts the hub's checkpoint afresh).
"""

from __future__ import annotations

import contextlib
import enum
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hub.home import HubHome
from jembatan.audit.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from jembatan.errors import JembatanError

ANCHOR_NAME = "anchor.checkpoint"
# A signed note is a few hundred bytes; anything far larger is not ours.
_MAX_NOTE = 64 * 1024


def anchor_file(home: HubHome) -> Path:
    """Where the console of ``home`` keeps its anchor (beside its officers' file)."""
    return home.root / "console" / ANCHOR_NAME


class AlarmKind(enum.StrEnum):
    # The log now has fewer records than a checkpoint the console verified.
    SHRANK = "shrank"
    # The log is not an extension of the verified checkpoint: a fork or a rewrite.
    FORKED = "forked"
    # The stored anchor cannot be read or does not verify with the hub's key (tampered
    # with, or the console now talks to another log).
    ANCHOR_INVALID = "anchor-invalid"


@dataclass(frozen=True, slots=True)
class Alarm:
    """Why the log cannot be shown as verified, for the integrity page to show."""

    kind: AlarmKind
    message: str
    # The verified checkpoint the log failed to extend (None: the anchor itself is bad).
    anchor: Checkpoint | None


class AnchorUnreadable(JembatanError):
    """The stored anchor is not a checkpoint this console can trust."""


class Anchor:
    """The anchor file at ``path``, whose notes must verify with ``verifier`` (the hub's
    verifier key string)."""

    def __init__(self, path: Path, verifier: str) -> None:
        self.path = path
        self._verifier = verifier

    def load(self) -> Checkpoint | None:
        """The stored checkpoint, verified; None if none is stored yet (first start).
        Raises AnchorUnreadable if the file is there but not a checkpoint of this log."""
        try:
            with self.path.open("rb") as stored:
                data = stored.read(_MAX_NOTE + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AnchorUnreadable(f"{self.path} cannot be read: {exc.strerror}") from exc
        if len(data) > _MAX_NOTE:
            raise AnchorUnreadable(f"{self.path} is too large for a checkpoint")
        try:
            return verify_checkpoint(data.decode(), self._verifier)
        except (UnicodeDecodeError, CheckpointError) as exc:
            raise AnchorUnreadable(f"{self.path} does not verify: {exc}") from exc

    def store(self, note: str) -> None:
        """Keep ``note`` (a signed checkpoint already verified) as the anchor: written to a
        new file, synced, then renamed over the old one, so a crash leaves either anchor
        whole, never a torn one that would read as tampered with."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(note.encode())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)


def alarm_between(old: Checkpoint, new: Checkpoint, proof_failure: str | None) -> Alarm | None:
    """The alarm, if ``new`` does not extend ``old``: ``proof_failure`` is what the
    consistency proof from ``old`` to ``new`` said (None: it verified; not asked when the
    log shrank)."""
    if new.size < old.size:
        message = f"the log shrank from {old.size} to {new.size} records"
        return Alarm(AlarmKind.SHRANK, message, old)
    if proof_failure is not None:
        message = f"the log is not an extension of the checkpoint of size {old.size}: "
        return Alarm(AlarmKind.FORKED, message + proof_failure, old)
    return None
