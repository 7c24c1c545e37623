"""Independent verification of the audit log: from an export, a checkpoint and the hub's
verifier key alone, recompute the tree and name the first record that is not what the
signed checkpoint committed to.

An export lists, for every index below the checkpoint's size, the leaf hash the tree
committed to (from the hub's tree nodes) and the record as stored. The committed leaf
hashes must hash to the signed root, which an attacker who rewrites storage cannot forge;
then each record must hash to its committed leaf, and the first that does not is a changed,
deleted, inserted or reordered record. Imports only the pure parts: an auditor runs it
without a hub, a database or any key but the public one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from hub.audit.checkpoint import Checkpoint, verify_checkpoint
from hub.audit.merkle import root_of
from hub.audit.record import leaf_hash
from hub.errors import JembatanError

EXPORT_FORMAT = "jembatan-audit-export/1"


class VerificationFailed(JembatanError):
    """The log is not what the checkpoint says; names the first bad record when it can."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message if index is None else f"record {index}: {message}")
        self.index = index


def export_lines(
    tree_size: int, entries: Iterable[tuple[int, bytes, bytes | None]]
) -> Iterator[str]:
    """JSON Lines: a header naming the tree size, then per index its committed leaf hash
    and its stored record (null where storage has none)."""
    yield json.dumps({"format": EXPORT_FORMAT, "tree_size": tree_size})
    for index, committed_leaf, record in entries:
        yield json.dumps(
            {
                "index": index,
                "leaf_hash": committed_leaf.hex(),
                # surrogateescape: a tampered, non-UTF-8 record is exported byte for byte,
                # and then fails its leaf check instead of crashing the export.
                "record": None if record is None else record.decode("utf-8", "surrogateescape"),
            },
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class Verified:
    checkpoint: Checkpoint
    records: int
    consistent_with: Checkpoint | None


def verify_export(
    lines: Iterable[str],
    checkpoint_note: str,
    verifier: str,
    *,
    earlier_note: str | None = None,
) -> Verified:
    """Check an export of the whole log against a signed checkpoint and, if given, that an
    earlier checkpoint is a prefix of it (no fork). Raises VerificationFailed."""
    checkpoint = verify_checkpoint(checkpoint_note, verifier)
    earlier = verify_checkpoint(earlier_note, verifier) if earlier_note else None
    iterator = iter(lines)
    _read_header(iterator, checkpoint)
    committed: list[bytes] = []
    first_bad: tuple[int, str] | None = None
    for number, line in enumerate(iterator):
        index, leaf, record = _parse_line(number, line)
        if index != len(committed):
            raise VerificationFailed(f"export out of sequence: found index {index}", len(committed))
        committed.append(leaf)
        if first_bad is None:
            problem = _record_problem(leaf, record)
            if problem:
                first_bad = (index, problem)
    if len(committed) != checkpoint.size:
        raise VerificationFailed(
            f"truncated: {len(committed)} records exported, the checkpoint covers {checkpoint.size}"
        )
    # Only once the committed leaves are proven by the signed root do they vouch for records.
    if root_of(committed) != checkpoint.root_hash:
        raise VerificationFailed(
            "the log's tree does not hash to the signed root: its history was rewritten"
        )
    if first_bad is not None:
        raise VerificationFailed(first_bad[1], first_bad[0])
    if earlier is not None and (
        earlier.size > checkpoint.size or root_of(committed[: earlier.size]) != earlier.root_hash
    ):
        raise VerificationFailed(
            f"fork: the first {earlier.size} records are not the log the earlier checkpoint signed"
        )
    return Verified(checkpoint, len(committed), earlier)


def _read_header(lines: Iterator[str], checkpoint: Checkpoint) -> None:
    try:
        header = json.loads(next(lines))
    except (StopIteration, ValueError) as exc:
        raise VerificationFailed("export has no header line") from exc
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise VerificationFailed(f"not a {EXPORT_FORMAT} export")
    if header.get("tree_size") != checkpoint.size:
        raise VerificationFailed(
            f"export is for a tree of {header.get('tree_size')}, the checkpoint for "
            f"{checkpoint.size}"
        )


def _parse_line(number: int, line: str) -> tuple[int, bytes, bytes | None]:
    try:
        doc = json.loads(line)
        record = doc["record"]
        return (
            int(doc["index"]),
            bytes.fromhex(doc["leaf_hash"]),
            None if record is None else record.encode("utf-8", "surrogateescape"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationFailed(f"line {number + 2} of the export is malformed") from exc


def _record_problem(committed_leaf: bytes, record: bytes | None) -> str | None:
    if record is None:
        return "deleted: the tree committed to it, storage has no record"
    if leaf_hash(record) != committed_leaf:
        return "changed, inserted or moved: it does not hash to the leaf the tree committed to"
    return None
