"""The Himbara state banks (BRI, BNI, Mandiri, BTN) as one hub agency: balances by NIK.

The banks answer in Bank Indonesia's SNAP shape: a signed ``POST`` balance inquiry, amounts as
decimal strings per account. The catalogue offers only totals over the accounts, which is what
an eligibility check needs; account numbers and which bank holds what are read past.

Amounts are added as ``Decimal``: float addition of "0.10" and "0.20" is not 0.30, and a total
one rupiah off could flip a balance-below-threshold answer.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal

from connectors.sdk.agency import AgencyUnavailable
from connectors.sdk.http import AgencyHttpClient, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.catalogue import FieldSpec
from jembatan.values import FieldValue

AGENCY = "Himbara"
AGENCY_ID = "ID/COM/HIMBARA/banks"
BALANCES_SERVICE = f"{AGENCY_ID}/balances"
SERVICE_IDS = (BALANCES_SERVICE,)

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec("account_count", "integer", "Accounts held at the four Himbara banks", "personal"),
    FieldSpec(
        "total_balance",
        "integer",
        "Today's balance over all those accounts, in whole rupiah (sen dropped)",
        "sensitive",
    ),
    FieldSpec(
        "average_balance_3m",
        "integer",
        "Average balance over the last three months, all accounts, in whole rupiah",
        "sensitive",
    ),
)

BALANCE_INQUIRY_PATH = "/snap/v1.0/balance-inquiry"
BANKS = ("BRI", "BNI", "Mandiri", "BTN")
SUCCESS = "2001100"
# Western Indonesia Time: the banks' clocks, and the offset SNAP timestamps carry.
WIB = datetime.timezone(datetime.timedelta(hours=7))

_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,17})\.[0-9]{2}")

Clock = Callable[[], datetime.datetime]


def minify(body: object) -> bytes:
    """The request body as SNAP signs it: JSON with no insignificant whitespace."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signature(client_secret: str, minified_body: bytes, timestamp: str) -> str:
    """SNAP's symmetric signature of a balance inquiry (HMAC-SHA512, base64)."""
    body_digest = hashlib.sha256(minified_body).hexdigest()
    string_to_sign = f"POST:{BALANCE_INQUIRY_PATH}:{body_digest}:{timestamp}"
    mac = hmac.new(client_secret.encode(), string_to_sign.encode(), hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def new_external_id() -> str:
    """A fresh X-EXTERNAL-ID: SNAP wants a numeric string, unique per request."""
    return f"{secrets.randbits(96):029d}"


def wib_now() -> datetime.datetime:
    return datetime.datetime.now(WIB)


class HimbaraAgency(HttpAgency):
    """The Agency protocol over the Himbara SNAP balance-inquiry API at ``base_url``.

    ``clock`` and ``external_ids`` are seams for tests (a stale timestamp, a replayed id);
    the defaults are the only sane production values.
    """

    def __init__(
        self,
        base_url: str,
        partner_id: str,
        client_secret: str,
        *,
        timeout_s: float = 2.0,
        clock: Clock = wib_now,
        external_ids: Callable[[], str] = new_external_id,
    ) -> None:
        super().__init__(AgencyHttpClient(AGENCY, base_url, timeout_s=timeout_s), CATALOGUE)
        self._partner_id = partner_id
        self._client_secret = client_secret
        self._clock = clock
        self._external_ids = external_ids

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        body = {"nik": nik}
        answer = await self._http.post_json(
            BALANCE_INQUIRY_PATH, body, headers=self._signed_headers(body)
        )
        return None if answer is None else _totals(answer, nik)

    def _signed_headers(self, body: object) -> dict[str, str]:
        timestamp = self._clock().isoformat(timespec="seconds")
        return {
            "X-TIMESTAMP": timestamp,
            "X-PARTNER-ID": self._partner_id,
            "X-EXTERNAL-ID": self._external_ids(),
            "X-SIGNATURE": signature(self._client_secret, minify(body), timestamp),
        }


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> HimbaraAgency:
    return HimbaraAgency(base_url, credentials["partner_id"], credentials["client_secret"])


def _totals(answer: object, nik: str) -> dict[str, FieldValue] | None:
    """The catalogue fields over the listed accounts; None when no account is listed."""
    # HTTP 200 with another code is a bank that half-answered: not an answer to release.
    inquiry = JsonRecord(AGENCY, answer)
    inquiry.choice("responseCode", {SUCCESS: SUCCESS})
    inquiry.record("additionalInfo").require_subject("nik", nik)
    accounts = inquiry.records("accountInfos")
    if not accounts:
        return None  # the banks say 404 for the unbanked; an empty list means the same
    for account in accounts:
        # The bank is never released, but one outside Himbara means a garbled answer.
        account.choice("bank", {bank: bank for bank in BANKS})
    return {
        "account_count": len(accounts),
        "total_balance": _whole_rupiah(_amount(a, "balance") for a in accounts),
        "average_balance_3m": _whole_rupiah(_amount(a, "avgBalance3m") for a in accounts),
    }


def _amount(account: JsonRecord, key: str) -> Decimal:
    """An SNAP amount object, {"value": "123456.00", "currency": "IDR"}, as exact rupiah."""
    amount = account.record(key)
    amount.choice("currency", {"IDR": "IDR"})
    value = amount.text("value")
    if _AMOUNT.fullmatch(value) is None:
        raise _malformed(f"{key} is not an amount")
    return Decimal(value)


def _whole_rupiah(amounts: Iterable[Decimal]) -> int:
    total = sum(amounts, Decimal(0))
    # Floor, not round: "below Rp 5,000,000" holds for the floor exactly when it holds for
    # the true total, so a threshold predicate over whole rupiah stays right.
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def _malformed(what: str) -> AgencyUnavailable:
    return AgencyUnavailable(f"{AGENCY} sent a malformed record: {what}")
