"""The simulated Himbara SNAP balance-inquiry API and its adapter, over real loopback HTTP."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web

from connectors.himbara import BALANCES_SERVICE, CATALOGUE, SIMULATED, HimbaraAgency
from connectors.himbara.adapter import Clock, new_external_id, wib_now
from connectors.himbara.sim import account_infos
from connectors.population import Population, unknown_nik
from connectors.sdk.agency import Agency
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    assert_offers,
    assert_unavailable,
    banked,
    released_of,
    serve,
)
from tests.connectors.support import closing as adapter_for

PATH = "/snap/v1.0/balance-inquiry"
ALL_FIELDS = tuple(spec.name for spec in CATALOGUE)
WIB = datetime.timezone(datetime.timedelta(hours=7))
_external_ids = itertools.count(1)


def unbanked(population: Population) -> str:
    return next(h.head.nik for h in population.households if h.head.nik not in population.bank)


# --- SNAP signing, written out from the scheme here rather than imported from the adapter -----


def snap_headers(
    credentials: Mapping[str, str],
    body: bytes,
    *,
    at: datetime.datetime | None = None,
    timestamp: str | None = None,
    external_id: str | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    stamp = timestamp or (at or datetime.datetime.now(WIB)).isoformat(timespec="seconds")
    minified = json.dumps(json.loads(body), separators=(",", ":")).encode()
    string_to_sign = f"POST:{PATH}:{hashlib.sha256(minified).hexdigest()}:{stamp}"
    key = (secret or credentials["client_secret"]).encode()
    mac = hmac.new(key, string_to_sign.encode(), hashlib.sha512).digest()
    return {
        "X-TIMESTAMP": stamp,
        "X-PARTNER-ID": credentials["partner_id"],
        "X-EXTERNAL-ID": external_id or f"{next(_external_ids):020d}",
        "X-SIGNATURE": base64.b64encode(mac).decode(),
    }


def nik_body(nik: str) -> bytes:
    # Spaced on purpose: the bank must minify before checking the signature.
    return json.dumps({"nik": nik}, indent=2).encode()


async def inquire(
    http: aiohttp.ClientSession, sim: SimHandle, body: bytes, headers: Mapping[str, str]
) -> tuple[int, dict[str, object]]:
    post_headers = {"Content-Type": "application/json", **headers}
    async with http.post(f"{sim.url}{PATH}", data=body, headers=post_headers) as response:
        return response.status, await response.json()


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """An inquiry about ``nik`` signed with the secret ``sim`` issued, or a wrong one."""
    body = nik_body(nik)
    headers = snap_headers(sim.credentials, body, secret=None if authorised else "wrong")
    return (await inquire(http, sim, body, headers))[0]


# --- the simulator's API ----------------------------------------------------------------------


async def test_sim_answers_in_snap_shape(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    nik = banked(population)
    body = nik_body(nik)
    status, answer = await inquire(http, sim, body, snap_headers(sim.credentials, body))
    assert status == 200
    assert answer["responseCode"] == "2001100" and answer["responseMessage"] == "Successful"
    assert answer["additionalInfo"] == {"nik": nik}
    accounts = answer["accountInfos"]
    assert isinstance(accounts, list) and len(accounts) == population.bank[nik].account_count
    for account in accounts:
        assert set(account) == {"bank", "accountNo", "balance", "avgBalance3m"}
        assert account["bank"] in ("BRI", "BNI", "Mandiri", "BTN")
        assert account["accountNo"].isdigit()
        for amount in (account["balance"], account["avgBalance3m"]):
            assert amount["currency"] == "IDR"
            assert re.fullmatch(r"\d+\.\d\d", amount["value"])


def test_accounts_add_up_to_the_register_to_the_sen(population: Population) -> None:
    with_sen = 0
    for nik, record in population.bank.items():
        accounts = account_infos(nik, record)
        assert accounts == account_infos(nik, record)  # the same every run
        balances = [Decimal(a["balance"]["value"]) for a in accounts]  # type: ignore[index]
        averages = [Decimal(a["avgBalance3m"]["value"]) for a in accounts]  # type: ignore[index]
        assert sum(balances) == record.total_balance
        assert sum(averages) == record.average_balance_3m
        with_sen += any(b % 1 for b in balances)
    assert with_sen > 0  # the adapter's decimal arithmetic is really exercised


async def test_sim_does_not_know_the_unbanked(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    for nik in (unbanked(population), unknown_nik(population)):
        body = nik_body(nik)
        status, answer = await inquire(http, sim, body, snap_headers(sim.credentials, body))
        assert status == 404 and answer["responseCode"] == "4041101"


REFUSED = {
    "no headers": lambda c, b: {},
    "wrong partner": lambda c, b: {**snap_headers(c, b), "X-PARTNER-ID": "SOMEONE-ELSE"},
    "wrong secret": lambda c, b: snap_headers(c, b, secret="not-the-secret"),
    "tampered signature": lambda c, b: {**snap_headers(c, b), "X-SIGNATURE": "AAAA"},
    "stale": lambda c, b: snap_headers(
        c, b, at=datetime.datetime.now(WIB) - datetime.timedelta(minutes=6)
    ),
    "future": lambda c, b: snap_headers(
        c, b, at=datetime.datetime.now(WIB) + datetime.timedelta(minutes=6)
    ),
    "no offset": lambda c, b: snap_headers(
        c, b, timestamp=datetime.datetime.now().isoformat(timespec="seconds")
    ),
    "no external id": lambda c, b: {**snap_headers(c, b), "X-EXTERNAL-ID": ""},
    "external id too long": lambda c, b: snap_headers(c, b, external_id="9" * 37),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_sim_refuses_what_is_not_signed_right(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, case: str
) -> None:
    body = nik_body(banked(population))
    status, answer = await inquire(http, sim, body, REFUSED[case](sim.credentials, body))
    # One answer whichever check failed: nothing about why, nothing about the subject.
    assert status == 401
    assert answer == {"responseCode": "4011100", "responseMessage": "Unauthorized"}


async def test_sim_refuses_a_body_changed_after_signing(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    headers = snap_headers(sim.credentials, nik_body(banked(population)))
    status, _ = await inquire(http, sim, nik_body(unbanked(population)), headers)
    assert status == 401


async def test_sim_refuses_a_replayed_external_id(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    body = nik_body(banked(population))
    first = snap_headers(sim.credentials, body, external_id="12345")
    assert (await inquire(http, sim, body, first))[0] == 200
    assert (await inquire(http, sim, body, first))[0] == 401
    # Even signed afresh, with a new timestamp: the id alone makes it a replay.
    again = snap_headers(sim.credentials, body, external_id="12345")
    assert (await inquire(http, sim, body, again))[0] == 401


async def test_sim_checks_the_signature_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    body = nik_body("not-a-nik")
    headers = snap_headers(sim.credentials, body, secret="not-the-secret")
    assert (await inquire(http, sim, body, headers))[0] == 401


@pytest.mark.parametrize(
    "payload",
    [{}, {"nik": 3510102603950004}, {"nik": "351010260395000"}, {"nik": "35101026039500a4"}, []],
    ids=repr,
)
async def test_sim_refuses_a_malformed_nik(
    sim: SimHandle, http: aiohttp.ClientSession, payload: object
) -> None:
    body = json.dumps(payload).encode()
    status, answer = await inquire(http, sim, body, snap_headers(sim.credentials, body))
    assert status == 400 and str(answer["responseCode"]).startswith("400")


# --- the adapter ------------------------------------------------------------------------------


def test_catalogue_is_the_balance_summary() -> None:
    fields = ("account_count", "total_balance", "average_balance_3m")
    assert_offers(SIMULATED, "ID/COM/HIMBARA/banks", {BALANCES_SERVICE: fields})
    assert {spec.type for spec in CATALOGUE} == {"integer"}


def _late_clock() -> datetime.datetime:
    return datetime.datetime.now(WIB) - datetime.timedelta(minutes=10)


def adapter_with(
    sim: SimHandle,
    *,
    partner_id: str | None = None,
    client_secret: str | None = None,
    clock: Clock = wib_now,
    external_ids: Callable[[], str] = new_external_id,
) -> HimbaraAgency:
    return HimbaraAgency(
        sim.url,
        partner_id or sim.credentials["partner_id"],
        client_secret or sim.credentials["client_secret"],
        clock=clock,
        external_ids=external_ids,
    )


MISCONFIGURED: dict[str, Callable[[SimHandle], HimbaraAgency]] = {
    "partner": lambda sim: adapter_with(sim, partner_id="SOMEONE-ELSE"),
    "secret": lambda sim: adapter_with(sim, client_secret="not-the-secret"),
    "stale-clock": lambda sim: adapter_with(sim, clock=_late_clock),
}


@pytest.mark.parametrize("case", list(MISCONFIGURED))
async def test_adapter_unavailable_when_refused(
    sim: SimHandle, population: Population, case: str
) -> None:
    async with adapter_for(MISCONFIGURED[case](sim)) as adapter:
        error = await assert_unavailable(adapter, banked(population), ALL_FIELDS, "401")
    assert sim.credentials["client_secret"] not in str(error)


async def test_adapter_unavailable_when_it_replays(sim: SimHandle, population: Population) -> None:
    nik = banked(population)
    async with adapter_for(adapter_with(sim, external_ids=lambda: "777")) as adapter:
        assert await adapter.fetch(nik, ["account_count"]) is not None
        await assert_unavailable(adapter, nik, ["account_count"], "401")


async def test_adapter_uses_a_new_external_id_each_time(
    agency: Agency, population: Population
) -> None:
    nik = banked(population)
    for _ in range(3):
        assert await agency.fetch(nik, ["account_count"]) is not None


# --- answers no honest bank gives, and amounts that float arithmetic gets wrong ---------------


@asynccontextmanager
async def fake_bank(
    accounts: object, *, code: str = "2001100", nik: str | None = None
) -> AsyncIterator[str]:
    """A stand-in bank that checks no signature and lists ``accounts``."""

    async def answer(request: web.Request) -> web.Response:
        asked = (await request.json())["nik"]
        return web.json_response(
            {
                "responseCode": code,
                "responseMessage": "Successful",
                "accountInfos": accounts,
                "additionalInfo": {"nik": nik or asked},
            }
        )

    app = web.Application()
    app.router.add_post(PATH, answer)
    async with serve(app) as url:
        yield url


def _account(value: object = "100.00", currency: object = "IDR", bank: object = "BRI") -> object:
    amount = {"value": value, "currency": currency}
    return {"bank": bank, "accountNo": "1", "balance": amount, "avgBalance3m": amount}


async def test_adapter_adds_amounts_exactly(population: Population) -> None:
    # As floats, 0.7 + 0.2 + 0.1 is 0.9999999999999999, which would truncate to 0.
    accounts = [_account("0.70"), _account("0.20"), _account("0.10")]
    async with fake_bank(accounts) as url, adapter_for(HimbaraAgency(url, "p", "s")) as adapter:
        values = await adapter.fetch(banked(population), ALL_FIELDS)
    assert values == {"account_count": 3, "total_balance": 1, "average_balance_3m": 1}


async def test_adapter_drops_the_sen_of_the_total(population: Population) -> None:
    accounts = [_account("4999999.99")]
    async with fake_bank(accounts) as url, adapter_for(HimbaraAgency(url, "p", "s")) as adapter:
        values = await adapter.fetch(banked(population), ["total_balance"])
    assert values == {"total_balance": 4_999_999}  # still below a Rp 5,000,000 line, as it is


async def test_adapter_reads_an_empty_account_list_as_no_record(population: Population) -> None:
    async with fake_bank([]) as url, adapter_for(HimbaraAgency(url, "p", "s")) as adapter:
        assert await adapter.fetch(banked(population), ALL_FIELDS) is None


@pytest.mark.parametrize(
    "accounts",
    [
        [_account("1e3")],
        [_account("12.5")],
        [_account(1200)],
        [_account("-1.00")],
        [_account("NaN")],
        [_account(currency="USD")],
        [_account(bank="BCA")],
        [{"bank": "BRI", "accountNo": "1", "balance": "100.00"}],
        ["BRI"],
        {"BRI": _account()},
    ],
    ids=[
        "exp",
        "one-digit-sen",
        "number",
        "negative",
        "nan",
        "usd",
        "bank",
        "flat",
        "item",
        "dict",
    ],
)
async def test_adapter_unavailable_on_a_bad_account_list(
    population: Population, accounts: object
) -> None:
    async with fake_bank(accounts) as url, adapter_for(HimbaraAgency(url, "p", "s")) as adapter:
        await assert_unavailable(adapter, banked(population), ALL_FIELDS)


@pytest.mark.parametrize(
    "settings", [{"code": "2021100"}, {"nik": "3510100101800001"}], ids=["code", "other-nik"]
)
async def test_adapter_unavailable_on_a_bad_envelope(
    population: Population, settings: dict[str, str]
) -> None:
    async with (
        fake_bank([_account()], **settings) as url,
        adapter_for(HimbaraAgency(url, "p", "s")) as adapter,
    ):
        await assert_unavailable(adapter, banked(population), ALL_FIELDS)


# --- the policy -------------------------------------------------------------------------------


async def test_policy_releases_only_the_eligibility_answers(
    agency: Agency, population: Population
) -> None:
    # Which fields at all: test_every_agency; here, how.
    nik = banked(population)
    released = await released_of(agency, nik, BALANCES_SERVICE, ALL_FIELDS)
    record = population.bank[nik]
    assert released == {
        "account_count": record.account_count,
        "total_balance": record.total_balance < 5_000_000,
        "average_balance_3m": record.average_balance_3m < 2_000_000,
    }
