"""A simulated Himbara balance-inquiry API, in the style of Bank Indonesia's SNAP.

``POST /snap/v1.0/balance-inquiry`` with JSON ``{"nik": ...}`` and SNAP's symmetric-signature
headers: ``X-TIMESTAMP`` (ISO 8601 with offset), ``X-PARTNER-ID``, ``X-EXTERNAL-ID`` (unique
per request) and ``X-SIGNATURE`` (see ``adapter.signature``). A request is refused with 401
when any of them is wrong, with one message whichever check failed: a caller that cannot sign
learns nothing about why. Amounts are decimal strings, as SNAP sends them.

The banks hold individual accounts; ``BankRecord`` only summarises them. The accounts are
derived from that record with a generator seeded by the NIK, so every run lists the same ones
and their balances, sen included, add back up to the record's whole-rupiah totals exactly.
"""

from __future__ import annotations

import datetime
import hmac
import itertools
import json
import random
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from connectors.himbara.adapter import BALANCE_INQUIRY_PATH, BANKS, SUCCESS, minify, signature
from connectors.population import BankRecord, Population
from connectors.simulation.apps import POPULATION, population_app
from jembatan.subject import is_nik

# A timestamp further than this from the bank's clock is stale (or from the future).
FRESHNESS = datetime.timedelta(minutes=5)
# An X-EXTERNAL-ID seen within this window is a replay. It must outlast the freshness window
# both ways, so an id can only be forgotten once its timestamp would be refused anyway.
REPLAY_WINDOW_S = 600.0
_MAX_EXTERNAL_ID = 36  # SNAP's limit on the header
_ACCOUNT_DIGITS = {"BRI": 15, "BNI": 10, "Mandiri": 13, "BTN": 16}

_UNAUTHORIZED = {"responseCode": "4011100", "responseMessage": "Unauthorized"}
_BAD_REQUEST = {"responseCode": "4001100", "responseMessage": "Bad Request"}
_BAD_NIK = {"responseCode": "4001102", "responseMessage": "Invalid Mandatory Field nik"}
_NOT_FOUND = {"responseCode": "4041101", "responseMessage": "Account Not Found"}


@dataclass
class _Partner:
    """The one partner (the Jembatan connector) and the external ids it used recently."""

    partner_id: bytes
    client_secret: str
    clock: Callable[[], float] = time.time
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def first_use(self, external_id: str) -> bool:
        """Records ``external_id``; False when it was already used within the window."""
        now = self.clock()
        # Insertion order is time order, so expired ids are all at the front.
        while self.seen and next(iter(self.seen.values())) <= now - REPLAY_WINDOW_S:
            self.seen.popitem(last=False)
        if external_id in self.seen:
            return False
        self.seen[external_id] = now
        return True


_PARTNER: web.AppKey[_Partner] = web.AppKey("partner", _Partner)


def new_credentials() -> dict[str, str]:
    # The partner id is an identifier, not a secret, but a fresh one per run costs nothing.
    return {
        "partner_id": f"JEMBATAN{secrets.randbelow(10**8):08d}",
        "client_secret": secrets.token_urlsafe(48),
    }


def make_app(population: Population, credentials: Mapping[str, str]) -> web.Application:
    app = population_app(population)
    app[_PARTNER] = _Partner(credentials["partner_id"].encode(), credentials["client_secret"])
    app.router.add_post(BALANCE_INQUIRY_PATH, _balance_inquiry)
    return app


def account_infos(nik: str, record: BankRecord) -> list[dict[str, object]]:
    """The accounts behind ``record``, in SNAP's accountInfos shape."""
    rng = random.Random(nik)
    count = record.account_count
    balances = _split_sen(rng, record.total_balance * 100, count)
    averages = _split_sen(rng, record.average_balance_3m * 100, count)
    infos: list[dict[str, object]] = []
    for balance, average in zip(balances, averages, strict=True):
        bank = rng.choice(BANKS)
        infos.append(
            {
                "bank": bank,
                "accountNo": _account_number(rng, bank),
                "balance": _amount(balance),
                "avgBalance3m": _amount(average),
            }
        )
    return infos


async def _balance_inquiry(request: web.Request) -> web.Response:
    raw = await request.read()
    if not _authentic(request, raw):
        return web.json_response(_UNAUTHORIZED, status=401)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return web.json_response(_BAD_REQUEST, status=400)
    nik = body.get("nik") if isinstance(body, dict) else None
    if not isinstance(nik, str) or not is_nik(nik):  # isinstance: for the type checker
        return web.json_response(_BAD_NIK, status=400)
    record = request.app[POPULATION].bank.get(nik)
    if record is None or record.account_count == 0:
        return web.json_response(_NOT_FOUND, status=404)
    return web.json_response(
        {
            "responseCode": SUCCESS,
            "responseMessage": "Successful",
            "accountInfos": account_infos(nik, record),
            "additionalInfo": {"nik": nik},
        }
    )


def _authentic(request: web.Request, raw: bytes) -> bool:
    """Partner, freshness, signature, then replay: each must hold."""
    partner = request.app[_PARTNER]
    headers = request.headers
    timestamp = headers.get("X-TIMESTAMP", "")
    external_id = headers.get("X-EXTERNAL-ID", "")
    given_signature = headers.get("X-SIGNATURE", "")
    if not hmac.compare_digest(headers.get("X-PARTNER-ID", "").encode(), partner.partner_id):
        return False
    if not _fresh(timestamp, partner.clock()) or not 0 < len(external_id) <= _MAX_EXTERNAL_ID:
        return False
    expected = signature(partner.client_secret, _signed_body(raw), timestamp)
    if not hmac.compare_digest(given_signature.encode(), expected.encode()):
        return False
    # Only after the signature holds: nobody else can fill the replay cache.
    return partner.first_use(external_id)


def _fresh(timestamp: str, now: float) -> bool:
    try:
        sent = datetime.datetime.fromisoformat(timestamp)
    except ValueError:
        return False
    if sent.tzinfo is None:  # SNAP requires the offset; a bare time is ambiguous
        return False
    return abs(sent.timestamp() - now) <= FRESHNESS.total_seconds()


def _signed_body(raw: bytes) -> bytes:
    # SNAP signs the minified body, so the bank minifies what it received; a body that is
    # not JSON is taken as it is (and refused as a bad request once the signature holds).
    try:
        return minify(json.loads(raw))
    except (ValueError, RecursionError):
        return raw


def _split_sen(rng: random.Random, total_sen: int, parts: int) -> list[int]:
    """``total_sen`` cut at random into ``parts`` non-negative amounts that add up to it."""
    cuts = sorted(rng.randint(0, total_sen) for _ in range(parts - 1))
    bounds = [0, *cuts, total_sen]
    return [high - low for low, high in itertools.pairwise(bounds)]


def _amount(sen: int) -> dict[str, str]:
    return {"value": f"{sen // 100}.{sen % 100:02d}", "currency": "IDR"}


def _account_number(rng: random.Random, bank: str) -> str:
    return "".join(rng.choice("0123456789") for _ in range(_ACCOUNT_DIGITS[bank]))
