"""A witness process (``jembatan witness serve``) over real HTTP: it cosigns a log that grows
honestly, and refuses, one by one, what a misbehaving log or a broken request sends."""

from __future__ import annotations

import base64
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jembatan.audit.checkpoint import Checkpoint, sign_checkpoint
from jembatan.audit.merkle import root_of
from jembatan.audit.witness import (
    SIZE_CONTENT_TYPE,
    add_checkpoint_body,
    verify_cosigned,
    verify_quorum,
    with_signatures,
)
from tests.witness.conftest import Log, RunningWitness, start_witness


def _latest(witness: RunningWitness) -> str:
    url = f"{witness.url}/checkpoint?origin=jembatan.splp.go.id/audit-log"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())


def test_a_first_checkpoint_is_cosigned_with_a_timestamp(witness: RunningWitness, log: Log) -> None:
    answer = witness.post(log.request(0))
    assert answer.status == 200, answer.text
    cosigned = verify_quorum(
        with_signatures(log.note(), [answer.text]), log.vkey, [witness.cosigner], 1
    )
    assert cosigned.checkpoint.size == 5
    assert abs(cosigned.cosigned_at[witness.cosigner.name] - time.time()) < 60


def test_growth_is_cosigned_and_remembered_across_a_restart(
    tmp_path: Path, witness: RunningWitness, log: Log
) -> None:
    assert witness.post(log.request(0)).status == 200
    log.append("record 5", "record 6", "record 7", "record 8")
    assert witness.post(log.request(5)).status == 200
    witness.stop()
    again = start_witness(witness.directory, [log.vkey])
    try:
        # A log that does not know what the witness holds asks with old 0, and is told.
        answer = again.post(log.request(0))
        assert (answer.status, answer.text, answer.content_type) == (409, "9\n", SIZE_CONTENT_TYPE)
        cosigned = verify_cosigned(_latest(again), log.vkey, [witness.cosigner])
        assert cosigned.checkpoint.size == 9 and witness.cosigner.name in cosigned.cosigned_at
    finally:
        again.stop()


def test_a_rollback_is_refused(witness: RunningWitness, log: Log) -> None:
    log.append("record 5", "record 6")
    assert witness.post(log.request(0)).status == 200
    # The log shows the witness an older checkpoint of itself: smaller than what it cosigned.
    answer = witness.post(log.request(0, size=5))
    assert (answer.status, answer.text) == (409, "7\n")
    answer = witness.post(add_checkpoint_body(7, [], log.note(5)))
    assert answer.status == 400 and "beyond" in answer.text
    assert verify_cosigned(_latest(witness), log.vkey, []).checkpoint.size == 7


def test_a_fork_at_the_same_size_is_refused(witness: RunningWitness, log: Log) -> None:
    assert witness.post(log.request(0)).status == 200
    fork = log.fork(4).append("another record 4")
    answer = witness.post(fork.request(5))
    assert (answer.status, answer.text, answer.content_type) == (409, "5\n", SIZE_CONTENT_TYPE)
    kept = verify_cosigned(_latest(witness), log.vkey, []).checkpoint
    assert kept.root_hash == root_of(log.leaves)


def test_a_fork_that_grew_is_refused_for_its_proof(witness: RunningWitness, log: Log) -> None:
    assert witness.post(log.request(0)).status == 200
    fork = log.fork(3).append("x", "y", "z")  # size 6, its first 5 are not the cosigned 5
    answer = witness.post(fork.request(5))
    assert answer.status == 422 and "consistency" in answer.text
    assert verify_cosigned(_latest(witness), log.vkey, []).checkpoint.size == 5


def test_a_changed_proof_is_refused(witness: RunningWitness, log: Log) -> None:
    assert witness.post(log.request(0)).status == 200
    log.append("record 5", "record 6")
    old, *rest = log.request(5).split(b"\n", 2)
    first_hash = bytearray(base64.b64decode(rest[0]))
    first_hash[0] ^= 1
    body = b"\n".join([old, base64.b64encode(bytes(first_hash)), rest[1]])
    assert witness.post(body).status == 422
    assert witness.post(log.request(5)).status == 200  # the honest proof still goes


def test_a_proof_with_old_size_zero_is_refused(witness: RunningWitness, log: Log) -> None:
    body = add_checkpoint_body(0, [root_of(log.leaves[:1])], log.note())
    assert witness.post(body).status == 422


def test_an_unknown_log_is_404_and_another_key_403(witness: RunningWitness, log: Log) -> None:
    other_origin = sign_checkpoint(Checkpoint("example.org/log", 5, root_of(log.leaves)), log.key)
    assert witness.post(add_checkpoint_body(0, [], other_origin)).status == 404
    impostor = Log(Ed25519PrivateKey.generate(), list(log.leaves))
    assert witness.post(impostor.request(0)).status == 403
    # Nothing was cosigned: the honest log's first checkpoint is still welcome from 0.
    assert witness.post(log.request(0)).status == 200


def test_malformed_requests_are_400(witness: RunningWitness, log: Log) -> None:
    note = log.note().encode()
    for body in (
        b"hello",
        b"old 00\n\n" + note,
        b"old -1\n\n" + note,
        b"new 0\n\n" + note,
        b"old 0\nnot base64!\n\n" + note,
        b"old 0\n" + base64.b64encode(b"short") + b"\n\n" + note,
        b"old 0\n\n" + note.replace(b"\n\n", b"\n"),
        b"\xff\xfe",
    ):
        assert witness.post(body).status == 400, body
    assert witness.post(log.request(0)).status == 200
