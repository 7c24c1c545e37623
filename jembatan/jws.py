"""Compact JWS, the one way Jembatan signs statements, and its signed envelopes.

``decode_typed`` is the single place a JWS is parsed and checked: signature with an algorithm
fixed by the caller (never taken from the token, RFC 8725 §2.1), the ``typ`` header, and
optionally the issuer and required claims. Consents, revocations, subject tokens, consent
receipts and envelopes all go through it, so a rule about JWS headers holds for all of them.

Envelopes: a compact JWS (ES256, via pyjwt) over the SHA-256 of exact body bytes. Requests
(client -> hub) and agency responses (connector -> hub) are protobuf messages serialized to
bytes and signed as bytes, so the verifier checks exactly what it parses and no canonical form
of the message is needed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.types import Options

from jembatan.errors import JembatanError

REQUEST_TYPE = "jembatan-request+jwt"
RESPONSE_TYPE = "jembatan-response+jwt"
# A second member's approval of a request body (two-person rule for break-glass queries).
APPROVAL_TYPE = "jembatan-approval+jwt"
_ALGORITHM = "ES256"
_ENVELOPE_CLAIMS = ("iss", "iat", "exp", "jti", "body_sha256")


# A real token is a few hundred characters; refusing huge ones before decoding keeps a
# hostile caller from making the hub parse megabytes of base64 and JSON.
MAX_TOKEN_CHARS = 16_384


class JwsInvalid(JembatanError):
    """A JWS that does not verify, or is not what was expected; the message says which."""


def decode_typed(
    token: object,
    key: Any,
    *,
    algorithm: str,
    typ: str,
    issuer: str | None = None,
    require: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of ``token`` if ``key`` signed it with ``algorithm`` and its header
    says ``typ``; else ``JwsInvalid``. Time claims are not checked here: callers check them
    with their own injected clock, never pyjwt's wall clock."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise JwsInvalid(f"token is not a string of at most {MAX_TOKEN_CHARS} chars")
    options: Options = {
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
        "verify_iss": issuer is not None,
        "require": list(require),
    }
    try:
        # decode_complete: one parse gives header and claims (parsing is a large share of
        # the cost of a JWS check, and envelopes are checked twice per query).
        decoded = jwt.decode_complete(
            token, key, algorithms=[algorithm], options=options, issuer=issuer
        )
    except jwt.InvalidIssuerError:
        raise JwsInvalid(f"not issued by {issuer}") from None
    except jwt.InvalidSignatureError:
        raise JwsInvalid("signature does not verify") from None
    except jwt.InvalidAlgorithmError:
        raise JwsInvalid(f"algorithm is not {algorithm}") from None
    except jwt.MissingRequiredClaimError as exc:
        raise JwsInvalid(f"missing claim {exc.claim}") from None
    except jwt.PyJWTError as exc:
        # pyjwt's messages are one line and carry no claim values, only what is wrong.
        raise JwsInvalid(f"not a valid JWS: {exc}") from None
    header, claims = decoded["header"], decoded["payload"]
    if header.get("typ") != typ:
        raise JwsInvalid(f"signed statement of type {header.get('typ')!r}, not {typ!r}")
    if not isinstance(claims, dict):
        raise JwsInvalid("claims are not a JSON object")
    return header, claims


class EnvelopeError(JembatanError):
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
        _, claims = decode_typed(
            token, key, algorithm=_ALGORITHM, typ=typ, require=_ENVELOPE_CLAIMS
        )
    except JwsInvalid as exc:
        raise EnvelopeError(invalid_reason, str(exc)) from None
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
