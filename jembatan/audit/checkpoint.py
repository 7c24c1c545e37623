"""Signed checkpoints in the C2SP ``tlog-checkpoint`` format, as C2SP ``signed-note``s.

A checkpoint commits to the whole log at one size::

    jembatan.splp.go.id/audit-log      <- origin: names the log
    1234                               <- tree size
    nE3k...base64 root hash...=        <- RFC 6962 root over the first 1234 records
                                       <- blank line ends the note text
    — jembatan.splp.go.id/audit-log Yb9q...base64(key id || Ed25519 signature)...

The key id is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key), where
0x01 names Ed25519. Anyone holding the verifier key string
``<name>+<hex key id>+<base64(0x01 || public key)>`` can check a checkpoint without our code.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jembatan.errors import JembatanError

ORIGIN = "jembatan.splp.go.id/audit-log"
_ED25519 = b"\x01"
_SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space, as signed-note requires


class CheckpointError(JembatanError):
    """A checkpoint that is malformed or not signed by the expected key."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes

    def body(self) -> bytes:
        """The note text that is signed."""
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.size}\n{root}\n".encode()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + _raw_public(key)).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The verifier key string to publish beside the log."""
    encoded = base64.b64encode(_ED25519 + _raw_public(key)).decode()
    return f"{name}+{key_id(name, key).hex()}+{encoded}"


def sign_checkpoint(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    """The signed note: body, blank line, one signature line by ``checkpoint.origin``."""
    signature = key.sign(checkpoint.body())
    stamp = base64.b64encode(key_id(checkpoint.origin, key.public_key()) + signature).decode()
    return checkpoint.body().decode() + "\n" + f"{_SIGNATURE_PREFIX}{checkpoint.origin} {stamp}\n"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """(name, key) from ``<name>+<hex key id>+<base64 key>``; the key id must match."""
    try:
        # maxsplit: standard base64 may itself contain "+".
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise CheckpointError("verifier key is not <name>+<key id>+<base64 key>") from exc
    if len(raw) != 33 or raw[:1] != _ED25519:
        raise CheckpointError("verifier key is not an Ed25519 key")
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, key).hex() != hex_id:
        raise CheckpointError("verifier key's id does not match its name and key")
    return name, key


def verify_checkpoint(note: str, verifier: str) -> Checkpoint:
    """The checkpoint in ``note`` if the verifier key signed it; CheckpointError otherwise."""
    name, key = parse_verifier_key(verifier)
    text, separator, signatures = note.partition("\n\n")
    if not separator or not text:
        raise CheckpointError("not a signed note: no blank line after the text")
    body = (text + "\n").encode()
    wanted = key_id(name, key)
    for line in signatures.splitlines():
        if not line.startswith(_SIGNATURE_PREFIX):
            raise CheckpointError("malformed signature line")
        signer, _, stamp = line[len(_SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except ValueError as exc:
            raise CheckpointError("signature is not base64") from exc
        if signer != name or raw[:4] != wanted:
            continue  # another witness's signature: not ours to check
        try:
            key.verify(raw[4:], body)
        except InvalidSignature as exc:
            raise CheckpointError(f"signature by {name} does not verify") from exc
        checkpoint = _parse_body(text)
        if checkpoint.origin != name:
            raise CheckpointError(f"checkpoint names origin {checkpoint.origin!r}, not {name!r}")
        return checkpoint
    raise CheckpointError(f"no signature by {name}")


def _parse_body(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, size and root hash")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError("tree size is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError as exc:
        raise CheckpointError("root hash is not base64") from exc
    if len(root) != 32:
        raise CheckpointError("root hash is not 32 bytes")
    return Checkpoint(origin, int(size_text), root)
