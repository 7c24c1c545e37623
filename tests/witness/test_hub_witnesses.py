"""A real hub with real witnesses: the hub asks them after each checkpoint and serves
checkpoints carrying their cosignatures; `jembatan audit verify` and the client SDK require
a quorum and name the witnesses missing; a witness offline never stops the log, and shows
stale in the hub's metrics."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jembatan.audit.witness import Cosigner, QuorumNotMet, verify_cosigned
from tests.stack import Stack, employment_query, start_stack, still_serves
from tests.witness.conftest import RunningWitness, init_witness, start_witness

STALE_AFTER_S = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    stack: Stack
    vkey: str
    w1: RunningWitness
    w2: RunningWitness
    w3: Cosigner  # configured in the hub, never started: offline from the first day
    w4: Cosigner  # configured, its port accepts connections and never answers: hung


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("witnessed")
    names = (
        "witness.bssn.go.id/jembatan",
        "witness.menpan.go.id/jembatan",
        "witness.bpk.go.id/x",
        "witness.hung.example/x",
    )
    keys = [init_witness(root / f"w{i}", name) for i, name in enumerate(names, 1)]
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    ports = [_free_port() for _ in names[:3]] + [int(hung.getsockname()[1])]
    hub_args = ["--witness-stale-after", str(STALE_AFTER_S), "--witness-timeout", "1"]
    for port, key in zip(ports, keys, strict=True):
        hub_args += ["--witness", f"http://127.0.0.1:{port}={key.verifier_key()}"]
    stack = start_stack(root / "home", hub_args=hub_args)
    vkey = stack.home.log_verifier_key.read_text().strip()
    # The witnesses start after the hub: the hub keeps asking until they answer.
    w1, w2 = (
        start_witness(root / f"w{i}", [f"@{stack.home.log_verifier_key}"], listen=f"127.0.0.1:{p}")
        for i, p in ((1, ports[0]), (2, ports[1]))
    )
    yield Deployment(stack, vkey, w1, w2, keys[2], keys[3])
    hung.close()
    for process in (w1, w2):
        process.stop()
    stack.hub.stop()
    stack.sim.stop()


def _jembatan(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _witness_metrics(stack: Stack) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(stack.metrics_url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, sample.labels["witness"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("jembatan_witness_")
        for sample in family.samples
    }


def _eventually(condition: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.2)


def test_checkpoints_carry_cosignatures_and_a_quorum_is_required(deployment: Deployment) -> None:
    stack, vkey, w1, w2, w3 = (
        deployment.stack,
        deployment.vkey,
        deployment.w1.cosigner,
        deployment.w2.cosigner,
        deployment.w3,
    )
    nik = stack.people.employed
    token, _ = stack.consent(nik)

    async def through_the_sdk() -> None:
        async with stack.client() as client:
            answer = await employment_query(client, nik, token)
            proven = await client.verify_recorded(answer, vkey, witnesses=[w1, w2], wait_s=20)
            assert proven.size > answer.log_index
            with pytest.raises(QuorumNotMet) as refused:
                await client.checkpoint(vkey, witnesses=[w1, w2, w3], quorum=3, wait_s=1)
            assert refused.value.missing == (w3.name,)
            assert w3.name in str(refused.value)

    asyncio.run(through_the_sdk())

    # Once the log is quiet, its latest checkpoint is cosigned by both witnesses that run.
    def quiet_and_cosigned() -> bool:
        size = stack.log_size()
        out = stack.home.root / "latest.checkpoint"
        assert _jembatan(stack.home.root, "audit", "checkpoint", "--out", str(out)).returncode == 0
        cosigned = verify_cosigned(out.read_text(), vkey, [w1, w2, w3])
        return cosigned.checkpoint.size == size and len(cosigned.cosigned_at) == 2

    _eventually(quiet_and_cosigned)
    export = stack.home.root / "log.jsonl"
    assert _jembatan(stack.home.root, "audit", "export", "--out", str(export)).returncode == 0
    checkpoint = f"{export}.checkpoint"

    def verify(*witness_args: str) -> subprocess.CompletedProcess[str]:
        return _jembatan(
            stack.home.root, "audit", "verify", str(export), "--checkpoint", checkpoint,
            "--key", vkey, *witness_args,
        )  # fmt: skip

    both = ["--witness", w1.verifier_key(), "--witness", w2.verifier_key()]
    met = verify(*both)
    assert met.returncode == 0, met.stderr
    assert "cosigned by 2 of 2 witnesses" in met.stdout
    missing = verify(*both, "--witness", w3.verifier_key())  # all three by default
    assert missing.returncode == 1
    assert "witness quorum not met" in missing.stderr and f"missing: {w3.name}" in missing.stderr
    two_of_three = verify(*both, "--witness", w3.verifier_key(), "--quorum", "2")
    assert two_of_three.returncode == 0, two_of_three.stderr
    assert "cosigned by 2 of 3 witnesses" in two_of_three.stdout


def test_a_witness_offline_never_stops_the_log_and_shows_stale(deployment: Deployment) -> None:
    stack, w1, w2, w3 = deployment.stack, deployment.w1, deployment.w2, deployment.w3
    asyncio.run(still_serves(stack))
    offline_names = (w3.name, deployment.w4.name)
    _eventually(
        lambda: all(
            _witness_metrics(stack)[("jembatan_witness_stale", n)] == 1 for n in offline_names
        )
    )
    metrics = _witness_metrics(stack)
    for offline in (w3, deployment.w4):
        assert metrics[("jembatan_witness_last_cosigned_timestamp_seconds", offline.name)] == 0
    for running in (w1, w2):
        assert metrics[("jembatan_witness_stale", running.cosigner.name)] == 0.0
        cosigned_at = metrics[
            ("jembatan_witness_last_cosigned_timestamp_seconds", running.cosigner.name)
        ]
        assert time.time() - cosigned_at < 60

    w2.stop()
    before = stack.log_size()
    asyncio.run(still_serves(stack))  # the log goes on
    assert stack.log_size() > before
    _eventually(
        lambda: _witness_metrics(stack)[("jembatan_witness_stale", w2.cosigner.name)] == 1.0
    )
    metrics = _witness_metrics(stack)
    assert metrics[("jembatan_witness_stale", w1.cosigner.name)] == 0.0
    assert (
        metrics[("jembatan_witness_cosigned_entries", w1.cosigner.name)]
        > metrics[("jembatan_witness_cosigned_entries", w2.cosigner.name)]
    )

    async def quorum_without_w2() -> None:
        async with stack.client() as client:
            with pytest.raises(QuorumNotMet) as refused:
                await client.checkpoint(
                    deployment.vkey, witnesses=[w1.cosigner, w2.cosigner], wait_s=1
                )
            assert refused.value.missing == (w2.cosigner.name,)
            one = await client.checkpoint(
                deployment.vkey, witnesses=[w1.cosigner, w2.cosigner], quorum=1, wait_s=10
            )
            assert one.size >= before

    asyncio.run(quorum_without_w2())
