"""The JWS rules every signed statement obeys (``jembatan.jws``), each on its own.

Each forged token here is genuinely signed by the right key (``tests.forged_jws``): what
refuses it is the rule under test. The same rules are checked with each statement's own
reason in tests/pipeline (requests, approvals, agency answers) and tests/consent.
"""

from __future__ import annotations

import json

import jwt
import pytest

from jembatan.jws import (
    REQUEST_TYPE,
    EnvelopeError,
    JwsInvalid,
    decode_typed,
    sign_envelope,
    verify_envelope,
)
from jembatan.keys import generate_key
from tests.forged_jws import b64, envelope_claims, forge, forged_envelope, text

KEY = generate_key()
PUBLIC = KEY.public_key()
ISSUER = "ID/GOV/KEMENSOS/eligibility"
SERIAL = "1f2e3d"
BODY = b"\x0a\x05query"
NOW = 1_790_000_000
MAX_AGE_S, SKEW_S = 60, 30
TEN_YEARS_S = 10 * 365 * 86400


def _decode(token: str) -> dict[str, object]:
    _, claims = decode_typed(token, PUBLIC, algorithm="ES256", typ=REQUEST_TYPE)
    return claims


def _verify(token: str, *, now: float = NOW) -> None:
    verify_envelope(
        token,
        BODY,
        PUBLIC,
        issuer=ISSUER,
        typ=REQUEST_TYPE,
        serial=SERIAL,
        now=now,
        max_age_s=MAX_AGE_S,
        clock_skew_s=SKEW_S,
    )


def _forged(**how: object) -> str:
    return forged_envelope(BODY, KEY, issuer=ISSUER, typ=REQUEST_TYPE, at=NOW, **how)  # type: ignore[arg-type]


def _refused(token: str, reason: str = "SIGNATURE_INVALID", *, now: float = NOW) -> str:
    with pytest.raises(EnvelopeError) as refused:
        _verify(token, now=now)
    assert refused.value.reason == reason
    return str(refused.value)


def test_a_forged_token_with_nothing_wrong_passes() -> None:
    # The control for every case below: the forging itself is not what they refuse.
    _verify(_forged())
    _verify(_forged(header={"kid": SERIAL}))
    assert _decode(_forged())["iss"] == ISSUER


# --- duplicate names (RFC 7515 §4: a verifier may refuse them; the hub does) -------------------


@pytest.mark.parametrize(
    "how",
    [
        # alg "none" first, ES256 last: a parser where the last wins saw ES256 and let it in.
        pytest.param(
            {"header": {"alg": "none"}, "header_duplicates": (("alg", "ES256"),)},
            id="alg-none-then-es256",
        ),
        pytest.param({"header_duplicates": (("alg", "ES256"),)}, id="alg-twice-the-same"),
        pytest.param(
            {
                "header": {"typ": "jembatan-response+jwt"},
                "header_duplicates": (("typ", REQUEST_TYPE),),
            },
            id="typ",
        ),
        pytest.param({"header": {"kid": "aa"}, "header_duplicates": (("kid", SERIAL),)}, id="kid"),
    ],
)
def test_a_header_parameter_named_twice_is_refused(how: dict[str, object]) -> None:
    token = _forged(**how)
    with pytest.raises(JwsInvalid, match="twice"):
        _decode(token)
    _refused(token)


@pytest.mark.parametrize("name", ["iss", "iat", "exp", "jti", "body_sha256"])
def test_a_claim_named_twice_is_refused(name: str) -> None:
    claims = envelope_claims(BODY, ISSUER, at=NOW)
    token = forge(
        text({"alg": "ES256", "typ": REQUEST_TYPE}), text(claims, (name, claims[name])), KEY
    )
    with pytest.raises(JwsInvalid, match="twice"):
        _decode(token)
    _refused(token)


def test_a_name_twice_in_a_nested_claim_is_refused() -> None:
    claims = f'{{"iss":{json.dumps(ISSUER)},"services":{{"a":[1],"a":[2]}}}}'
    with pytest.raises(JwsInvalid, match="twice"):
        _decode(forge(text({"alg": "ES256", "typ": REQUEST_TYPE}), claims, KEY))


# --- header parameters: alg, typ and kid only ----------------------------------------------------

