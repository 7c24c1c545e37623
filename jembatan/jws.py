"""Compact JWS, the one way Jembatan signs statements, and its signed envelopes.

``decode_typed`` is the single place a JWS is parsed and checked: signature with an algorithm
fixed by the caller (never taken from the token, RFC 8725 §2.1), the ``typ`` header, and
optionally the issuer and required claims. Consents, revocations, subject tokens, consent
receipts and envelopes all go through it, so a rule about JWS headers holds for all of them:
the header carries ``alg``, ``typ`` and ``kid`` only (no ``crit``, ``b64``, ``jwk``, ``jku``,
``x5u``, ``x5c`` or any other parameter), and neither header nor claims name a member twice.

Envelopes: a compact JWS (ES256, via pyjwt) over the SHA-256 of exact body bytes. Requests
(client -> hub) and agency responses (connector -> hub) are protobuf messages serialized to
bytes and signed as bytes, so the verifier checks exactly what it parses and no canonical form
of the message is needed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
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
# What the SDKs sign envelopes for (exp - iat): within the hub's default freshness window.
ENVELOPE_TTL_S = 30
# The only header parameters a Jembatan JWS carries. Anything else is refused rather than
# ignored: an embedded key (jwk, jku, x5u, x5c) must never be a reason to trust a token, and
# an extension (crit, b64) the hub does not implement changes what the signature means.
_HEADER_PARAMETERS = frozenset({"alg", "typ", "kid"})


# A real token is a few hundred characters; refusing huge ones before decoding keeps a
# hostile caller from making the hub parse megabytes of base64 and JSON.
MAX_TOKEN_CHARS = 16_384


class JwsInvalid(JembatanError):
    """A JWS that does not verify, or is not what was expected; the message says which."""


class _NamedTwice(ValueError):
    pass


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused if it names a member twice (RFC 7515 §4 and RFC 7519 §4 let
    a verifier refuse): with the last value winning, as in Python's json, a header could
    say ``"alg":"none"`` to one reader and ``"alg":"ES256"`` to another."""
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _NamedTwice
    return members


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    # The messages never repeat a name from the token: it is the caller's text.
    try:
        value = json.loads(data, object_pairs_hook=_unique_members)
    except _NamedTwice:
        raise JwsInvalid(f"{what} name a member twice") from None
    except (ValueError, RecursionError):
        raise JwsInvalid(f"{what} are not JSON") from None
    if not isinstance(value, dict):
        raise JwsInvalid(f"{what} are not a JSON object")
    return value


def _header(token: str) -> dict[str, Any]:
    """The protected header, parsed before the signature is checked: it is small, and what it
    may hold is refused cheaply. pyjwt decodes the same segment again, strictly (canonical
    base64url only), to verify; so a segment that decodes here leniently but not there is
    refused all the same."""
    segment = token.partition(".")[0]
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise JwsInvalid("header is not base64url") from None
    header = _json_object(data, "header parameters")
    if not header.keys() <= _HEADER_PARAMETERS:
        raise JwsInvalid("header parameters other than alg, typ and kid are not accepted")
    return header


class _StrictJwt(jwt.PyJWT):
    """pyjwt's claim checks, with the payload parsed by ``_json_object`` (pyjwt documents
    ``_decode_payload`` as the method to override for decoding the payload otherwise)."""

    def _decode_payload(self, decoded: dict[str, Any]) -> dict[str, Any]:
        try:
            return _json_object(decoded["payload"], "claims")
        except JwsInvalid as exc:
            raise jwt.DecodeError(str(exc)) from None


_JWT = _StrictJwt()


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
    says ``typ`` (and holds nothing but ``alg``, ``typ`` and ``kid``); else ``JwsInvalid``.
    Time claims are not checked here: callers check them with their own injected clock,
    never pyjwt's wall clock."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise JwsInvalid(f"token is not a string of at most {MAX_TOKEN_CHARS} chars")
    header = _header(token)
    if header.get("typ") != typ:
        raise JwsInvalid(f"signed statement of type {header.get('typ')!r}, not {typ!r}")
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
        decoded = _JWT.decode_complete(
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
    return header, decoded["payload"]


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
    ttl_s: int = ENVELOPE_TTL_S,
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
    serial: str,
    now: float,
    max_age_s: int,
    clock_skew_s: int,
    invalid_reason: str = "SIGNATURE_INVALID",
) -> EnvelopeClaims:
    """Checks signature, type, issuer, body binding, ``kid`` and freshness.

    ``key`` is the key of the certificate with serial ``serial``: a ``kid``, when present,
    must name it. Fresh means: ``exp`` is after ``iat`` by at most ``max_age_s``, and ``now``
    lies in [iat, exp] widened by ``clock_skew_s`` on both sides, so a signer's clock may be
    that far ahead of the hub's or behind it. A token that is not fresh raises
    ``REQUEST_EXPIRED``; every other failure raises ``invalid_reason``.
    """
    try:
        header, claims = decode_typed(
            token, key, algorithm=_ALGORITHM, typ=typ, require=_ENVELOPE_CLAIMS
        )
    except JwsInvalid as exc:
        raise EnvelopeError(invalid_reason, str(exc)) from None
    # The key comes from the certificate, not from the kid; a kid naming another one means
    # the signer thought it signed with another key: refuse rather than guess.
    if header.get("kid", serial) != serial:
        raise EnvelopeError(invalid_reason, "kid names another certificate than the signer's")
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
    # Bounded lifetime: with it, "now <= exp + skew" also means "at most max age + skew old".
    if not 0 < expires_at - issued_at <= max_age_s:
        raise EnvelopeError("REQUEST_EXPIRED", f"lifetime exp - iat is not within 1..{max_age_s} s")
    if now < issued_at - clock_skew_s:
        raise EnvelopeError("REQUEST_EXPIRED", "issued in the future")
    if now > expires_at + clock_skew_s:
        raise EnvelopeError("REQUEST_EXPIRED", "stale: past its exp")
    return EnvelopeClaims(claims["iss"], issued_at, expires_at, nonce)
