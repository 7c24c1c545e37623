"""A log of the test's own (the kernel's Merkle maths, signed with a key of the test's), so
a test can make it fork and roll back as no honest hub would, and real witness processes
(``jembatan witness serve``) on loopback sockets to show it to."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.dev.processes import RunningProcess, start_jembatan
from jembatan.audit.checkpoint import ORIGIN, Checkpoint, sign_checkpoint, verifier_key
from jembatan.audit.merkle import consistency_proof, hash_leaf, root_of
from jembatan.audit.witness import Cosigner, add_checkpoint_body, parse_cosigner_key


@dataclass
class Log:
    """A transparency log in memory, signed by ``key``: enough of a log to fork."""

    key: Ed25519PrivateKey
    leaves: list[bytes] = field(default_factory=list)

    @property
    def vkey(self) -> str:
        return verifier_key(ORIGIN, self.key.public_key())

    def append(self, *records: str) -> Log:
        self.leaves += [hash_leaf(r.encode()) for r in records]
        return self

    def fork(self, at: int) -> Log:
        """The same log (same key) with only the first ``at`` records: to grow otherwise."""
        return Log(self.key, self.leaves[:at])

    def note(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return sign_checkpoint(Checkpoint(ORIGIN, size, root_of(self.leaves[:size])), self.key)

    def request(self, old: int, size: int | None = None) -> bytes:
        size = len(self.leaves) if size is None else size
        proof = consistency_proof(old, size, self.leaves) if 0 < old < size else []
        return add_checkpoint_body(old, proof, self.note(size))


@dataclass
class Answer:
    status: int
    text: str
    content_type: str


@dataclass
class RunningWitness:
    process: RunningProcess
    directory: Path
    cosigner: Cosigner

    @property
    def url(self) -> str:
        return self.process.address

    def post(self, body: bytes) -> Answer:
        request = urllib.request.Request(f"{self.url}/add-checkpoint", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return Answer(
                    answer.status, answer.read().decode(), answer.headers.get_content_type()
                )
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(), error.headers.get_content_type())

    def stop(self) -> None:
        self.process.stop()


def init_witness(directory: Path, name: str) -> Cosigner:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "witness",
            "init",
            "--dir",
            str(directory),
            "--name",
            name,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_cosigner_key(result.stdout.strip())


def start_witness(
    directory: Path, log_vkeys: list[str], *, listen: str = "127.0.0.1:0", name: str = ""
) -> RunningWitness:
    cosigner = init_witness(directory, name) if name else None
    args = ["witness", "serve", "--dir", str(directory), "--listen", listen]
    for vkey in log_vkeys:
        args += ["--log", vkey]
    process = start_jembatan(f"witness {directory.name}", args)
    if cosigner is None:
        cosigner = parse_cosigner_key((directory / "witness.vkey").read_text())
    return RunningWitness(process, directory, cosigner)


@pytest.fixture
def log() -> Log:
    return Log(Ed25519PrivateKey.generate()).append(*(f"record {i}" for i in range(5)))


@pytest.fixture
def witness(tmp_path: Path, log: Log) -> Iterator[RunningWitness]:
    running = start_witness(tmp_path / "w1", [log.vkey], name="witness.bssn.go.id/w1")
    yield running
    running.stop()
