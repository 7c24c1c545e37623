"""Receipts: the hub's signature that an exchange's record sits at a log index.

Signed with the hub's log key (Ed25519), which is separate from its TLS key.
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jembatan.errors import JembatanError

_DOMAIN = b"jembatan-receipt/v1\n"


class ReceiptInvalid(JembatanError):
    pass


def _message(log_index: int, leaf_hash: bytes, result: bytes) -> bytes:
    return _DOMAIN + struct.pack(">Q", log_index) + leaf_hash + hashlib.sha256(result).digest()


def sign_receipt(key: Ed25519PrivateKey, log_index: int, leaf_hash: bytes, result: bytes) -> bytes:
    return key.sign(_message(log_index, leaf_hash, result))


def verify_receipt(
    key: Ed25519PublicKey, log_index: int, leaf_hash: bytes, result: bytes, signature: bytes
) -> None:
    try:
        key.verify(signature, _message(log_index, leaf_hash, result))
    except InvalidSignature as exc:
        raise ReceiptInvalid(f"receipt for log index {log_index} does not verify") from exc
