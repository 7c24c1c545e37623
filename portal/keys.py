"""The portal's secrets and what it does with them: one HMAC key (account lookup by NIK,
code and token hashes), one Fernet key (NIKs and decisions sealed at rest), and one Ed25519
key that signs the head of every case's history (``portal.cases``; its public half is
written beside it, ``portal-cases.pub``, for whoever verifies a history).

Both are files in the portal's state directory, made on first start with mode 0600; several
portal processes on one PostgreSQL store share the directory (or copies of the two files).
Fernet (from ``cryptography``) is authenticated encryption with one failure for every
problem; nothing here is hand-made cryptography, only HMAC-SHA256 from the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["PortalSecrets", "SealBroken", "load_case_key", "load_case_public_key"]


class SealBroken(Exception):
    """A sealed value was changed, or sealed under another key."""


def _secret_file(path: Path, make: bytes) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another portal process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(make + b"\n")
    return make


class PortalSecrets:
    def __init__(self, state_dir: Path) -> None:
        self._hmac_key = bytes.fromhex(
            _secret_file(state_dir / "portal-hmac.key", secrets.token_hex(32).encode()).decode()
        )
        self._fernet = Fernet(_secret_file(state_dir / "portal-seal.key", Fernet.generate_key()))
        self.case_key = load_case_key(state_dir)

    def keyed(self, purpose: str, value: str) -> str:
        """A keyed hash of ``value`` for ``purpose`` (a NIK, a code, a token): findable by
        whoever holds the key, useless to whoever reads the database alone."""
        message = purpose.encode() + b"\x00" + value.encode()
        return hmac.new(self._hmac_key, message, hashlib.sha256).hexdigest()

    def seal(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise SealBroken("a sealed value does not open under this portal's key") from None


CASE_KEY_FILE = "portal-cases.key"
CASE_PUBLIC_FILE = "portal-cases.pub"


def load_case_key(state_dir: Path) -> Ed25519PrivateKey:
    """The key that signs case histories' heads: made on first use (mode 0600), its public
    half written beside it."""
    made = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = serialization.load_pem_private_key(_secret_file(state_dir / CASE_KEY_FILE, made), None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SealBroken(f"{state_dir / CASE_KEY_FILE} is not an Ed25519 key")
    public = state_dir / CASE_PUBLIC_FILE
    if not public.exists():
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return key


def load_case_public_key(path: Path) -> Ed25519PublicKey:
    """The public key of ``portal-cases.pub`` (or any PEM Ed25519 public key)."""
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise SealBroken(f"{path} is not an Ed25519 public key")
    return key
