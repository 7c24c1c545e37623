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

    def digest(self, data: bytes) -> str:
        """Hex HMAC-SHA-256 of ``data`` under the pseudonym key, for what the log keeps of
        calls' requests and answers. Not a plain SHA-256: such messages hold little besides
        a NIK (``Audit.Search(subject=NIK)``, ``RequestConsent``), so anyone reading the log
        could recover the NIK by hashing the 10^16 candidates (far fewer, given the NIK's
        structure) — the very enumeration ``subject`` pseudonyms are keyed against. The
        ``call:`` prefix keeps these digests apart from subject pseudonyms."""
        return hmac.new(self._key, b"call:" + data, hashlib.sha256).hexdigest()
