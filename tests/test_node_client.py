"""A client in another language, built from docs/contract.md and the .proto files alone:
tests/node/client.mjs (Node, @grpc/grpc-js and @grpc/proto-loader from npm, installed by
``make test`` with ``npm ci``) against the session's real hub, over mTLS.

It makes a consented query, checks the receipt with the hub's log key and the exchange's
inclusion in a signed checkpoint, then asks for a field outside the consent and prints the
refusal's reason. Its verifications are shown able to fail: with another log key, or
another verifier key, it exits non-zero before claiming what it could not check. And
tests/node/example.mjs recomputes the doc's worked example with the same Node code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from jembatan.audit.checkpoint import ORIGIN, verifier_key
from jembatan.keys import public_key_to_pem
from tests.stack import ELIGIBILITY_ID, PURPOSE, Stack

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "tests" / "node"
CONSENTED = ("employment_status", "monthly_wage")
OUTSIDE = ("employment_status", "employer")


def _node() -> str:
    node = shutil.which("node")
    assert node, "the Node client test needs node (and npm) on the PATH"
    assert (NODE_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "tests/node has no npm modules: `make test` installs them (npm ci)"
    )
    return node


def _run(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), str(NODE_DIR / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def client_env(stack: Stack) -> dict[str, str]:
    """What client.mjs reads: the member's files, the hub's published keys and a query."""
    files = stack.member(ELIGIBILITY_ID)
    subject = stack.people.employed
    consent, _ = stack.consent(subject, fields=CONSENTED)
    return {
        "PATH": os.environ["PATH"],
        "JEMBATAN_HUB": stack.address,
        "JEMBATAN_CA": str(stack.home.ca_cert),
        "JEMBATAN_KEY": str(files.key_path),
        "JEMBATAN_CERT": str(files.key_path.parent / "cert.pem"),
        "JEMBATAN_LOG_KEY": str(stack.home.log_public_key),
        "JEMBATAN_VERIFIER": str(stack.home.log_verifier_key),
        "JEMBATAN_SERVICE": EMPLOYMENT_SERVICE,
        "JEMBATAN_SUBJECT": subject,
        "JEMBATAN_PURPOSE": PURPOSE,
        "JEMBATAN_CONSENT": consent,
        "JEMBATAN_FIELDS": ",".join(CONSENTED),
        "JEMBATAN_REFUSED_FIELDS": ",".join(OUTSIDE),
    }


def test_node_client_queries_verifies_and_reads_the_refusal(
    stack: Stack, client_env: dict[str, str]
) -> None:
    before = stack.log_size()
    done = _run("client.mjs", env=client_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    receipt = re.fullmatch(r"receipt verified log_index=(\d+)", lines[0])
    assert receipt, done.stdout
    index = int(receipt.group(1))
    assert lines[1:3] == [
        'released employment_status RAW "" "active"',
        'released monthly_wage PREDICATE "< 3000000" true',
    ]
    checkpoint = re.fullmatch(r"checkpoint verified size=(\d+)", lines[3])
    assert checkpoint and int(checkpoint.group(1)) > index, lines[3]
    assert lines[4] == f"inclusion verified index={index} size={checkpoint.group(1)}"
    assert lines[5].startswith("refused PERMISSION_DENIED FIELD_NOT_CONSENTED: "), lines[5]
    assert "employer" in lines[5] and client_env["JEMBATAN_SUBJECT"] not in lines[5]
    assert len(lines) == 6, done.stdout

    # The hub saw what the client says: the release at the index its receipt names, then
    # the refusal, both from the member the certificate names.
    released, refused = stack.records(since=before)
    assert before == index
    assert (released.decision, released.client_id) == ("RELEASED", ELIGIBILITY_ID)
    assert released.fields_released == (("employment_status", "raw"), ("monthly_wage", "predicate"))
    assert (refused.decision, refused.reason, refused.fields_requested) == (
        "REFUSED",
        "FIELD_NOT_CONSENTED",
        OUTSIDE,
    )


def test_node_client_refuses_a_receipt_it_cannot_verify(
    client_env: dict[str, str], tmp_path: Path
) -> None:
    other = tmp_path / "other-log.pub"
    other.write_bytes(public_key_to_pem(Ed25519PrivateKey.generate().public_key()))
    done = _run("client.mjs", env={**client_env, "JEMBATAN_LOG_KEY": str(other)})
    assert done.returncode == 1, done.stdout
    assert "verified" not in done.stdout and "released" not in done.stdout
    assert re.search(r"verification failed: receipt for log index \d+ does not verify", done.stderr)


def test_node_client_refuses_a_checkpoint_it_cannot_verify(
    client_env: dict[str, str], tmp_path: Path
) -> None:
    # Well formed, with the log's name, but another key: no signature on the note is its.
    other = tmp_path / "other-log.vkey"
    other.write_text(verifier_key(ORIGIN, Ed25519PrivateKey.generate().public_key()) + "\n")
    done = _run("client.mjs", env={**client_env, "JEMBATAN_VERIFIER": str(other)})
    assert done.returncode == 1, done.stdout
    assert "receipt verified" in done.stdout
    assert "checkpoint verified" not in done.stdout and "inclusion verified" not in done.stdout
    assert f"verification failed: the checkpoint carries no signature by {ORIGIN}" in done.stderr


def test_node_recomputes_the_contracts_worked_example() -> None:
    done = _run("example.mjs", str(ROOT / "docs" / "contract.md"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "example verified\n"
