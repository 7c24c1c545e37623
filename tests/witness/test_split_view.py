"""A log that shows two witnesses two different histories is caught: by comparing what
they cosigned (``jembatan witness check``), and by either witness when shown the other."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jembatan.audit.merkle import consistency_proof
from jembatan.audit.witness import find_splits, with_signatures
from tests.witness.conftest import Log, RunningWitness, start_witness


@pytest.fixture
def second(tmp_path: Path, log: Log) -> Iterator[RunningWitness]:
    running = start_witness(tmp_path / "w2", [log.vkey], name="witness.kemenpan.go.id/w2")
    yield running
    running.stop()


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "witness", "check", *args],
        capture_output=True,
        text=True,
    )


def _keys(*witnesses: RunningWitness) -> list[str]:
    return [arg for w in witnesses for arg in ("--witness", w.cosigner.verifier_key())]


def test_two_views_of_one_size_are_a_split(
    witness: RunningWitness, second: RunningWitness, log: Log
) -> None:
    other = log.fork(3).append("x", "y")  # same key, same size 5, another history
    assert witness.post(log.request(0)).status == 200
    assert second.post(other.request(0)).status == 200

    result = _check(witness.url, second.url, "--key", log.vkey, *_keys(witness, second))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "split view" in result.stdout and "one size, two roots" in result.stdout
    assert witness.cosigner.name in result.stdout and second.cosigner.name in result.stdout
    assert "histories" in result.stderr

    # Each witness, shown the other view, refuses it.
    assert witness.post(other.request(5)).status == 409
    assert second.post(log.request(5)).status == 409


def test_one_view_is_no_split(witness: RunningWitness, second: RunningWitness, log: Log) -> None:
    assert witness.post(log.request(0)).status == 200
    assert second.post(log.request(0)).status == 200
    result = _check(witness.url, second.url, "--key", log.vkey, *_keys(witness, second))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no split view among 2 checkpoints" in result.stdout


def test_views_of_different_sizes_need_a_proof_and_it_fails(
    tmp_path: Path, witness: RunningWitness, second: RunningWitness, log: Log
) -> None:
    other = log.fork(3).append("x", "y", "z", "w")  # size 7
    first = witness.post(log.request(0))
    other_answer = second.post(other.request(0))
    notes = [
        with_signatures(log.note(), [first.text]),
        with_signatures(other.note(), [other_answer.text]),
    ]
    cosigners = [witness.cosigner, second.cosigner]
    splits, unchecked = find_splits(notes, log.vkey, cosigners)
    assert (splits, unchecked) == ([], [(5, 7)])
    # Whoever proves 5 → 7 proves it from one history: the other side's root cannot match.
    splits, unchecked = find_splits(
        notes, log.vkey, cosigners, prove=lambda old, new: consistency_proof(old, new, other.leaves)
    )
    assert len(splits) == 1 and unchecked == []
    assert splits[0].first_witnesses == (witness.cosigner.name,)
    assert splits[0].second_witnesses == (second.cosigner.name,)
    # From files, as a client that collected them would run it: not compared, said so.
    paths = []
    for i, note in enumerate(notes):
        path = tmp_path / f"c{i}"
        path.write_text(note)
        paths.append(str(path))
    result = _check(*paths, "--key", log.vkey, *_keys(witness, second))
    assert result.returncode == 0 and "sizes 5 and 7 not compared" in result.stdout
