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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jembatan.audit.checkpoint import Checkpoint, verify_checkpoint
from jembatan.audit.merkle import ProofError, root_of, verify_inclusion
from jembatan.audit.record import leaf_hash
from jembatan.errors import JembatanError

EXPORT_FORMAT = "jembatan-audit-export/1"
RANGE_FORMAT = "jembatan-audit-range/1"
SET_FORMAT = "jembatan-audit-set/1"


class VerificationFailed(JembatanError):
    """The log is not what the checkpoint says; names the first bad record when it can."""

    def __init__(self, message: str, index: int | None = None, line: int | None = None) -> None:
        where = f"record {index}" if index is not None else ""
        if line is not None:  # exports whose records come in any order: the line first
            where = f"line {line}" + (f" (record {index})" if index is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.index = index
        self.line = line


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


# --- a range of the log, each record with its own proof ------------------------------------


def range_export_lines(
    checkpoint_note: str,
    tree_size: int,
    start: int,
    end: int,
    entries: Iterable[tuple[int, bytes, bytes | None]],
    proofs: Iterable[Sequence[bytes]],
) -> Iterator[str]:
    """JSON Lines for records [start, end): a header carrying the signed checkpoint of
    ``tree_size``, then per index its committed leaf hash, its stored record and the leaf's
    inclusion proof in that checkpoint. Each line stands on its own: an officer can hand
    over a slice of the log that is verifiable without the rest."""
    yield json.dumps(
        {
            "format": RANGE_FORMAT,
            "tree_size": tree_size,
            "start": start,
            "end": end,
            "checkpoint": checkpoint_note,
        }
    )
    for (index, committed_leaf, record), proof in zip(entries, proofs, strict=True):
        yield json.dumps(
            {
                "index": index,
                "leaf_hash": committed_leaf.hex(),
                "record": None if record is None else record.decode("utf-8", "surrogateescape"),
                "proof": [h.hex() for h in proof],
            },
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class VerifiedRange:
    checkpoint: Checkpoint
    start: int
    end: int


def verify_range_export(
    lines: Iterable[str], verifier: str, *, checkpoint_note: str | None = None
) -> VerifiedRange:
    """Check a range export: its checkpoint is signed by ``verifier`` (and is the one given,
    if any), every line's leaf is proven in that checkpoint, every record hashes to its leaf,
    and no index is missing. Raises VerificationFailed naming the first bad record."""
    iterator = iter(lines)
    header = _header(iterator, RANGE_FORMAT)
    try:
        checkpoint = verify_checkpoint(str(header["checkpoint"]), verifier)
        start, end = int(header["start"]), int(header["end"])
        tree_size = int(header["tree_size"])
    except (KeyError, ValueError, TypeError) as exc:
        raise VerificationFailed("the export's header is malformed") from exc
    if checkpoint_note is not None and verify_checkpoint(checkpoint_note, verifier) != checkpoint:
        raise VerificationFailed("the export is proven against another checkpoint than the given")
    if tree_size != checkpoint.size or not 0 <= start <= end <= checkpoint.size:
        raise VerificationFailed(
            f"the export's range [{start}, {end}) of a tree of {tree_size} does not fit its "
            f"checkpoint of {checkpoint.size}"
        )
    expected = start
    for number, line in enumerate(iterator):
        doc = _load(number, line)
        index, leaf, record = _fields(number, doc)
        if index != expected:
            raise VerificationFailed(f"export out of sequence: found index {index}", expected)
        try:
            verify_inclusion(
                index, checkpoint.size, leaf, _proof(number, doc), checkpoint.root_hash
            )
        except ProofError as exc:
            raise VerificationFailed(f"not in the signed tree: {exc}", index) from exc
        problem = _record_problem(leaf, record)
        if problem:
            raise VerificationFailed(problem, index)
        expected += 1
    if expected != end:
        raise VerificationFailed(
            f"truncated: the export stops at {expected}, its header says {end}"
        )
    return VerifiedRange(checkpoint, start, end)


def export_format(first_line: str) -> str:
    """The format an export's header line names (EXPORT_FORMAT, RANGE_FORMAT or SET_FORMAT)."""
    try:
        header = json.loads(first_line)
    except ValueError as exc:
        raise VerificationFailed("export has no header line") from exc
    name = header.get("format") if isinstance(header, dict) else None
    if name not in (EXPORT_FORMAT, RANGE_FORMAT, SET_FORMAT):
        raise VerificationFailed(f"not a {EXPORT_FORMAT}, {RANGE_FORMAT} or {SET_FORMAT} export")
    return str(name)


def _header(lines: Iterator[str], format_name: str) -> dict[str, Any]:
    try:
        header = json.loads(next(lines))
    except (StopIteration, ValueError) as exc:
        raise VerificationFailed("export has no header line") from exc
    if not isinstance(header, dict) or header.get("format") != format_name:
        raise VerificationFailed(f"not a {format_name} export")
    return header


def _read_header(lines: Iterator[str], checkpoint: Checkpoint) -> None:
    header = _header(lines, EXPORT_FORMAT)
    if header.get("tree_size") != checkpoint.size:
        raise VerificationFailed(
            f"export is for a tree of {header.get('tree_size')}, the checkpoint for "
            f"{checkpoint.size}"
        )


def _parse_line(number: int, line: str) -> tuple[int, bytes, bytes | None]:
    return _fields(number, _load(number, line))


def _load(number: int, line: str) -> dict[str, Any]:
    try:
        doc = json.loads(line)
    except ValueError as exc:
        raise VerificationFailed(f"line {number + 2} of the export is not JSON") from exc
    if not isinstance(doc, dict):
        raise VerificationFailed(f"line {number + 2} of the export is malformed")
    return doc


def _fields(number: int, doc: dict[str, Any]) -> tuple[int, bytes, bytes | None]:
    try:
        record = doc["record"]
        return (
            int(doc["index"]),
            bytes.fromhex(doc["leaf_hash"]),
            None if record is None else record.encode("utf-8", "surrogateescape"),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationFailed(f"line {number + 2} of the export is malformed") from exc


def _proof(number: int, doc: dict[str, Any]) -> list[bytes]:
    try:
        return [bytes.fromhex(h) for h in doc["proof"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise VerificationFailed(f"line {number + 2} of the export has no readable proof") from exc


def _record_problem(committed_leaf: bytes, record: bytes | None) -> str | None:
    if record is None:
        return "deleted: the tree committed to it, storage has no record"
    if leaf_hash(record) != committed_leaf:
        return "changed, inserted or moved: it does not hash to the leaf the tree committed to"
    return None


# --- a set of records (a search's results, a case), each with its proof ---------------------

# Above this many proof hashes a line is not a proof of any tree a log can hold (2**64 leaves).
_MAX_PROOF = 64


def set_export_lines(
    checkpoint_note: str,
    tree_size: int,
    entries: Iterable[tuple[int, bytes, Sequence[bytes]]],
    *,
    count: int,
    description: str = "",
) -> Iterator[str]:
    """JSON Lines for a chosen set of ``count`` records, in any order: a header carrying the
    signed checkpoint of ``tree_size`` (and a short description of what the set is, without
    any field value), then per record its index, its leaf hash, the record exactly as logged
    and the leaf's inclusion proof in that checkpoint."""
    yield json.dumps(
        {
            "format": SET_FORMAT,
            "tree_size": tree_size,
            "count": count,
            "description": description,
            "checkpoint": checkpoint_note,
        },
        ensure_ascii=False,
    )
    for index, record, proof in entries:
        yield json.dumps(
            {
                "index": index,
                "leaf_hash": leaf_hash(record).hex(),
                "record": record.decode("utf-8", "surrogateescape"),
                "proof": [h.hex() for h in proof],
            },
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class VerifiedSet:
    checkpoint: Checkpoint
    # The indexes proven, in the export's order.
    indexes: tuple[int, ...]
    description: str


def verify_set_export(
    lines: Iterable[str], verifier: str, *, checkpoint_note: str | None = None
) -> VerifiedSet:
    """Check a set export: its checkpoint is signed by ``verifier`` (and is the one given, if
    any); every line's record, hashed here, is proven by the line's inclusion proof to be the
    leaf at its index in that checkpoint; no index appears twice; and as many lines as the
    header counts (a line dropped or added is caught). Raises VerificationFailed naming the
    line and the record of the first failure."""
    iterator = iter(lines)
    header = _header(iterator, SET_FORMAT)
    try:
        checkpoint = verify_checkpoint(str(header["checkpoint"]), verifier)
        tree_size, count = int(header["tree_size"]), int(header["count"])
        description = str(header.get("description", ""))
    except (KeyError, ValueError, TypeError) as exc:
        raise VerificationFailed("the export's header (line 1) is malformed") from exc
    if checkpoint_note is not None and verify_checkpoint(checkpoint_note, verifier) != checkpoint:
        raise VerificationFailed("the export is proven against another checkpoint than the given")
    if tree_size != checkpoint.size:
        raise VerificationFailed(
            f"the export's header names a tree of {tree_size}, its checkpoint is of "
            f"{checkpoint.size}"
        )
    seen: list[int] = []
    proven: set[int] = set()
    for number, line in enumerate(iterator):
        doc = _load(number, line)
        index, leaf, record = _fields(number, doc)
        line_number = number + 2
        if index in proven:
            raise VerificationFailed("the record appears twice", index, line_number)
        if not 0 <= index < checkpoint.size:
            raise VerificationFailed(
                f"not in the checkpoint, which covers records 0 to {checkpoint.size - 1}",
                index,
                line_number,
            )
        if record is None:
            raise VerificationFailed("the record is missing", index, line_number)
        proof = _proof(number, doc)
        if len(proof) > _MAX_PROOF:
            raise VerificationFailed("the proof is too long to be one", index, line_number)
        # The record's own hash, not the line's leaf_hash: a changed record cannot bring a
        # matching leaf hash along and pass.
        try:
            verify_inclusion(index, checkpoint.size, leaf_hash(record), proof, checkpoint.root_hash)
        except ProofError as exc:
            raise VerificationFailed(
                f"the record, as exported, is not the one the signed log holds at that index"
                f" ({exc})",
                index,
                line_number,
            ) from exc
        if leaf != leaf_hash(record):
            raise VerificationFailed("its leaf_hash is not the record's hash", index, line_number)
        seen.append(index)
        proven.add(index)
    if len(seen) != count:
        raise VerificationFailed(
            f"the export holds {len(seen)} records, its header says {count}: lines were "
            f"removed or added"
        )
    return VerifiedSet(checkpoint, tuple(seen), description)
