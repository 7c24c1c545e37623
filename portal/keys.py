"""The portal's secrets and what it does with them: one HMAC key (account lookup by NIK,
code and token hashes) and one Fernet key (NIKs and decisions sealed at rest).

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

__all__ = ["PortalSecrets", "SealBroken"]


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
