"""The worked example in docs/contract.md is what the code computes, byte for byte.

The doc's request signature is checked with the hub's own envelope verifier (ECDSA signs with
a random nonce, so it cannot be recomputed); every other value is recomputed from the fixed
inputs by ``tests.contract_example`` with the real code, and each formula the doc spells out
(the receipt's message, the leaf hash, the inclusion path, the checkpoint) is checked
against the implementation that the hub and the SDK use.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent.artefact import verify_consent
from hub.home import CONSENT_MANAGER_ID
from jembatan.audit.checkpoint import verify_checkpoint
from jembatan.audit.merkle import ProofError, hash_leaf, verify_inclusion
from jembatan.audit.receipt import verify_receipt
from jembatan.jws import REQUEST_TYPE, EnvelopeError, verify_envelope
from jembatan.v1 import exchange_pb2
from tests.contract_example import (
    CLIENT_ID,
    CONTRACT,
    NOW,
    blocks,
    client_key,
    doc_blocks,
    parse,
    render,
)


@pytest.fixture(scope="module")
def doc() -> dict[str, str]:
    entries: dict[str, str] = {}
    for block in parse(CONTRACT.read_text(encoding="utf-8")).values():
        entries.update(block)
    return entries


def test_the_docs_request_signature_is_accepted_by_the_hubs_verifier(doc: dict[str, str]) -> None:
    body = bytes.fromhex(doc["body"])
    claims = verify_envelope(
        doc["jws"],
        body,
        client_key().public_key(),
        issuer=CLIENT_ID,
        typ=REQUEST_TYPE,
        serial="0",  # the example names no kid: no serial is compared
        now=NOW,
        max_age_s=60,
        clock_skew_s=30,
    )
    assert (claims.issued_at, claims.expires_at) == (NOW, NOW + 60)
    # ... and over exactly this body: one byte more and it is refused.
    with pytest.raises(EnvelopeError) as refused:
        verify_envelope(
            doc["jws"],
            body + b"\x00",
            client_key().public_key(),
            issuer=CLIENT_ID,
            typ=REQUEST_TYPE,
            # The example's request names no kid, so no certificate serial is compared.
            serial="0",
            now=NOW,
            max_age_s=60,
            clock_skew_s=30,
        )
    assert refused.value.reason == "SIGNATURE_INVALID"


def test_every_block_is_what_the_code_computes_from_the_inputs(doc: dict[str, str]) -> None:
    printed = doc_blocks(CONTRACT.read_text(encoding="utf-8"))
    computed = {name: render(entries) for name, entries in blocks(doc["jws"]).items()}
    assert printed.keys() == computed.keys()
    for name, text in computed.items():
        assert printed[name] == text, (
            f"block example:{name} differs: run `python -m tests.contract_example --write`"
        )


def test_the_formulas_the_doc_spells_out_are_the_implementations(doc: dict[str, str]) -> None:
    body = exchange_pb2.QueryBody.FromString(bytes.fromhex(doc["body"]))
    assert (body.client_id, body.subject, body.consent) == (
        CLIENT_ID,
        doc["subject"],
        doc["consent"],
    )
    consent_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(doc["consent_manager_public"]))
    artefact = verify_consent(doc["consent"], consent_key, issuer=CONSENT_MANAGER_ID)
    assert artefact.subject == doc["subject"]

    result = bytes.fromhex(doc["result"])
    leaf = bytes.fromhex(doc["leaf_hash"])
    index = int(doc["log_index"])
    log_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(doc["log_public"]))
    signature = bytes.fromhex(doc["receipt_signature"])
    # The doc's message, built from its formula, is what the receipt signs.
    message = bytes.fromhex(doc["receipt_message"])
    assert len(message) == 92
    assert message == b"jembatan-receipt/v1\n" + index.to_bytes(8, "big") + leaf + (
        hashlib.sha256(result).digest()
    )
    log_key.verify(signature, message)
    verify_receipt(log_key, index, leaf, result, signature)
    assert hash_leaf(doc["record"].encode()) == leaf

    checkpoint = verify_checkpoint(json.loads(doc["checkpoint_note"]), doc["verifier_key"])
    assert (checkpoint.size, checkpoint.root_hash.hex()) == (
        int(doc["tree_size"]),
        doc["root_hash"],
    )
    proof = [bytes.fromhex(doc[f"proof_{i}"]) for i in range(3)]
    verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root_hash)
    with pytest.raises(ProofError):
        verify_inclusion(index + 1, checkpoint.size, leaf, proof, checkpoint.root_hash)
