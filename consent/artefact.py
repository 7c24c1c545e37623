"""Consent artefacts: what a citizen agreed to share, signed by the consent manager.

The consent manager (the Perlinsos portal) signs each artefact as a compact JWS (EdDSA over
Ed25519, ``typ: consent+jwt``); the hub verifies it with the portal's public key and then checks,
on every query, that it covers this subject, client, purpose, service and fields, and that it is
still active. Revocations are small signed statements of their own (``consent-revocation+jwt``).

Verifying a signature and checking coverage are separate on purpose: a signature check never
changes for a given token, so it can be cached (``ConsentVerifier``); time and revocation change,
so ``check_covers`` runs on every query with the caller's clock.

Refusals are ``ConsentError`` with a ``jembatan.v1.Reason`` name; their messages never carry the
subject's NIK.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jembatan.errors import Refusal
from jembatan.ids import is_code, is_field_name, is_member_id, is_service_id
from jembatan.jws import JwsInvalid, decode_typed
from jembatan.subject import is_nik

__all__ = [
    "CONSENT_TYP",
    "PURPOSE_BANSOS_ELIGIBILITY",
    "REVOCATION_TYP",
    "ConsentArtefact",
    "ConsentError",
    "ConsentVerifier",
    "artefact_digest",
    "check_covers",
    "generate_consent_manager_key",
    "grant",
    "sign_consent",
    "sign_revocation",
    "verify_consent",
    "verify_revocation",
]

CONSENT_TYP: Final = "consent+jwt"
REVOCATION_TYP: Final = "consent-revocation+jwt"
SUBJECT_TYP: Final = "subject+jwt"
# A subject token stands for a citizen the portal has just authenticated: valid for at most
# this long, and dated at most this far ahead of the hub's clock (the two clocks differ).
SUBJECT_TOKEN_MAX_S: Final = 15 * 60
SUBJECT_TOKEN_SKEW_S: Final = 30
PURPOSE_BANSOS_ELIGIBILITY: Final = "bansos-eligibility"
# Hard-coded, never taken from the token (RFC 8725 §2.1): this is what refuses "none",
# HS256 signed with the public key as the secret, and any other algorithm.
_ALGORITHM: Final = "EdDSA"

_CONSENT_CLAIMS: Final = ("iss", "jti", "sub", "grantee", "purpose", "services")
_CONSENT_CLAIMS_TIME: Final = ("iat", "nbf", "exp")
_REVOCATION_CLAIMS: Final = ("iss", "cid", "iat", "act")


class ConsentError(Refusal):
    """A consent (or revocation) the hub will not accept.

    ``reason`` is a ``jembatan.v1.Reason`` name; ``message`` is one line and never the NIK.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message)
        self.message = message


@dataclass(frozen=True)
class ConsentArtefact:
    """One citizen's consent, as signed. Datetimes are UTC, whole seconds (JWT NumericDate)."""

    consent_id: str
    issuer: str
    subject: str
    grantee: str
    purpose: str
    services: Mapping[str, frozenset[str]]
    issued_at: datetime
    not_before: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        # The subject is a NIK: keep it out of logs and tracebacks that print the artefact.
        return (
            f"ConsentArtefact(consent_id={self.consent_id!r}, issuer={self.issuer!r}, "
            f"grantee={self.grantee!r}, purpose={self.purpose!r}, "
            f"services={sorted(self.services)!r}, expires_at={self.expires_at.isoformat()})"
        )


def generate_consent_manager_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def grant(
    *,
    issuer: str,
    subject: str,
    grantee: str,
    purpose: str,
    services: Mapping[str, Iterable[str]],
    valid_for: timedelta,
    now: datetime | None = None,
    consent_id: str | None = None,
) -> ConsentArtefact:
    """A new artefact, valid from ``now`` for ``valid_for``; ValueError on bad input."""
    if valid_for <= timedelta(0):
        raise ValueError("consent must be valid for a positive duration")
    # Whole seconds, because that is all a JWT carries: what was granted is what verifies.
    start = _utc(now).replace(microsecond=0)
    artefact = ConsentArtefact(
        consent_id=consent_id if consent_id is not None else str(uuid.uuid4()),
        issuer=issuer,
        subject=subject,
        grantee=grantee,
        purpose=purpose,
        services=_freeze_services(services),
        issued_at=start,
        not_before=start,
        expires_at=start + _whole_seconds(valid_for),
    )
    _validate(artefact)
    return artefact


