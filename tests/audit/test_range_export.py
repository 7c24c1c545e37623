"""A range of the log, each record with its own inclusion proof, verifies on its own — and
each way of tampering with one is caught and names the record."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit import tree
from jembatan.audit.checkpoint import (
    ORIGIN,
    Checkpoint,
    CheckpointError,
    sign_checkpoint,
    verifier_key,
)
from jembatan.audit.record import leaf_hash
from jembatan.audit.verify import VerificationFailed, range_export_lines, verify_range_export

SIZE = 37
KEY = Ed25519PrivateKey.generate()
VERIFIER = verifier_key(ORIGIN, KEY.public_key())


def _records() -> list[bytes]:
    return [json.dumps({"n": i, "purpose": "bansos-eligibility"}).encode() for i in range(SIZE)]


def _export(start: int, end: int, key: Ed25519PrivateKey = KEY) -> list[str]:
    records = _records()
    nodes = tree.MemoryNodes()
    nodes.put(tree.new_nodes(0, [leaf_hash(r) for r in records], nodes.node))
    note = sign_checkpoint(Checkpoint(ORIGIN, SIZE, tree.root(SIZE, nodes)), key)
    entries = [(i, leaf_hash(records[i]), records[i]) for i in range(start, end)]
    proofs = [tree.inclusion_proof(i, SIZE, nodes) for i in range(start, end)]
    return list(range_export_lines(note, SIZE, start, end, entries, proofs))


def _edit(lines: list[str], number: int, **changes: object) -> list[str]:
    doc = json.loads(lines[number])
    doc.update(changes)
    return [*lines[:number], json.dumps(doc), *lines[number + 1 :]]


def _fails(lines: list[str], index: int | None, words: str, **options: str) -> None:
    with pytest.raises(VerificationFailed, match=words) as failure:
        verify_range_export(lines, VERIFIER, **options)
    assert failure.value.index == index


@pytest.mark.parametrize(("start", "end"), [(0, SIZE), (5, 6), (12, 30), (SIZE - 1, SIZE)])
def test_an_untouched_range_verifies(start: int, end: int) -> None:
    proven = verify_range_export(_export(start, end), VERIFIER)
    assert (proven.start, proven.end, proven.checkpoint.size) == (start, end, SIZE)


def test_a_changed_record_is_named() -> None:
    lines = _export(10, 20)
    _fails(_edit(lines, 4, record='{"n":13,"purpose":"other"}'), 13, "changed")


def test_a_changed_record_with_a_matching_leaf_is_not_in_the_signed_tree() -> None:
    forged = b'{"n":13,"purpose":"other"}'
    lines = _edit(_export(10, 20), 4, record=forged.decode(), leaf_hash=leaf_hash(forged).hex())
    _fails(lines, 13, "not in the signed tree")


def test_a_deleted_line_is_named_by_the_index_missing() -> None:
    lines = _export(10, 20)
    _fails([*lines[:3], *lines[4:]], 12, "out of sequence")


def test_reordered_lines_are_named() -> None:
    lines = _export(10, 20)
    _fails([lines[0], lines[2], lines[1], *lines[3:]], 10, "out of sequence")


def test_a_truncated_range_is_caught() -> None:
    _fails(_export(10, 20)[:-2], None, "truncated")


def test_an_altered_proof_is_caught() -> None:
    lines = _export(10, 20)
    proof = json.loads(lines[1])["proof"]
    _fails(_edit(lines, 1, proof=["00" * 32, *proof[1:]]), 10, "not in the signed tree")


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    with pytest.raises(CheckpointError):
        verify_range_export(_export(0, 5, key=Ed25519PrivateKey.generate()), VERIFIER)


def test_a_range_proven_against_another_checkpoint_than_the_trusted_one_is_refused() -> None:
    other = sign_checkpoint(Checkpoint(ORIGIN, SIZE, b"\x01" * 32), KEY)
    _fails(_export(0, 5), None, "another checkpoint", checkpoint_note=other)


def test_a_header_whose_range_exceeds_its_checkpoint_is_refused() -> None:
    lines = _edit(_export(0, 5), 0, end=SIZE + 3)
    _fails(lines, None, "does not fit")