_JWK = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(PUBLIC))
_REFUSED_PARAMETERS = {
    "crit-unknown": {"crit": ["urn:example:ttl"], "urn:example:ttl": 1},
    "crit-b64": {"crit": ["b64"], "b64": True},
    "b64-false": {"b64": False, "crit": ["b64"]},
    "b64-false-not-critical": {"b64": False},
    # The signer's own key, embedded: refused for being there, not for being wrong.
    "jwk": {"jwk": _JWK},
    "jku": {"jku": "https://keys.example/jwks.json"},
    "x5u": {"x5u": "https://keys.example/cert.pem"},
    "x5c": {"x5c": ["MIIB"]},
    "x5t": {"x5t": "AAAA"},
    "cty": {"cty": "JWT"},
}


@pytest.mark.parametrize("header", _REFUSED_PARAMETERS.values(), ids=_REFUSED_PARAMETERS.keys())
def test_a_header_parameter_other_than_alg_typ_kid_is_refused(header: dict[str, object]) -> None:
    token = _forged(header=header)
    with pytest.raises(JwsInvalid, match="header parameter"):
        _decode(token)
    _refused(token)


def test_the_detached_payload_form_is_refused() -> None:
    # pyjwt's own b64=false token: an empty payload segment, the body given separately.
    token = jwt.encode(
        envelope_claims(BODY, ISSUER, at=NOW),
        KEY,
        algorithm="ES256",
        headers={"typ": REQUEST_TYPE, "b64": False},
    )
    assert token.split(".")[1] == ""
    _refused(token)


def test_a_kid_that_is_no_string_is_refused() -> None:
    _refused(_forged(header={"kid": 7}))


# --- kid: the signer's certificate, or nothing -------------------------------------------------


def test_a_kid_naming_another_certificate_is_refused() -> None:
    message = _refused(_forged(header={"kid": "abcdef"}))
    assert "kid" in message


# --- lifetime: exp required, exp - iat within the freshness window -----------------------------


@pytest.mark.parametrize(
    "ttl_s",
    [
        pytest.param(TEN_YEARS_S, id="ten-years"),
        pytest.param(MAX_AGE_S + 1, id="one-second-too-long"),
        pytest.param(0, id="exp-equals-iat"),
        pytest.param(-30, id="exp-before-iat"),
    ],
)
def test_a_lifetime_outside_the_freshness_window_is_request_expired(ttl_s: int) -> None:
    message = _refused(_forged(ttl_s=ttl_s), "REQUEST_EXPIRED")
    assert "lifetime" in message


def test_the_longest_lifetime_passes() -> None:
    _verify(_forged(ttl_s=MAX_AGE_S))


def test_a_token_without_exp_is_refused() -> None:
    claims = envelope_claims(BODY, ISSUER, at=NOW)
    del claims["exp"]
    message = _refused(forge(text({"alg": "ES256", "typ": REQUEST_TYPE}), text(claims), KEY))
    assert "exp" in message


# --- clock skew: the same either way -----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "fresh"),
    [
        # The signer's clock ahead of the hub's: issued "in the future".
        pytest.param(NOW - SKEW_S, True, id="signer-ahead-by-the-skew"),
        pytest.param(NOW - SKEW_S - 1, False, id="signer-ahead-beyond-the-skew"),
        # Behind: the hub sees the token past its exp.
        pytest.param(NOW + 30 + SKEW_S, True, id="past-exp-by-the-skew"),
        pytest.param(NOW + 30 + SKEW_S + 1, False, id="past-exp-beyond-the-skew"),
    ],
)
def test_the_clock_skew_is_allowed_either_way(now: float, fresh: bool) -> None:
    token = sign_envelope(BODY, KEY, issuer=ISSUER, typ=REQUEST_TYPE, ttl_s=30, now=NOW)
    if fresh:
        _verify(token, now=now)
    else:
        _refused(token, "REQUEST_EXPIRED", now=now)


def test_what_sign_envelope_makes_by_default_passes() -> None:
    # Its default lifetime (what the connector SDK signs with) fits the default window.
    _verify(sign_envelope(BODY, KEY, issuer=ISSUER, typ=REQUEST_TYPE, now=NOW))


def test_the_header_segment_must_be_json() -> None:
    token = f"{b64(b'not json')}.{b64(b'{}')}.{b64(b'sig')}"
    with pytest.raises(JwsInvalid):
        _decode(token)


def test_the_client_sdk_refuses_a_request_lifetime_under_a_second() -> None:
    from jembatan.client import HubClient

    with pytest.raises(ValueError, match="request_ttl_s"):
        HubClient(
            "127.0.0.1:1",
            key_pem=b"",
            cert_pem=b"",
            ca_pem=b"",
            unsafe_skip_receipt_check=True,
            request_ttl_s=0,
        )
