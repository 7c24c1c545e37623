"""The worked example of docs/contract.md, computed by the real code from fixed inputs.

The example's bytes sit in the fenced blocks ```` ```text example:NAME ```` of the section
"A worked example": lines ``name: value``, a long value continued on lines that start with
two spaces. Everything in them follows from the fixed keys, time and nonce below, except
the ES256 signature (ECDSA signs with a random nonce): the doc's signature is kept as it is,
and checked with the hub's own verifier. ``tests/test_contract_example.py`` recomputes the
blocks from the doc's signature and fails on any difference, so the example cannot rot.

    python -m tests.contract_example            # print the blocks, freshly signed
    python -m tests.contract_example --write    # write them into docs/contract.md
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import sys
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consent.artefact import grant, sign_consent
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.recording import Call, QueryDetails, audit_record
from hub.home import CONSENT_MANAGER_ID
from jembatan.audit.checkpoint import ORIGIN, Checkpoint, sign_checkpoint, verifier_key
from jembatan.audit.merkle import hash_leaf, inclusion_proof, root_of
from jembatan.audit.receipt import sign_receipt
from jembatan.jws import REQUEST_TYPE, body_digest
from jembatan.v1 import common_pb2, exchange_pb2

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contract.md"
BLOCK = re.compile(r"^```text example:(\w+)\n(.*?)^```$", re.M | re.S)
WIDTH = 64
LINE = 90

CLIENT_ID = "ID/GOV/KEMENSOS/eligibility"
CLIENT_CERTIFICATE = "3c5e0f21a9d47b68"
SERVICE_ID = "ID/GOV/BPJSTK/wages/employment"
SUBJECT = "3510105906750006"
PURPOSE = "bansos-eligibility"
FIELDS = ("employment_status", "monthly_wage")
REQUEST_ID = "example-0001"
CONSENT_ID = "0b5c3f0e-7d2a-4e8b-9c61-2f4a8d1e6b37"
# 2026-01-01T00:00:00Z the consent is granted, for 30 days; 08:00:00Z the query is signed
# and received.
GRANTED_AT = 1767225600
NOW = 1767254400
TTL_S = 60
NONCE = "kX3v9QmT2bLr7NwYc5HdEg"
SALT = bytes.fromhex("8f14e45fceea167a5a36dedd4bea2543")
POLICY_VERSION = "sha256:" + hashlib.sha256(b"example policies").hexdigest()
LOG_INDEX, TREE_SIZE = 4, 7


def _seed(label: str) -> bytes:
    """A fixed 32-byte secret for the example (never a real key)."""
    return hashlib.sha256(f"jembatan contract example: {label}".encode()).digest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def client_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(_seed("client key")), ec.SECP256R1())


def request_signature() -> str:
    """A fresh ES256 envelope over the example body, as the SDK signs one (random ECDSA k)."""
    claims = _claims(_body())
    return jwt.encode(claims, client_key(), algorithm="ES256", headers={"typ": REQUEST_TYPE})


def _consent() -> str:
    artefact = grant(
        issuer=CONSENT_MANAGER_ID,
        subject=SUBJECT,
        grantee=CLIENT_ID,
        purpose=PURPOSE,
        services={SERVICE_ID: FIELDS},
        valid_for=datetime.timedelta(days=30),
        now=datetime.datetime.fromtimestamp(GRANTED_AT, datetime.UTC),
        consent_id=CONSENT_ID,
    )
    return sign_consent(artefact, Ed25519PrivateKey.from_private_bytes(_seed("consent manager")))


def _body() -> bytes:
    return exchange_pb2.QueryBody(
        client_id=CLIENT_ID,
        service_id=SERVICE_ID,
        subject=SUBJECT,
        purpose=PURPOSE,
        fields=FIELDS,
        consent=_consent(),
        request_id=REQUEST_ID,
    ).SerializeToString(deterministic=True)


def _claims(body: bytes) -> dict[str, object]:
    # The order sign_envelope writes them in.
    return {
        "iss": CLIENT_ID,
        "iat": NOW,
        "exp": NOW + TTL_S,
        "jti": NONCE,
        "body_sha256": body_digest(body),
    }


def blocks(signature: str) -> dict[str, list[tuple[str, str]]]:
    """The example's entries, block by block, for the request signed with ``signature``."""
    key = client_key()
    public = key.public_key().public_numbers()
    log_key = Ed25519PrivateKey.from_private_bytes(_seed("log key"))
    consent_key = Ed25519PrivateKey.from_private_bytes(_seed("consent manager"))
    pseudonym_key = _seed("pseudonym key")
    keys = [
        ("client_id", CLIENT_ID),
        ("client_key_d", format(key.private_numbers().private_value, "064x")),
        ("client_key_x", format(public.x, "064x")),
        ("client_key_y", format(public.y, "064x")),
        ("consent_manager_seed", _seed("consent manager").hex()),
        ("consent_manager_public", _raw(consent_key).hex()),
        ("log_seed", _seed("log key").hex()),
        ("log_public", _raw(log_key).hex()),
        ("verifier_key", verifier_key(ORIGIN, log_key.public_key())),
        ("pseudonym_key", pseudonym_key.hex()),
    ]

    body = _body()
    header_segment, claims_segment, signature_segment = signature.split(".")
    request = exchange_pb2.QueryRequest(body=body, signature=signature).SerializeToString(
        deterministic=True
    )
    request_entries = [
        ("now", str(NOW)),
        ("consent", _consent()),
        ("service_id", SERVICE_ID),
        ("subject", SUBJECT),
        ("purpose", PURPOSE),
        ("fields", " ".join(FIELDS)),
        ("request_id", REQUEST_ID),
        ("body", body.hex()),
        ("body_sha256", body_digest(body)),
        ("jws_header", _json({"alg": "ES256", "typ": REQUEST_TYPE})),
        ("jws_claims", _json(_claims(body))),
        ("signing_input", f"{header_segment}.{claims_segment}"),
        ("signature_r_s", base64.urlsafe_b64decode(signature_segment + "==").hex()),
        ("jws", signature),
        ("request_sha256", hashlib.sha256(request).hexdigest()),
    ]

    result = exchange_pb2.QueryResult(
        request_id=REQUEST_ID,
        service_id=SERVICE_ID,
        fields=[
            exchange_pb2.ReleasedField(
                name="employment_status",
                treatment=common_pb2.RAW,
                value=common_pb2.Value(text="active"),
            ),
            exchange_pb2.ReleasedField(
                name="monthly_wage",
                treatment=common_pb2.PREDICATE,
                detail="< 3000000",
                value=common_pb2.Value(flag=True),
            ),
        ],
        policy_version=POLICY_VERSION,
        subject_found=True,
        salt=SALT,
    ).SerializeToString(deterministic=True)
    record = audit_record(
        Call(
            client_id=CLIENT_ID,
            client_certificate=CLIENT_CERTIFICATE,
            service_id=SERVICE_ID,
            purpose=PURPOSE,
            request_digest=hashlib.sha256(request).hexdigest(),
            fields_requested=FIELDS,
            subject=Pseudonymizer(pseudonym_key).subject(SUBJECT),
            request_id=REQUEST_ID,
        ),
        None,
        at=NOW,
        stage="release",
        response_digest=hashlib.sha256(result).hexdigest(),
        query=QueryDetails(
            consent_id=CONSENT_ID,
            policy_version=POLICY_VERSION,
            fields_released=(("employment_status", "raw"), ("monthly_wage", "predicate")),
        ),
    ).canonical_json()
    # The other records of the example log are stand-ins: their leaves hash the text below.
    leaves = [
        hash_leaf(record) if i == LOG_INDEX else hash_leaf(f"record {i}".encode())
        for i in range(TREE_SIZE)
    ]
    leaf = leaves[LOG_INDEX]
    receipt = exchange_pb2.Receipt(
        log_index=LOG_INDEX,
        leaf_hash=leaf,
        signature=sign_receipt(log_key, LOG_INDEX, leaf, result),
    )
    response = exchange_pb2.QueryResponse(result=result, receipt=receipt)
    message = (
        b"jembatan-receipt/v1\n"
        + LOG_INDEX.to_bytes(8, "big")
        + leaf
        + hashlib.sha256(result).digest()
    )
    root = root_of(leaves)
    note = sign_checkpoint(Checkpoint(ORIGIN, TREE_SIZE, root), log_key)
    response_entries = [
        ("salt", SALT.hex()),
        ("policy_version", POLICY_VERSION),
        ("result", result.hex()),
        ("result_sha256", hashlib.sha256(result).hexdigest()),
        ("record", record.decode()),
        ("log_index", str(LOG_INDEX)),
        ("leaf_hash", leaf.hex()),
        ("receipt_message", message.hex()),
        ("receipt_signature", receipt.signature.hex()),
        ("response", response.SerializeToString(deterministic=True).hex()),
    ]
    proof_entries = [
        ("tree_size", str(TREE_SIZE)),
        *((f"leaf_{i}", h.hex()) for i, h in enumerate(leaves)),
        *(
            (f"proof_{i}", h.hex())
            for i, h in enumerate(inclusion_proof(LOG_INDEX, TREE_SIZE, leaves))
        ),
        ("root_hash", root.hex()),
        ("checkpoint_note", _json(note)),
    ]
    return {
        "keys": keys,
        "request": request_entries,
        "response": response_entries,
        "proof": proof_entries,
    }


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def render(entries: list[tuple[str, str]]) -> str:
    """A block's text: ``name: value`` on one line when it fits, else ``name:`` and the value
    in lines of WIDTH characters, each after two spaces; never cut at a space (an editor may
    trim a line's trailing blank)."""
    lines = []
    for name, value in entries:
        if len(name) + 2 + len(value) <= LINE:
            lines.append(f"{name}: {value}")
            continue
        lines.append(f"{name}:")
        rest = value
        while rest:
            chunk, rest = _split(rest, WIDTH)
            lines.append(f"  {chunk}")
    return "\n".join(lines) + "\n"


