"""Compact JWS made by hand, for tests of what a verifier must refuse.

``forge`` signs exactly the header and claims *texts* it is given, with the real key and
pyjwt's own algorithm: the signature is genuine, so a refusal can only come from the rule
under test (a duplicate name, a header parameter, a lifetime), never from the signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jwt

from jembatan.jws import body_digest


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def text(members: Mapping[str, Any], *duplicates: tuple[str, Any]) -> str:
    """The JSON text of ``members``, then each (name, value) of ``duplicates`` as a further
    member: a name already present then appears twice, the later value last."""
    head = json.dumps(dict(members), separators=(",", ":"))
    extra = "".join(f",{json.dumps(name)}:{json.dumps(value)}" for name, value in duplicates)
    return head[:-1] + extra + "}"


def forge(header: str, claims: str, key: Any, algorithm: str = "ES256") -> str:
    """``header`` and ``claims`` (JSON texts, as they are) signed by ``key``."""
    signing_input = f"{b64(header.encode())}.{b64(claims.encode())}"
    signature = jwt.get_algorithm_by_name(algorithm).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def envelope_claims(body: bytes, issuer: str, *, at: float, ttl_s: int = 30) -> dict[str, Any]:
    """The five claims of a signed envelope over ``body``, as the SDK makes them."""
    issued = int(at)
    return {
        "iss": issuer,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": b64(hashlib.sha256(f"{issuer}{at}{body!r}".encode()).digest()[:16]),
        "body_sha256": body_digest(body),
    }


def forged_envelope(
    body: bytes,
    key: Any,
    *,
    issuer: str,
    typ: str,
    at: float,
    ttl_s: int = 30,
    header: Mapping[str, Any] | None = None,
    header_duplicates: tuple[tuple[str, Any], ...] = (),
    claim_duplicates: tuple[tuple[str, Any], ...] = (),
) -> str:
    """An ES256 envelope over ``body`` with the header parameters ``header`` (beside
    ``alg`` and ``typ``) and any duplicated header or claim names, genuinely signed."""
    members = {"alg": "ES256", "typ": typ, **(header or {})}
    claims = envelope_claims(body, issuer, at=at, ttl_s=ttl_s)
    return forge(text(members, *header_duplicates), text(claims, *claim_duplicates), key)


def broken_rules(*, typ: str, other_typ: str, issuer: str, other_serial: str) -> dict[str, Any]:
    """Each way an envelope of ``typ`` by ``issuer`` can break a rule every JWS obeys, by
    id: keyword arguments for ``forged_envelope``. Each is refused however genuine the
    signature; with the last value winning, the duplicates verified before the hub refused
    them (the first, with ``alg`` "none" then ES256, the issue's own example)."""
    return {
        "alg-none-then-es256": {
            "header": {"alg": "none"},
            "header_duplicates": (("alg", "ES256"),),
        },
        "typ-twice": {"header": {"typ": other_typ}, "header_duplicates": (("typ", typ),)},
        "iss-twice": {"claim_duplicates": (("iss", issuer),)},
        "jti-twice": {"claim_duplicates": (("jti", "another-nonce"),)},
        "kid-of-another-certificate": {"header": {"kid": other_serial}},
        "crit-unknown": {"header": {"crit": ["urn:example:x"], "urn:example:x": 1}},
        "b64-false": {"header": {"b64": False, "crit": ["b64"]}},
        "jwk": {"header": {"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}},
        "jku": {"header": {"jku": "https://keys.example/jwks.json"}},
        "x5u": {"header": {"x5u": "https://keys.example/cert.pem"}},
        "x5c": {"header": {"x5c": ["MIIB"]}},
    }
