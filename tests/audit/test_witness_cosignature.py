"""Cosignatures (C2SP tlog-cosignature) as a verifier checks them: a quorum met or missing
by name, a forged or misplaced cosignature refused, keys that cannot pass for each other,
and a client's view of its witnesses' freshness."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jembatan.audit.checkpoint import (
    ORIGIN,
    Checkpoint,
    CheckpointError,
    sign_checkpoint,
    verifier_key,
    verify_checkpoint,
)
from jembatan.audit.witness import (
    Cosigner,
    QuorumNotMet,
    WitnessWatch,
    cosign,
    parse_cosigner_key,
    verify_quorum,
    with_signatures,
)

LOG = Ed25519PrivateKey.generate()
VKEY = verifier_key(ORIGIN, LOG.public_key())
KEYS = {name: Ed25519PrivateKey.generate() for name in ("bssn/w", "menpan/w", "bpk/w")}
COSIGNERS = [Cosigner.of(name, key.public_key()) for name, key in KEYS.items()]
T = 1_790_000_000


def _note(size: int, *, root: bytes | None = None) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root or bytes([size]) * 32), LOG)


def _cosigned(note: str, *names: str, at: int = T) -> str:
    return with_signatures(note, [cosign(note, name, KEYS[name], at) for name in names])


def test_a_quorum_is_met_and_the_times_read() -> None:
    note = _cosigned(_note(7), "bssn/w", "menpan/w", at=T + 5)
    cosigned = verify_quorum(note, VKEY, COSIGNERS, 2)
    assert cosigned.checkpoint.size == 7
    assert cosigned.cosigned_at == {"bssn/w": T + 5, "menpan/w": T + 5}
    assert cosigned.missing == ("bpk/w",)
    # A verifier knowing only the hub's key still reads the note as before.
    assert verify_checkpoint(note, VKEY).size == 7


def test_a_quorum_not_met_names_the_missing_witnesses() -> None:
    note = _cosigned(_note(7), "menpan/w")
    with pytest.raises(QuorumNotMet) as refused:
        verify_quorum(note, VKEY, COSIGNERS, 2)
    assert refused.value.missing == ("bssn/w", "bpk/w")
    assert "missing: bssn/w, bpk/w" in str(refused.value)
    with pytest.raises(CheckpointError, match="cannot be met"):
        verify_quorum(note, VKEY, COSIGNERS, 4)


def test_a_cosignature_of_another_checkpoint_or_time_does_not_verify() -> None:
    other = _note(8)
    moved = with_signatures(_note(7), [cosign(other, "bssn/w", KEYS["bssn/w"], T)])
    with pytest.raises(CheckpointError, match="cosignature by bssn/w does not verify"):
        verify_quorum(moved, VKEY, COSIGNERS, 1)
    line = cosign(_note(7), "bssn/w", KEYS["bssn/w"], T)
    raw = bytearray(base64.b64decode(line.split()[-1]))
    raw[11] ^= 1  # the timestamp's last byte: the time is signed too
    retimed = with_signatures(_note(7), [f"— bssn/w {base64.b64encode(bytes(raw)).decode()}"])
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_quorum(retimed, VKEY, COSIGNERS, 1)


def test_an_impostor_and_an_unknown_witness_count_for_nothing() -> None:
    impostor = Ed25519PrivateKey.generate()
    note = _note(7)
    # Same name, another key: another key id, so not the trusted witness's line.
    signed = with_signatures(note, [cosign(note, "bssn/w", impostor, T)])
    signed = with_signatures(signed, [cosign(note, "someone/else", impostor, T)])
    with pytest.raises(QuorumNotMet):
        verify_quorum(signed, VKEY, COSIGNERS, 1)


def test_a_log_key_and_a_witness_key_cannot_pass_for_each_other() -> None:
    witness_vkey = COSIGNERS[0].verifier_key()
    assert parse_cosigner_key(witness_vkey) == COSIGNERS[0]
    with pytest.raises(CheckpointError, match="not an Ed25519 cosignature/v1 key"):
        parse_cosigner_key(VKEY)
    with pytest.raises(CheckpointError):
        verify_checkpoint(_note(7), witness_vkey)


def test_a_client_watch_shows_a_witness_stale_only_while_a_checkpoint_waits() -> None:
    watch = WitnessWatch(VKEY, COSIGNERS[:2], stale_after_s=60)
    watch.observe(_cosigned(_note(5), "bssn/w", "menpan/w"), now=T)
    assert [(w.size, w.stale) for w in watch.status(T + 600)] == [(5, False), (5, False)]
    watch.observe(_cosigned(_note(9), "bssn/w", at=T + 100), now=T + 100)
    status = {w.name: w for w in watch.status(T + 130)}
    assert (status["bssn/w"].size, status["menpan/w"].size) == (9, 5)
    assert not status["menpan/w"].stale  # size 9 has waited 30 s
    # Kept across a restart as JSON.
    again = WitnessWatch(VKEY, COSIGNERS[:2], 60, json.loads(json.dumps(watch.state())))
    status = {w.name: w for w in again.status(T + 161)}
    assert status["menpan/w"].stale and not status["bssn/w"].stale
    assert status["bssn/w"].cosigned_at == T + 100
    with pytest.raises(CheckpointError):
        again.observe(_note(10).replace("\n10\n", "\n11\n"), now=T + 170)
