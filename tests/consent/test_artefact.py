"""Consent artefacts with real Ed25519 signatures, each refusal on its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from consent.artefact import (
    ConsentArtefact,
    ConsentError,
    ConsentVerifier,
    check_covers,
    generate_consent_manager_key,
    grant,
    sign_consent,
    sign_revocation,
    sign_subject_token,
    verify_consent,
    verify_revocation,
    verify_subject_token,
)
from consent.receipt import RECEIPT_SCHEMA, RECEIPT_TYP, ReceiptError, verify_consent_receipt
from jembatan.errors import Refusal
from jembatan.keys import (
    PkiError,
    generate_key,
    key_to_pem,
    load_ed25519_private_pem,
    load_ed25519_public_pem,
    public_key_to_pem,
)
from tests.forged_jws import forge, text

PORTAL = "ID/GOV/KEMENSOS/perlinsos"
CLIENT = "ID/GOV/KEMENSOS/eligibility"
NIK = "3510010101900001"
WAGES = "ID/GOV/BPJSTK/wages/employment"
LAND = "ID/GOV/ATRBPN/land/parcels"
WAGE_FIELDS = frozenset({"employer", "monthly_wage", "active"})
NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
KEY = generate_consent_manager_key()
PUBLIC = KEY.public_key()


def _grant(**overrides: Any) -> ConsentArtefact:
    args: dict[str, Any] = {
        "issuer": PORTAL,
        "subject": NIK,
        "grantee": CLIENT,
        "purpose": "bansos-eligibility",
        "services": {WAGES: WAGE_FIELDS, LAND: ["parcel_count"]},
        "valid_for": timedelta(days=30),
        "now": NOW,
    }
    args.update(overrides)
    return grant(**args)


ARTEFACT = _grant()
TOKEN = sign_consent(ARTEFACT, KEY)


def _claims(artefact: ConsentArtefact = ARTEFACT) -> dict[str, Any]:
    return {
        "iss": artefact.issuer,
        "jti": artefact.consent_id,
        "sub": artefact.subject,
        "grantee": artefact.grantee,
        "purpose": artefact.purpose,
        "services": {s: sorted(f) for s, f in artefact.services.items()},
        "iat": int(artefact.issued_at.timestamp()),
        "nbf": int(artefact.not_before.timestamp()),
        "exp": int(artefact.expires_at.timestamp()),
    }


def _sign(claims: dict[str, Any], *, typ: str = "consent+jwt") -> str:
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"typ": typ})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _refused(reason: str, call: Callable[[], object]) -> ConsentError:
    with pytest.raises(ConsentError) as caught:
        call()
    assert caught.value.reason == reason, caught.value.message
    assert "\n" not in str(caught.value)
    assert NIK not in str(caught.value)
    return caught.value


# --- grant, sign, verify --------------------------------------------------------------------


def test_grant_fills_in_id_and_times() -> None:
    artefact = _grant(now=NOW + timedelta(microseconds=123))
    assert uuid.UUID(artefact.consent_id).version == 4
    assert artefact.issued_at == artefact.not_before == NOW
    assert artefact.expires_at == NOW + timedelta(days=30)
    assert artefact.services == {WAGES: WAGE_FIELDS, LAND: frozenset({"parcel_count"})}
    with pytest.raises(TypeError):
        artefact.services[WAGES] = frozenset()  # type: ignore[index]


def test_artefact_repr_hides_the_nik() -> None:
    assert NIK not in repr(ARTEFACT)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": "12345"}, "16-digit NIK"),
        ({"subject": "351001010190000\u0661"}, "16-digit NIK"),  # an Arabic-Indic digit
        ({"issuer": "perlinsos"}, "issuer"),
        ({"grantee": "ID/GOV/KEMENSOS/eligibility\n"}, "grantee"),
        ({"purpose": "Bansos Eligibility"}, "purpose"),
        ({"services": {}}, "no service"),
        ({"services": {"wages": ["x"]}}, "not a service id"),
        ({"services": {WAGES: []}}, "no field"),
        ({"services": {WAGES: "monthly_wage"}}, "not a string"),
        ({"services": {WAGES: ["monthly wage"]}}, "not a field name"),
        ({"valid_for": timedelta(0)}, "positive duration"),
        ({"consent_id": "not-a-uuid"}, "not a UUID"),
    ],
)
def test_grant_refuses_bad_input(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _grant(**overrides)


def test_sign_verify_round_trip() -> None:
    header = jwt.get_unverified_header(TOKEN)
    assert header == {"alg": "EdDSA", "typ": "consent+jwt"}
    assert verify_consent(TOKEN, PUBLIC, issuer=PORTAL) == ARTEFACT
    assert jwt.decode(TOKEN, options={"verify_signature": False}) == _claims()


def test_given_consent_id_is_kept() -> None:
    consent_id = str(uuid.uuid4())
    artefact = _grant(consent_id=consent_id)
    assert verify_consent(sign_consent(artefact, KEY), PUBLIC, issuer=PORTAL).consent_id == (
        consent_id
    )


def test_consent_error_is_a_hub_refusal() -> None:
    error = ConsentError("CONSENT_EXPIRED", "consent x expired")
    assert isinstance(error, Refusal)
    assert (error.reason, error.message) == ("CONSENT_EXPIRED", "consent x expired")
    assert str(error) == "CONSENT_EXPIRED: consent x expired"


# --- verify refusals ------------------------------------------------------------------------


def test_refuses_a_tampered_payload() -> None:
    head, _, signature = TOKEN.split(".")
    forged = json.dumps(_claims() | {"grantee": "ID/GOV/POLRI/vehicles"}).encode()
    error = _refused(
        "CONSENT_INVALID",
        lambda: verify_consent(f"{head}.{_b64(forged)}.{signature}", PUBLIC, issuer=PORTAL),
    )
    assert "signature" in error.message


def test_refuses_a_tampered_signature() -> None:
    head, body, signature = TOKEN.split(".")
    flipped = "A" if signature[0] != "A" else "B"
    token = f"{head}.{body}.{flipped}{signature[1:]}"
    _refused("CONSENT_INVALID", lambda: verify_consent(token, PUBLIC, issuer=PORTAL))


def test_refuses_another_key() -> None:
    other = Ed25519PrivateKey.generate().public_key()
    _refused("CONSENT_INVALID", lambda: verify_consent(TOKEN, other, issuer=PORTAL))


def test_refuses_alg_none() -> None:
    token = jwt.encode(_claims(), "", algorithm="none", headers={"typ": "consent+jwt"})
    error = _refused("CONSENT_INVALID", lambda: verify_consent(token, PUBLIC, issuer=PORTAL))
    assert "algorithm" in error.message


def test_refuses_hs256_made_with_the_public_key_as_secret() -> None:
    raw = PUBLIC.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyjwt rightly warns that the HMAC key is short
        token = jwt.encode(_claims(), raw, algorithm="HS256", headers={"typ": "consent+jwt"})
    error = _refused("CONSENT_INVALID", lambda: verify_consent(token, PUBLIC, issuer=PORTAL))
    assert "algorithm" in error.message


def test_refuses_hs256_made_with_the_public_pem_as_secret() -> None:
    # The classic confusion attack; built by hand because pyjwt refuses to sign it.
    head = _b64(json.dumps({"alg": "HS256", "typ": "consent+jwt"}).encode())
    body = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(public_key_to_pem(PUBLIC), f"{head}.{body}".encode(), hashlib.sha256)
    token = f"{head}.{body}.{_b64(mac.digest())}"
    _refused("CONSENT_INVALID", lambda: verify_consent(token, PUBLIC, issuer=PORTAL))


@pytest.mark.parametrize("claim", ["iss", "jti", "sub", "grantee", "purpose", "services", "exp"])
def test_refuses_a_missing_claim(claim: str) -> None:
    claims = _claims()
    del claims[claim]
    token = _sign(claims)
    error = _refused("CONSENT_INVALID", lambda: verify_consent(token, PUBLIC, issuer=PORTAL))
    assert claim in error.message


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "2025-07-01"),
        ("nbf", True),
        ("iat", 1.5),
        ("exp", 10**20),
        ("jti", 7),
        ("sub", 3510010101900001),
        ("services", [WAGES]),
        ("services", {WAGES: "monthly_wage"}),
        ("services", {WAGES: [1, 2]}),
    ],
)
def test_refuses_a_claim_of_the_wrong_type(claim: str, value: object) -> None:
    token = _sign(_claims() | {claim: value})
    _refused("CONSENT_INVALID", lambda: verify_consent(token, PUBLIC, issuer=PORTAL))


def test_refuses_the_wrong_typ() -> None:
    for typ in ("JWT", "consent-revocation+jwt"):
        token = _sign(_claims(), typ=typ)
        error = _refused("CONSENT_INVALID", partial(verify_consent, token, PUBLIC, issuer=PORTAL))
        assert "typ" in error.message


def test_refuses_the_wrong_issuer() -> None:
    error = _refused(
        "CONSENT_INVALID", lambda: verify_consent(TOKEN, PUBLIC, issuer="ID/GOV/KEMENSOS/other")
    )
    assert "not issued by" in error.message


def test_refuses_garbage_and_oversized_tokens() -> None:
    for token in ("", "a.b", "a.b.c", "x" * 100_000):
        _refused("CONSENT_INVALID", partial(verify_consent, token, PUBLIC, issuer=PORTAL))


def test_verify_does_not_check_time() -> None:
    # Long expired on the wall clock and "issued" in the future: still a valid signature.
    old = _grant(now=datetime(2001, 1, 1, tzinfo=UTC))
    future = _grant(now=datetime(2100, 1, 1, tzinfo=UTC))
    for artefact in (old, future):
        assert verify_consent(sign_consent(artefact, KEY), PUBLIC, issuer=PORTAL) == artefact


# --- coverage -------------------------------------------------------------------------------


def _covers(artefact: ConsentArtefact = ARTEFACT, **overrides: Any) -> None:
    args: dict[str, Any] = {
        "subject": NIK,
        "grantee": CLIENT,
        "purpose": "bansos-eligibility",
        "service": WAGES,
        "fields": ["monthly_wage"],
        "now": NOW + timedelta(days=1),
        "revoked": False,
    }
    args.update(overrides)
    check_covers(artefact, **args)


def test_covers_a_matching_query() -> None:
    _covers()
    _covers(fields=WAGE_FIELDS)
    _covers(service=LAND, fields=["parcel_count"])
    _covers(now=NOW)  # valid from the first second


@pytest.mark.parametrize(
    ("overrides", "reason", "words"),
    [
        ({"revoked": True}, "CONSENT_REVOKED", "revoked"),
        ({"now": NOW + timedelta(days=30)}, "CONSENT_EXPIRED", "expired"),
        ({"now": NOW + timedelta(days=300)}, "CONSENT_EXPIRED", "expired"),
        ({"now": NOW - timedelta(seconds=1)}, "CONSENT_INVALID", "not yet valid"),
        ({"subject": "3510010101900002"}, "CONSENT_SUBJECT_MISMATCH", "another subject"),
        ({"grantee": "ID/GOV/POLRI/vehicles"}, "CONSENT_GRANTEE_MISMATCH", "ID/GOV/POLRI"),
        ({"purpose": "marketing"}, "CONSENT_PURPOSE_MISMATCH", "marketing"),
        ({"service": "ID/GOV/POLRI/vehicles/owned"}, "CONSENT_SERVICE_MISMATCH", "POLRI"),
        (
            {"fields": ["monthly_wage", "home_address", "balance"]},
            "FIELD_NOT_CONSENTED",
            "balance, home_address",
        ),
    ],
)
def test_coverage_refusals(overrides: dict[str, Any], reason: str, words: str) -> None:
    error = _refused(reason, lambda: _covers(**overrides))
    assert words in error.message
    assert ARTEFACT.consent_id in error.message


def test_coverage_checks_in_order() -> None:
    # Everything wrong at once: revocation is what the caller hears first, then expiry.
    everything_wrong: dict[str, Any] = {
        "subject": "3510010101900002",
        "grantee": "ID/GOV/POLRI/vehicles",
        "purpose": "marketing",
        "service": LAND,
        "fields": ["balance"],
        "now": NOW + timedelta(days=31),
    }
    _refused("CONSENT_REVOKED", lambda: _covers(**everything_wrong, revoked=True))
    _refused("CONSENT_EXPIRED", lambda: _covers(**everything_wrong))
    subject_on = everything_wrong | {"now": NOW}
    _refused("CONSENT_SUBJECT_MISMATCH", lambda: _covers(**subject_on))
    _refused("CONSENT_GRANTEE_MISMATCH", lambda: _covers(**subject_on | {"subject": NIK}))


@given(st.sets(st.sampled_from(sorted(WAGE_FIELDS))))
def test_any_subset_of_consented_fields_is_covered(fields: set[str]) -> None:
    _covers(fields=fields)


@given(
    st.sets(st.sampled_from(sorted(WAGE_FIELDS))),
    st.sets(
        st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True).filter(
            lambda f: f not in WAGE_FIELDS
        ),
        min_size=1,
    ),
)
def test_any_extra_field_is_refused(fields: set[str], extra: set[str]) -> None:
    error = _refused("FIELD_NOT_CONSENTED", lambda: _covers(fields=fields | extra))
    for field in extra:
        assert field in error.message


# --- revocation -----------------------------------------------------------------------------


def test_revocation_round_trip() -> None:
    token = sign_revocation(ARTEFACT.consent_id, KEY, issuer=PORTAL, now=NOW)
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "consent-revocation+jwt"}
    assert jwt.decode(token, options={"verify_signature": False}) == {
        "iss": PORTAL,
        "cid": ARTEFACT.consent_id,
        "iat": int(NOW.timestamp()),
        "act": "revoke",
    }
    assert verify_revocation(token, PUBLIC, issuer=PORTAL) == ARTEFACT.consent_id


def test_revocation_refusals() -> None:
    token = sign_revocation(ARTEFACT.consent_id, KEY, issuer=PORTAL, now=NOW)
    head, _, signature = token.split(".")
    other = str(uuid.uuid4())
    forged = json.dumps({"iss": PORTAL, "cid": other, "iat": 0, "act": "revoke"}).encode()
    stranger = Ed25519PrivateKey.generate().public_key()
    refusals = [
        lambda: verify_revocation(f"{head}.{_b64(forged)}.{signature}", PUBLIC, issuer=PORTAL),
        lambda: verify_revocation(token, stranger, issuer=PORTAL),
        lambda: verify_revocation(token, PUBLIC, issuer=CLIENT),
        lambda: verify_revocation(TOKEN, PUBLIC, issuer=PORTAL),  # a consent, not a revocation
        lambda: verify_revocation(
            jwt.encode(
                {"iss": PORTAL, "cid": other, "iat": 0, "act": "grant"},
                KEY,
                algorithm="EdDSA",
                headers={"typ": "consent-revocation+jwt"},
            ),
            PUBLIC,
            issuer=PORTAL,
        ),
        lambda: verify_revocation(
            jwt.encode(
                {"iss": PORTAL, "iat": 0, "act": "revoke"},
                KEY,
                algorithm="EdDSA",
                headers={"typ": "consent-revocation+jwt"},
            ),
            PUBLIC,
            issuer=PORTAL,
        ),
    ]
    for refusal in refusals:
        _refused("REVOCATION_INVALID", refusal)


# --- the caching verifier -------------------------------------------------------------------


def test_verifier_caches_good_tokens_and_still_refuses_bad_ones() -> None:
    verifier = ConsentVerifier(PUBLIC, issuer=PORTAL, cache_size=2)
    first = verifier.verify(TOKEN)
    assert first == ARTEFACT
    assert verifier.verify(TOKEN) is first
    assert verifier.cache_info().hits == 1

    head, _, signature = TOKEN.split(".")
    forged = json.dumps(_claims() | {"sub": "3510010101900002"}).encode()
    tampered = f"{head}.{_b64(forged)}.{signature}"
    for _ in range(2):  # refusals are not cached, so the second try is refused as well
        _refused("CONSENT_INVALID", lambda: verifier.verify(tampered))
    assert verifier.verify(TOKEN) is first


def test_verifier_cache_is_bounded() -> None:
    verifier = ConsentVerifier(PUBLIC, issuer=PORTAL, cache_size=2)
    tokens = [sign_consent(_grant(), KEY) for _ in range(3)]
    for token in tokens:
        verifier.verify(token)
    assert verifier.cache_info().currsize == 2


def test_verifier_is_bound_to_its_issuer() -> None:
    verifier = ConsentVerifier(PUBLIC, issuer="ID/GOV/KEMENSOS/other")
    _refused("CONSENT_INVALID", lambda: verifier.verify(TOKEN))


# --- keys -----------------------------------------------------------------------------------


def test_key_pem_round_trip() -> None:
    loaded = load_ed25519_private_pem(key_to_pem(KEY))
    assert verify_consent(sign_consent(ARTEFACT, loaded), PUBLIC, issuer=PORTAL) == ARTEFACT
    public = load_ed25519_public_pem(public_key_to_pem(PUBLIC))
    assert verify_consent(TOKEN, public, issuer=PORTAL) == ARTEFACT


def test_key_pem_refuses_other_key_types() -> None:
    with pytest.raises(PkiError, match="expected Ed25519"):
        load_ed25519_private_pem(key_to_pem(generate_key()))
    p256_public = (
        generate_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(PkiError, match="expected Ed25519"):
        load_ed25519_public_pem(p256_public)


# --- subject tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued", "valid_for", "error"),
    [
        (NOW, timedelta(minutes=15), None),  # the longest a token may live
        (NOW + timedelta(seconds=30), timedelta(minutes=1), None),  # clocks differ a little
        (NOW + timedelta(seconds=31), timedelta(minutes=1), "issued in the future"),
        (NOW, timedelta(minutes=15, seconds=1), "valid longer than 900s"),
        (NOW - timedelta(minutes=16), timedelta(minutes=15), "expired"),
    ],
)
def test_a_subject_token_is_fresh_and_short_lived(
    issued: datetime, valid_for: timedelta, error: str | None
) -> None:
    token = sign_subject_token(NIK, KEY, issuer=PORTAL, now=issued, valid_for=valid_for)
    if error is None:
        assert verify_subject_token(token, PUBLIC, issuer=PORTAL, now=NOW) == NIK
    else:
        with pytest.raises(ConsentError, match=error) as refused:
            verify_subject_token(token, PUBLIC, issuer=PORTAL, now=NOW)
        assert refused.value.reason == "SUBJECT_TOKEN_INVALID"


def test_a_subject_token_without_exp_is_refused() -> None:
    token = _sign({"iss": PORTAL, "sub": NIK, "iat": int(NOW.timestamp())}, typ="subject+jwt")
    _refused(
        "SUBJECT_TOKEN_INVALID", lambda: verify_subject_token(token, PUBLIC, issuer=PORTAL, now=NOW)
    )


# --- duplicate names and header parameters, in every statement the consent manager signs ------


def _revocation_claims() -> dict[str, Any]:
    return {"iss": PORTAL, "cid": ARTEFACT.consent_id, "iat": int(NOW.timestamp()), "act": "revoke"}


def _subject_claims() -> dict[str, Any]:
    issued = int(NOW.timestamp())
    return {"iss": PORTAL, "sub": NIK, "iat": issued, "exp": issued + 60}


# (typ, claims, verify, reason) for each kind of statement.
_STATEMENTS = {
    "consent": (
        "consent+jwt",
        _claims,
        lambda token: verify_consent(token, PUBLIC, issuer=PORTAL),
        "CONSENT_INVALID",
    ),
    "revocation": (
        "consent-revocation+jwt",
        _revocation_claims,
        lambda token: verify_revocation(token, PUBLIC, issuer=PORTAL),
        "REVOCATION_INVALID",
    ),
    "subject-token": (
        "subject+jwt",
        _subject_claims,
        lambda token: verify_subject_token(token, PUBLIC, issuer=PORTAL, now=NOW),
        "SUBJECT_TOKEN_INVALID",
    ),
}
_HOW = {
    # alg "none" first, EdDSA last: with the last value winning, this verified as EdDSA.
    "alg-none-then-eddsa": ({"alg": "none"}, (("alg", "EdDSA"),), ()),
    "typ-twice": ({"typ": "JWT"}, (("typ", None),), ()),
    "iss-twice": ({}, (), (("iss", PORTAL),)),
    "iat-twice": ({}, (), (("iat", 0),)),
    "crit-unknown": ({"crit": ["urn:example:x"], "urn:example:x": 1}, (), ()),
    "b64-false": ({"b64": False, "crit": ["b64"]}, (), ()),
    "jwk": ({"jwk": json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(PUBLIC))}, (), ()),
    "jku": ({"jku": "https://keys.example/jwks.json"}, (), ()),
    "x5u": ({"x5u": "https://keys.example/cert.pem"}, (), ()),
    "x5c": ({"x5c": ["MIIB"]}, (), ()),
}


@pytest.mark.parametrize("how", _HOW.values(), ids=_HOW.keys())
@pytest.mark.parametrize("statement", _STATEMENTS.values(), ids=_STATEMENTS.keys())
def test_a_header_or_claims_the_hub_does_not_accept_is_refused(
    statement: tuple[str, Callable[[], dict[str, Any]], Callable[[str], object], str],
    how: tuple[dict[str, Any], tuple[tuple[str, Any], ...], tuple[tuple[str, Any], ...]],
) -> None:
    typ, claims, verify, reason = statement
    header, header_duplicates, claim_duplicates = how
    members = {"alg": "EdDSA", "typ": typ, **header}
    # A duplicate typ repeats the statement's own typ last (where None stands for it).
    duplicates = tuple((name, typ if value is None else value) for name, value in header_duplicates)
    token = forge(text(members, *duplicates), text(claims(), *claim_duplicates), KEY, "EdDSA")
    # The same texts without the duplicates or parameters verify: only the rule refuses.
    verify(forge(text({"alg": "EdDSA", "typ": typ}), text(claims()), KEY, "EdDSA"))
    _refused(reason, lambda: verify(token))


def test_a_consent_receipt_naming_a_claim_twice_is_refused() -> None:
    document = {"schema": RECEIPT_SCHEMA, "record_id": ARTEFACT.consent_id}
    header = text({"alg": "EdDSA", "typ": RECEIPT_TYP})
    assert verify_consent_receipt(forge(header, text(document), KEY, "EdDSA"), PUBLIC) == document
    twice = forge(header, text(document, ("record_id", str(uuid.uuid4()))), KEY, "EdDSA")
    with pytest.raises(ReceiptError, match="twice"):
        verify_consent_receipt(twice, PUBLIC)
