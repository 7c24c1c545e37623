"""A chosen set of records (a search's results, a case file), each with its inclusion proof
against one signed checkpoint, verifies on its own — and each way of tampering with one is
caught and names the line and the record."""

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
from jembatan.audit.verify import VerificationFailed, set_export_lines, verify_set_export

SIZE = 41
KEY = Ed25519PrivateKey.generate()
VERIFIER = verifier_key(ORIGIN, KEY.public_key())
CHOSEN = [30, 2, 17, 40, 0]  # newest first, gaps, both ends of the tree


def _records() -> list[bytes]:
    return [json.dumps({"n": i, "purpose": "bansos-eligibility"}).encode() for i in range(SIZE)]


def _note(key: Ed25519PrivateKey = KEY) -> tuple[str, tree.MemoryNodes]:
    nodes = tree.MemoryNodes()
    nodes.put(tree.new_nodes(0, [leaf_hash(r) for r in _records()], nodes.node))
    return sign_checkpoint(Checkpoint(ORIGIN, SIZE, tree.root(SIZE, nodes)), key), nodes


def _export(chosen: list[int] = CHOSEN, key: Ed25519PrivateKey = KEY) -> list[str]:
    records = _records()
    note, nodes = _note(key)
    entries = [(i, records[i], tree.inclusion_proof(i, SIZE, nodes)) for i in chosen]
    return list(
        set_export_lines(note, SIZE, entries, count=len(chosen), description="search: purpose")
    )


def _edit(lines: list[str], number: int, **changes: object) -> list[str]:
    doc = json.loads(lines[number])
    doc.update(changes)
    return [*lines[:number], json.dumps(doc), *lines[number + 1 :]]


def _fails(lines: list[str], words: str, line: int | None, index: int | None) -> str:
    with pytest.raises(VerificationFailed, match=words) as failure:
        verify_set_export(lines, VERIFIER)
    assert (failure.value.line, failure.value.index) == (line, index)
    return str(failure.value)


def test_an_untouched_set_verifies_in_its_own_order() -> None:
    proven = verify_set_export(_export(), VERIFIER)
    assert proven.indexes == tuple(CHOSEN) and proven.checkpoint.size == SIZE
    assert proven.description == "search: purpose"
    assert verify_set_export(_export([]), VERIFIER).indexes == ()


def test_a_changed_record_is_named_by_line_and_index() -> None:
    lines = _export()
    doc = json.loads(lines[3])
    changed = doc["record"].replace("bansos-eligibility", "bansos-emergency")
    message = _fails(_edit(lines, 3, record=changed), "not the one the signed log holds", 4, 17)
    assert message.startswith("line 4 (record 17): ")


def test_a_changed_record_with_its_leaf_hash_recomputed_is_caught() -> None:
    lines = _export()
    changed = json.loads(lines[2])["record"].replace("eligibility", "emergency")
    forged = _edit(lines, 2, record=changed, leaf_hash=leaf_hash(changed.encode()).hex())
    _fails(forged, "not the one the signed log holds", 3, 2)


def test_a_record_moved_to_another_index_is_caught() -> None:
    _fails(_edit(_export(), 1, index=31), "not the one the signed log holds", 2, 31)


def test_a_removed_added_or_repeated_line_is_caught() -> None:
    lines = _export()
    _fails([*lines[:2], *lines[3:]], "holds 4 records, its header says 5", None, None)
    _fails([*lines, lines[1]], "appears twice", 7, 30)


def test_a_wrong_leaf_hash_a_bad_proof_and_an_index_outside_are_caught() -> None:
    lines = _export()
    _fails(_edit(lines, 5, leaf_hash="00" * 32), "leaf_hash is not the record's hash", 6, 0)
    _fails(_edit(lines, 4, proof=[]), "not the one the signed log holds", 5, 40)
    _fails(_edit(lines, 1, index=SIZE), "covers records 0 to 40", 2, SIZE)
    _fails(_edit(lines, 1, proof="zz"), "line 2 of the export has no readable proof", None, None)
    _fails([*lines[:1], "{not json"], "line 2 of the export is not JSON", None, None)


def test_a_checkpoint_from_another_key_or_another_header_is_refused() -> None:
    with pytest.raises(CheckpointError):
        verify_set_export(_export(key=Ed25519PrivateKey.generate()), VERIFIER)
    lines = _export()
    _fails(_edit(lines, 0, tree_size=SIZE + 1), "names a tree of 42", None, None)
    _fails(
        _edit(lines, 0, format="jembatan-audit-range/1"), "not a jembatan-audit-set/1", None, None
    )
    _fails(lines[1:], "not a jembatan-audit-set/1", None, None)
    other, _ = _note(Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError):
        verify_set_export(lines, VERIFIER, checkpoint_note=other)