def sign_consent(artefact: ConsentArtefact, key: Ed25519PrivateKey) -> str:
    _validate(artefact)
    claims = {
        "iss": artefact.issuer,
        "jti": artefact.consent_id,
        "sub": artefact.subject,
        "grantee": artefact.grantee,
        "purpose": artefact.purpose,
        # Sorted, so the same artefact always signs to the same payload.
        "services": {s: sorted(f) for s, f in sorted(artefact.services.items())},
        "iat": _seconds(artefact.issued_at),
        "nbf": _seconds(artefact.not_before),
        "exp": _seconds(artefact.expires_at),
    }
    return jwt.encode(claims, key, algorithm=_ALGORITHM, headers={"typ": CONSENT_TYP})


def artefact_digest(token: str) -> str:
    """SHA-256 (hex) of a signed artefact: what the hub keeps instead of the token, which
    carries the NIK, and how it tells the artefact it granted from any other with that id."""
    return hashlib.sha256(token.encode()).hexdigest()


def verify_consent(token: str, key: Ed25519PublicKey, *, issuer: str) -> ConsentArtefact:
    """The artefact in ``token`` if ``issuer`` signed it with ``key``; else CONSENT_INVALID.

    Checks signature, algorithm, ``typ``, issuer and the claims' presence and shapes; not
    time, which ``check_covers`` checks against the caller's clock.
    """
    claims = _decode(token, key, issuer=issuer, typ=CONSENT_TYP, reason="CONSENT_INVALID")
    try:
        return _artefact_from_claims(claims)
    except ValueError as exc:
        raise ConsentError("CONSENT_INVALID", f"malformed consent: {exc}") from None


class ConsentVerifier:
    """``verify_consent`` for one consent manager, remembering tokens it has already verified.

    Caching is safe because a token is immutable: the same string always has the same
    signature verdict and decodes to the same artefact. What does change, revocation and
    time, is not part of that verdict; ``check_covers`` checks both on every query. Only
    successes are cached (``lru_cache`` does not keep exceptions), so a bad token costs a
    full verification each time and cannot evict good ones by failing.
    """

    def __init__(self, key: Ed25519PublicKey, *, issuer: str, cache_size: int = 4096) -> None:
        self.key = key
        self.issuer = issuer
        # Per instance, not a module-level cache: the key and issuer are part of the verdict.
        self._verify = functools.lru_cache(maxsize=cache_size)(self._verify_uncached)

    def verify(self, token: str) -> ConsentArtefact:
        artefact: ConsentArtefact = self._verify(token)
        return artefact

    def cache_info(self) -> functools._CacheInfo:
        return self._verify.cache_info()

    def _verify_uncached(self, token: str) -> ConsentArtefact:
        return verify_consent(token, self.key, issuer=self.issuer)


def check_covers(
    artefact: ConsentArtefact,
    *,
    subject: str,
    grantee: str,
    purpose: str,
    service: str,
    fields: Iterable[str],
    now: datetime,
    revoked: bool,
) -> None:
    """Raise ``ConsentError`` unless ``artefact`` covers this query at ``now``."""
    if revoked:
        raise ConsentError("CONSENT_REVOKED", f"consent {artefact.consent_id} was revoked")
    now = _utc(now)
    if now >= artefact.expires_at:
        raise ConsentError(
            "CONSENT_EXPIRED",
            f"consent {artefact.consent_id} expired at {artefact.expires_at.isoformat()}",
        )
    if now < artefact.not_before:
        raise ConsentError(
            "CONSENT_INVALID",
            f"consent {artefact.consent_id} not yet valid, "
            f"starts at {artefact.not_before.isoformat()}",
        )
    if subject != artefact.subject:
        # Name neither NIK: the message may reach the client and the logs.
        raise ConsentError(
            "CONSENT_SUBJECT_MISMATCH",
            f"consent {artefact.consent_id} is for another subject",
        )
    if grantee != artefact.grantee:
        raise ConsentError(
            "CONSENT_GRANTEE_MISMATCH",
            f"consent {artefact.consent_id} is granted to {artefact.grantee}, not {grantee}",
        )
    if purpose != artefact.purpose:
        raise ConsentError(
            "CONSENT_PURPOSE_MISMATCH",
            f"consent {artefact.consent_id} is for purpose {artefact.purpose!r}, not {purpose!r}",
        )
    consented = artefact.services.get(service)
    if consented is None:
        raise ConsentError(
            "CONSENT_SERVICE_MISMATCH",
            f"consent {artefact.consent_id} does not cover service {service}",
        )
    extra = set(fields) - consented
    if extra:
        raise ConsentError(
            "FIELD_NOT_CONSENTED",
            f"consent {artefact.consent_id} does not cover fields "
            f"{', '.join(sorted(extra))} of {service}",
        )