def _split(value: str, width: int) -> tuple[str, str]:
    if len(value) <= width:
        return value, ""
    cut = width
    while cut > 1 and (value[cut - 1] == " " or value[cut] == " "):
        cut -= 1
    return value[:cut], value[cut:]


def parse(text: str) -> dict[str, dict[str, str]]:
    """The doc's example blocks: name -> (entry -> value), continuation lines joined."""
    parsed: dict[str, dict[str, str]] = {}
    for name, body in BLOCK.findall(text):
        entries: dict[str, str] = {}
        last = ""
        for line in body.splitlines():
            if line.startswith("  "):
                entries[last] += line[2:]
            else:
                last, _, value = line.partition(":")
                entries[last] = value.removeprefix(" ")
        parsed[name] = entries
    return parsed


def doc_blocks(text: str) -> dict[str, str]:
    return dict(BLOCK.findall(text))


def write(path: Path = CONTRACT) -> None:
    """Replace the example blocks in ``path`` with freshly signed ones."""
    text = path.read_text(encoding="utf-8")
    fresh = {name: render(entries) for name, entries in blocks(request_signature()).items()}

    def replace(match: re.Match[str]) -> str:
        return f"```text example:{match.group(1)}\n{fresh[match.group(1)]}```"

    path.write_text(BLOCK.sub(replace, text), encoding="utf-8")


def main() -> None:
    if sys.argv[1:] == ["--write"]:
        write()
        return
    for name, entries in blocks(request_signature()).items():
        print(f"```text example:{name}\n{render(entries)}```\n")


if __name__ == "__main__":
    main()
