"""How the console judges a required quorum of witnesses on the checkpoints it fetches: met
only with enough valid cosignatures, waiting while the missing witnesses are still fresh,
not met once too few of them are; a forged cosignature is refused, never counted."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.console.witnesses import QuorumState, Witnesses
from jembatan.audit.checkpoint import CheckpointError
from jembatan.audit.witness import Cosigner, cosign, with_signatures
from tests.witness.conftest import Log

STALE_AFTER_S = 60.0
BSSN, MENPAN = "witness.bssn.go.id/jembatan", "witness.menpan.go.id/jembatan"


@pytest.fixture
def log() -> Log:
    return Log(Ed25519PrivateKey.generate()).append(*(f"record {i}" for i in range(5)))


@pytest.fixture
def keys() -> dict[str, Ed25519PrivateKey]:
    return {BSSN: Ed25519PrivateKey.generate(), MENPAN: Ed25519PrivateKey.generate()}


def _witnesses(log: Log, keys: dict[str, Ed25519PrivateKey], quorum: int) -> Witnesses:
    cosigners = [Cosigner.of(name, key.public_key()) for name, key in keys.items()]
    return Witnesses(log.vkey, cosigners, quorum=quorum, stale_after_s=STALE_AFTER_S)


def _cosigned(note: str, keys: dict[str, Ed25519PrivateKey], *names: str, at: int = 1) -> str:
    return with_signatures(note, [cosign(note, name, keys[name], at) for name in names])


def test_the_quorum_is_met_waiting_then_not_met(
    log: Log, keys: dict[str, Ed25519PrivateKey]
) -> None:
    witnesses = _witnesses(log, keys, quorum=2)
    quorum = witnesses.observe(_cosigned(log.note(), keys, BSSN, MENPAN), now=1000)
    assert (quorum.state, quorum.cosigned) == (QuorumState.MET, (BSSN, MENPAN))

    # The log grows; only BSSN has cosigned the new checkpoint so far.
    log.append("record 5")
    note = _cosigned(log.note(), keys, BSSN, at=1010)
    quorum = witnesses.observe(note, now=1010)
    assert (quorum.state, quorum.missing) == (QuorumState.WAITING, (MENPAN,))
    # Still missing a minute later: Kemenpan's witness is stale, the quorum not met.
    quorum = witnesses.observe(note, now=1010 + STALE_AFTER_S + 1)
    assert quorum.state == QuorumState.NOT_MET
    status = {s.name: s for s in witnesses.status(1010 + STALE_AFTER_S + 1)}
    assert status[MENPAN].stale and status[MENPAN].size == 5
    assert not status[BSSN].stale and status[BSSN].size == 6


def test_a_forged_cosignature_is_refused_not_counted(
    log: Log, keys: dict[str, Ed25519PrivateKey]
) -> None:
    witnesses = _witnesses(log, keys, quorum=1)
    other = log.fork(3).append("forged")  # the witness cosigned another history
    line = cosign(other.note(4), BSSN, keys[BSSN], 1)
    # The witness's name and key id on a signature over other text: a forgery (or a changed
    # note), not merely "not cosigned".
    forged = log.note() + line
    with pytest.raises(CheckpointError, match="does not verify"):
        witnesses.observe(forged, now=1000)


def test_a_quorum_the_witnesses_cannot_meet_is_refused(
    log: Log, keys: dict[str, Ed25519PrivateKey]
) -> None:
    with pytest.raises(ValueError, match="--quorum 3: cannot be met by 2"):
        _witnesses(log, keys, quorum=3)
