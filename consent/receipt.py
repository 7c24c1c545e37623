"""Consent receipts: the hub's signed account of one consent, for the citizen to keep.

The document follows the shape of an ISO/IEC TS 27560 consent record (record id, PII
principal, controller, purposes with their data, the consent's state and its events) and
is signed by the hub's log key as a compact JWS (EdDSA, ``typ: consent-receipt+jwt``), so
anyone holding the hub's published key can check it without asking the hub. The citizen
is named by the hub's keyed pseudonym, never the NIK, so a receipt passed on leaks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jembatan.errors import JembatanError
from jembatan.jws import JwsInvalid, decode_typed

RECEIPT_TYP: Final = "consent-receipt+jwt"
RECEIPT_SCHEMA: Final = "ISO/IEC TS 27560:2023 consent record (Jembatan profile v1)"


class ReceiptError(JembatanError, ValueError):
    """The receipt is not one the key signed, or is not a consent receipt."""


def sign_consent_receipt(document: Mapping[str, Any], key: Ed25519PrivateKey) -> str:
    return jwt.encode(dict(document), key, algorithm="EdDSA", headers={"typ": RECEIPT_TYP})


def verify_consent_receipt(token: str, key: Ed25519PublicKey) -> dict[str, Any]:
    """The signed document; ReceiptError if ``key`` did not sign exactly this receipt."""
    try:
        # A receipt records a consent at a moment; it does not expire.
        _, document = decode_typed(token, key, algorithm="EdDSA", typ=RECEIPT_TYP)
    except JwsInvalid as exc:
        raise ReceiptError(f"receipt does not verify: {exc}") from None
    if not isinstance(document, dict) or document.get("schema") != RECEIPT_SCHEMA:
        raise ReceiptError("not a consent receipt")
    return document
