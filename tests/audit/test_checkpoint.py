"""Signed checkpoints round-trip and every tamper is refused."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jembatan.audit.checkpoint import (
    ORIGIN,
    Checkpoint,
    CheckpointError,
    key_id,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)

KEY = Ed25519PrivateKey.generate()
VERIFIER = verifier_key(ORIGIN, KEY.public_key())
CHECKPOINT = Checkpoint(ORIGIN, 1234, hashlib.sha256(b"root").digest())


def test_round_trip_and_format() -> None:
    note = sign_checkpoint(CHECKPOINT, KEY)
    assert verify_checkpoint(note, VERIFIER) == CHECKPOINT
    lines = note.split("\n")
    assert lines[:3] == [ORIGIN, "1234", base64.b64encode(CHECKPOINT.root_hash).decode()]
    assert lines[3] == ""  # the blank line ending the note text
    assert lines[4].startswith("\u2014 " + ORIGIN + " ")
    stamp = base64.b64decode(lines[4].rsplit(" ", 1)[1])
    assert stamp[:4] == key_id(ORIGIN, KEY.public_key()) and len(stamp) == 4 + 64
    KEY.public_key().verify(stamp[4:], CHECKPOINT.body())  # checkable without our parser


def test_verifier_key_names_its_own_id() -> None:
    name, key = parse_verifier_key(VERIFIER)
    assert name == ORIGIN and key.public_bytes_raw() == KEY.public_key().public_bytes_raw()
    name_part, _, encoded = VERIFIER.split("+", 2)
    with pytest.raises(CheckpointError, match="id does not match"):
        parse_verifier_key(f"{name_part}+00000000+{encoded}")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda n: n.replace("\n1234\n", "\n1235\n"), "does not verify"),
        (lambda n: n.replace(ORIGIN + "\n", "evil.example/log\n", 1), "does not verify"),
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n.split("\n\n")[0] + "\n\n", "no signature"),
        (lambda n: n.replace("\u2014 ", "- "), "malformed signature"),
    ],
    ids=["size", "origin", "no-blank-line", "unsigned", "bad-prefix"],
)
def test_tampered_checkpoints_are_refused(tamper, message) -> None:  # type: ignore[no-untyped-def]
    note = sign_checkpoint(CHECKPOINT, KEY)
    with pytest.raises(CheckpointError, match=message):
        verify_checkpoint(tamper(note), VERIFIER)


def test_a_checkpoint_signed_by_another_key_is_refused() -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(CheckpointError, match="no signature by"):
        verify_checkpoint(sign_checkpoint(CHECKPOINT, other), VERIFIER)


def test_other_witness_signatures_are_skipped() -> None:
    witness = Ed25519PrivateKey.generate()
    ours = sign_checkpoint(CHECKPOINT, KEY)
    cosigned = (
        ours
        + sign_checkpoint(
            Checkpoint("witness.example", CHECKPOINT.size, CHECKPOINT.root_hash), witness
        ).split("\n\n")[1]
    )
    assert verify_checkpoint(cosigned, VERIFIER) == CHECKPOINT
