"""Signed envelopes: a compact JWS (ES256, via pyjwt) over the SHA-256 of exact body bytes.

Requests (client -> hub) and agency responses (connector -> hub) are protobuf messages
serialized to bytes and signed as bytes, so the verifier checks exactly what it parses and
no canonical form of the message is needed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

REQUEST_TYPE = "jembatan-request+jwt"
RESPONSE_TYPE = "jembatan-response+jwt"
# A second member's approval of a request body (two-person rule for break-glass queries).
APPROVAL_TYPE = "jembatan-approval+jwt"
_ALGORITHM = "ES256"


class EnvelopeError(Exception):
    """The envelope does not verify; ``reason`` is a Reason name."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EnvelopeClaims:
    issuer: str
    issued_at: int
    expires_at: int
    nonce: str


def body_digest(body: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()


def sign_envelope(
    body: bytes,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: str,
    typ: str,
    ttl_s: int = 60,
    key_id: str | None = None,
    now: float | None = None,
) -> str:
    issued_at = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "iat": issued_at,
        "exp": issued_at + ttl_s,
        "jti": secrets.token_urlsafe(16),
        "body_sha256": body_digest(body),
    }
    headers = {"typ": typ}
    if key_id is not None:
        headers["kid"] = key_id
    return jwt.encode(claims, key, algorithm=_ALGORITHM, headers=headers)


def envelope_key_id(token: str) -> str | None:
    """The ``kid`` header, read before verification to choose the key."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    return kid if isinstance(kid, str) else None


def verify_envelope(
    token: str,
    body: bytes,
    key: ec.EllipticCurvePublicKey,
    *,
    issuer: str,
    typ: str,
    now: float,
    max_age_s: int,
    leeway_s: int = 5,
    invalid_reason: str = "SIGNATURE_INVALID",
) -> EnvelopeClaims:
    """Checks signature, type, issuer, body binding and freshness.

    A token that is not fresh (older than ``max_age_s``, issued in the future beyond
    ``leeway_s``, or past its ``exp``) raises ``REQUEST_EXPIRED``; every other failure
    raises ``invalid_reason``.
    """
    try:
        # decode_complete: one parse gives header and claims (parsing is a large share of
        # the cost of a JWS check, and this runs twice per query).
        # Time is checked below with the injected clock, not pyjwt's.
        decoded = jwt.decode_complete(
            token,
            key,
            algorithms=[_ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "iat", "exp", "jti", "body_sha256"],
            },
        )
    except jwt.InvalidTokenError as exc:
        raise EnvelopeError(invalid_reason, f"signature does not verify ({exc})") from exc
    header, claims = decoded["header"], decoded["payload"]
    if header.get("typ") != typ:
        raise EnvelopeError(invalid_reason, f"signed envelope of type {header.get('typ')!r}")
    if claims["iss"] != issuer:
        raise EnvelopeError(invalid_reason, "signed by another issuer than the caller")
    if claims["body_sha256"] != body_digest(body):
        raise EnvelopeError(invalid_reason, "signature is over another body")
    issued_at, expires_at, nonce = claims["iat"], claims["exp"], claims["jti"]
    # bool is an int subclass: a JSON true is no time.
    times_ok = all(isinstance(t, int) and not isinstance(t, bool) for t in (issued_at, expires_at))
    if not (times_ok and isinstance(nonce, str)):
        raise EnvelopeError(invalid_reason, "iat/exp/jti of the wrong type")
    if not nonce or len(nonce) > 128:
        raise EnvelopeError(invalid_reason, "jti empty or too long")
    if issued_at > now + leeway_s:
        raise EnvelopeError("REQUEST_EXPIRED", "issued in the future")
    if now - issued_at > max_age_s or now > expires_at + leeway_s:
        raise EnvelopeError("REQUEST_EXPIRED", "stale: outside the freshness window")
    return EnvelopeClaims(claims["iss"], issued_at, expires_at, nonce)
