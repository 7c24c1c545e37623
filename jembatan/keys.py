"""Keys and certificates as files: generating member keys, PEM in and out, fingerprints.

Every Jembatan channel is mTLS with ECDSA P-256 keys (gRPC's TLS, BoringSSL, refuses Ed25519
certificates); the consent manager and the checkpoint signer use Ed25519. The cryptography is
``cryptography``'s; this module only chooses formats and turns their failures into one-line
``PkiError``s a CLI can print.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from jembatan.errors import JembatanError

__all__ = [
    "PkiError",
    "PrivateKey",
    "cert_to_pem",
    "fingerprint",
    "generate_key",
    "key_to_pem",
    "load_cert_pem",
    "load_ed25519_private_pem",
    "load_ed25519_public_pem",
    "load_key_pem",
    "public_key_to_pem",
    "require_p256",
    "serial_text",
]

PrivateKey = PrivateKeyTypes


class PkiError(JembatanError):
    """A certificate, key or CSR that will not be used; the message says what failed."""


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key, the one curve gRPC's TLS accepts for both ends."""
    return ec.generate_private_key(ec.SECP256R1())


def require_p256(public_key: object, what: str) -> None:
    """Raise ``PkiError`` unless ``public_key`` is ECDSA P-256; ``what`` names it."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise PkiError(f"{what} is {type(public_key).__name__}, expected ECDSA P-256")
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise PkiError(f"{what} is on curve {public_key.curve.name}, expected P-256")


def key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS8 PEM; the file's mode is what protects it."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_to_pem(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_key_pem(data: bytes) -> PrivateKey:
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # TypeError: the key is encrypted; ValueError: not a key at all. The details
        # from OpenSSL are multi-line and say nothing more useful.
        raise PkiError("not an unencrypted PEM private key") from None


def load_ed25519_private_pem(data: bytes) -> Ed25519PrivateKey:
    key = load_key_pem(data)
    if not isinstance(key, Ed25519PrivateKey):
        raise PkiError(f"key is {type(key).__name__}, expected Ed25519")
    return key


def load_ed25519_public_pem(data: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise PkiError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PkiError(f"key is {type(key).__name__}, expected Ed25519")
    return key


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert_pem(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise PkiError("not a PEM X.509 certificate") from None


def fingerprint(cert: x509.Certificate) -> str:
    return "sha256:" + cert.fingerprint(hashes.SHA256()).hex()


def serial_text(cert: x509.Certificate) -> str:
    """A certificate's serial as the registry, the audit log and the CLI write it: lower-case
    hex without leading zeros or ``0x``."""
    return format(cert.serial_number, "x")
