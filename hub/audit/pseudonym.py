"""Keyed pseudonyms for subjects: the audit log never holds a raw NIK.

HMAC-SHA-256 under a hub secret, so the same NIK always maps to the same pseudonym (an
officer can search by NIK) while nobody without the key can enumerate the 16-digit space.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 32


def generate_pseudonym_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"pseudonym key must be at least {KEY_BYTES} bytes")
        self._key = key

    def subject(self, nik: str) -> str:
        return hmac.new(self._key, b"nik:" + nik.encode(), hashlib.sha256).hexdigest()