def sign_revocation(
    consent_id: str, key: Ed25519PrivateKey, *, issuer: str, now: datetime | None = None
) -> str:
    """The consent manager's signed statement that ``consent_id`` is revoked."""
    claims = {"iss": issuer, "cid": consent_id, "iat": _seconds(_utc(now)), "act": "revoke"}
    return jwt.encode(claims, key, algorithm=_ALGORITHM, headers={"typ": REVOCATION_TYP})


def verify_revocation(token: str, key: Ed25519PublicKey, *, issuer: str) -> str:
    """The consent id revoked by ``token``; ConsentError REVOCATION_INVALID otherwise."""
    claims = _decode(token, key, issuer=issuer, typ=REVOCATION_TYP, reason="REVOCATION_INVALID")
    missing = [c for c in _REVOCATION_CLAIMS if c not in claims]
    if missing:
        raise ConsentError("REVOCATION_INVALID", f"revocation lacks claims {', '.join(missing)}")
    if claims["act"] != "revoke":
        raise ConsentError("REVOCATION_INVALID", "act is not 'revoke'")
    try:
        _require_int(claims["iat"], "iat")
        return _require_uuid(claims["cid"], "cid")
    except ValueError as exc:
        raise ConsentError("REVOCATION_INVALID", f"malformed revocation: {exc}") from None


# --- subject tokens: a citizen's proof, issued by the portal, that a NIK is theirs ---------


def sign_subject_token(
    subject: str,
    key: Ed25519PrivateKey,
    *,
    issuer: str,
    valid_for: timedelta = timedelta(seconds=SUBJECT_TOKEN_MAX_S),
    now: datetime | None = None,
) -> str:
    """The consent manager's short-lived statement that the bearer is citizen ``subject``
    (after it authenticated them), for seeing who accessed their data."""
    if not is_nik(subject):
        raise ValueError("subject is not a 16-digit NIK")
    issued = _seconds(_utc(now))
    claims = {
        "iss": issuer,
        "sub": subject,
        "iat": issued,
        "exp": issued + int(valid_for.total_seconds()),
    }
    return jwt.encode(claims, key, algorithm=_ALGORITHM, headers={"typ": SUBJECT_TYP})


def verify_subject_token(token: str, key: Ed25519PublicKey, *, issuer: str, now: datetime) -> str:
    """The NIK the token speaks for; ConsentError SUBJECT_TOKEN_INVALID otherwise."""
    claims = _decode(token, key, issuer=issuer, typ=SUBJECT_TYP, reason="SUBJECT_TOKEN_INVALID")
    try:
        subject = claims["sub"]
        expires = _require_int(claims["exp"], "exp")
        issued = _require_int(claims["iat"], "iat")
    except (KeyError, ValueError) as exc:
        raise ConsentError("SUBJECT_TOKEN_INVALID", f"malformed subject token: {exc}") from None
    if not is_nik(subject):
        raise ConsentError("SUBJECT_TOKEN_INVALID", "sub is not a NIK")
    moment = _seconds(_utc(now))
    # A token dated ahead, or good for long, would outlive the citizen's session at the
    # portal: whoever copied it could read that citizen's records long after they left.
    if issued > moment + SUBJECT_TOKEN_SKEW_S:
        raise ConsentError("SUBJECT_TOKEN_INVALID", "subject token is issued in the future")
    if expires - issued > SUBJECT_TOKEN_MAX_S:
        raise ConsentError(
            "SUBJECT_TOKEN_INVALID", f"subject token is valid longer than {SUBJECT_TOKEN_MAX_S}s"
        )
    if moment >= expires:
        raise ConsentError("SUBJECT_TOKEN_INVALID", "subject token has expired")
    return subject


