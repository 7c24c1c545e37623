"""A client proves its exchange was recorded: receipt → inclusion proof → signed checkpoint.

Through the real hub: checkpoints are signed with the hub's log key in the C2SP format,
proofs come from the persisted tree, and a later checkpoint is consistent with an earlier.
"""

from __future__ import annotations

import dataclasses
import hashlib

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.pki import CertificateAuthority
from jembatan.audit.checkpoint import CheckpointError, verifier_key
from jembatan.audit.merkle import ProofError, verify_consistency
from jembatan.audit.receipt import ReceiptInvalid
from jembatan.certs import make_csr
from jembatan.client import HubClient, QueryAnswer, QueryRefused
from jembatan.keys import cert_to_pem, generate_key, key_to_pem, load_ed25519_public_pem
from jembatan.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2
from tests.stack import Stack, employment_body, employment_query


def _verifier(stack: Stack) -> str:
    return stack.home.log_verifier_key.read_text().strip()


async def _recorded_answer(stack: Stack) -> QueryAnswer:
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        return await employment_query(client, nik, token)


async def test_a_receipt_is_proven_included_in_a_signed_checkpoint(stack: Stack) -> None:
    answer = await _recorded_answer(stack)
    async with stack.client() as client:
        checkpoint = await client.verify_recorded(answer, _verifier(stack))
    assert checkpoint.size > answer.log_index
    with stack.registry() as registry:
        assert checkpoint.root_hash == registry.tree_root(checkpoint.size)


async def test_a_forged_receipt_does_not_prove(stack: Stack) -> None:
    answer = await _recorded_answer(stack)
    forged = dataclasses.replace(answer, leaf_hash=bytes(32))
    async with stack.client() as client:
        with pytest.raises(ProofError, match="root mismatch"):
            await client.verify_recorded(forged, _verifier(stack))


async def test_a_checkpoint_is_only_trusted_under_the_hubs_key(stack: Stack) -> None:
    answer = await _recorded_answer(stack)
    impostor = verifier_key(
        "jembatan.splp.go.id/audit-log", Ed25519PrivateKey.generate().public_key()
    )
    async with stack.client() as client:
        with pytest.raises(CheckpointError, match="no signature by"):
            await client.verify_recorded(answer, impostor)


async def test_later_checkpoints_are_consistent_with_earlier_ones(stack: Stack) -> None:
    verifier = _verifier(stack)
    async with stack.client() as client:
        first = await client.checkpoint(verifier, min_size=1)
        await _recorded_answer(stack)
        second = await client.checkpoint(verifier, min_size=first.size + 1)
    assert second.size > first.size
    async with stack.channel() as channel:
        proof = await audit_pb2_grpc.AuditStub(channel).GetConsistencyProof(
            audit_pb2.GetConsistencyProofRequest(old_size=first.size, new_size=second.size)
        )
        verify_consistency(
            first.size, second.size, first.root_hash, second.root_hash, list(proof.hashes)
        )
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await audit_pb2_grpc.AuditStub(channel).GetInclusionProof(
                audit_pb2.GetInclusionProofRequest(index=second.size, tree_size=second.size)
            )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_unregistered_caller_gets_no_checkpoint(stack: Stack) -> None:
    key = generate_key()
    ca = CertificateAuthority.load(stack.home.ca_dir)
    cert = ca.issue(make_csr(key, "ID/GOV/NOBODY/x"), "ID/GOV/NOBODY/x")
    async with HubClient(
        stack.address,
        key_pem=key_to_pem(key),
        cert_pem=cert_to_pem(cert),
        ca_pem=stack.home.ca_cert.read_bytes(),
        log_key=load_ed25519_public_pem(stack.home.log_public_key.read_bytes()),
    ) as client:
        with pytest.raises(QueryRefused) as refused:
            await client.checkpoint(_verifier(stack))
    assert (refused.value.status.name, refused.value.reason) == (
        "UNAUTHENTICATED",
        "UNAUTHENTICATED",
    )


async def test_a_receipt_whose_signature_or_result_was_altered_is_refused(stack: Stack) -> None:
    """The client checks the hub's receipt signature over index, leaf and result."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        request = client.sign(employment_body(client, nik, token, ("employment_status",)))
        response = await client._exchange.Query(request)  # the raw answer, unchecked
        bad_signature = exchange_pb2.QueryResponse()
        bad_signature.CopyFrom(response)
        bad_signature.receipt.signature = (
            bytes([response.receipt.signature[0] ^ 1]) + (response.receipt.signature[1:])
        )
        bad_result = exchange_pb2.QueryResponse()
        bad_result.CopyFrom(response)
        bad_result.result = response.result + b"\x00"
        client._answer(response)  # the genuine one passes
        for altered in (bad_signature, bad_result):
            with pytest.raises(ReceiptInvalid):
                client._answer(altered)


async def test_the_same_release_twice_leaves_two_unguessable_digests(stack: Stack) -> None:
    """The record keeps the plain SHA-256 of the result (what the receipt binds); a salt the
    hub draws per exchange keeps the few possible results from being hashed and matched."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    before = stack.log_size()
    async with stack.client() as client:
        body = employment_body(
            client, nik, token, ("employment_status",), request_id="same-request"
        )
        responses = [await client._exchange.Query(client.sign(body)) for _ in range(2)]
        answers = [client._answer(response) for response in responses]  # receipts verify
        for answer in answers:
            await client.verify_recorded(answer, _verifier(stack))
    results = [exchange_pb2.QueryResult.FromString(r.result) for r in responses]
    assert [len(result.salt) for result in results] == [16, 16]
    # Everything but the salt is the same release.
    for result in results:
        result.ClearField("salt")
    assert results[0] == results[1]
    records = stack.records(before)
    digests = [r.response_digest for r in records]
    assert digests == [hashlib.sha256(r.result).hexdigest() for r in responses]
    assert digests[0] != digests[1]