# --- internals ----------------------------------------------------------------------------


def _decode(
    token: str, key: Ed25519PublicKey, *, issuer: str, typ: str, reason: str
) -> dict[str, Any]:
    """Signature, algorithm, typ and issuer, in one decode (one Ed25519 verify)."""
    try:
        _, claims = decode_typed(token, key, algorithm=_ALGORITHM, typ=typ, issuer=issuer)
    except JwsInvalid as exc:
        raise ConsentError(reason, str(exc)) from None
    return claims


def _artefact_from_claims(claims: Mapping[str, Any]) -> ConsentArtefact:
    missing = [c for c in (*_CONSENT_CLAIMS, *_CONSENT_CLAIMS_TIME) if c not in claims]
    if missing:
        raise ValueError(f"missing claims {', '.join(missing)}")
    services = claims["services"]
    if not isinstance(services, dict) or not all(
        isinstance(fields, list) and all(isinstance(f, str) for f in fields)
        for fields in services.values()
    ):
        raise ValueError("services must map service ids to lists of field names")
    artefact = ConsentArtefact(
        consent_id=_require_str(claims["jti"], "jti"),
        issuer=_require_str(claims["iss"], "iss"),
        subject=_require_str(claims["sub"], "sub"),
        grantee=_require_str(claims["grantee"], "grantee"),
        purpose=_require_str(claims["purpose"], "purpose"),
        services=_freeze_services(services),
        issued_at=_from_seconds(claims["iat"], "iat"),
        not_before=_from_seconds(claims["nbf"], "nbf"),
        expires_at=_from_seconds(claims["exp"], "exp"),
    )
    _validate(artefact)
    return artefact


def _validate(artefact: ConsentArtefact) -> None:
    """The shape rules an artefact obeys however it was made; ValueError names the rule."""
    _require_uuid(artefact.consent_id, "consent id")
    if not is_member_id(artefact.issuer):
        raise ValueError(f"issuer {artefact.issuer!r} is not a member id")
    if not is_nik(artefact.subject):
        raise ValueError("subject is not a 16-digit NIK")  # and say no more about it
    if not is_member_id(artefact.grantee):
        raise ValueError(f"grantee {artefact.grantee!r} is not a member id")
    # Purpose and field names are stored with the consent: the same NIK-free shapes.
    if not is_code(artefact.purpose):
        raise ValueError(f"purpose {artefact.purpose!r} is not a purpose code")
    if not artefact.services:
        raise ValueError("consent names no service")
    for service, fields in artefact.services.items():
        if not is_service_id(service):
            raise ValueError(f"{service!r} is not a service id")
        if not fields:
            raise ValueError(f"consent names no field of {service}")
        for field in fields:
            if not is_field_name(field):
                raise ValueError(f"{field!r} is not a field name")
    if not artefact.issued_at <= artefact.not_before < artefact.expires_at:
        raise ValueError("times must satisfy iat <= nbf < exp")


def _freeze_services(services: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    if isinstance(services, str):
        raise ValueError("services must be a mapping")
    frozen: dict[str, frozenset[str]] = {}
    for service, fields in services.items():
        if isinstance(fields, str):  # a bare string would iterate as one-letter fields
            raise ValueError(f"fields of {service} must be a collection, not a string")
        frozen[service] = frozenset(fields)
    return MappingProxyType(frozen)


def _require_str(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _require_uuid(value: object, name: str) -> str:
    text = _require_str(value, name)
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise ValueError(f"{name} is not a UUID") from None
    if str(parsed) != text:  # one spelling only, so one consent has one id
        raise ValueError(f"{name} is not a lower-case hyphenated UUID")
    return text


def _require_int(value: object, name: str) -> int:
    # bool is an int in Python but not a NumericDate in JSON.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer")
    return value


def _from_seconds(value: object, name: str) -> datetime:
    seconds = _require_int(value, name)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{name} is out of range") from None


def _seconds(moment: datetime) -> int:
    return int(_utc(moment).timestamp())


def _whole_seconds(delta: timedelta) -> timedelta:
    return timedelta(seconds=int(delta.total_seconds()))


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
