"""DTKS (Kemensos): the simulated OAuth2-protected register and its adapter, over loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.dtks import REGISTRY_SERVICE, SIMULATED, DtksAgency
from connectors.dtks.sim import make_app
from connectors.population import REFERENCE_DATE, DtksRecord, Population, unknown_nik
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    assert_offers,
    assert_unavailable,
    closing,
    pilot_decision,
    serve,
)

ALL_FIELDS = ("in_dtks", "decile", "last_verified", "household_size", "programmes")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RECORD = "/api/dtks/v1/individu/{nik}"


class FakeClock:
    """Stands still unless moved, or moves ``step`` seconds on every reading."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def registered_head(population: Population, in_dtks: bool = True) -> str:
    return next(nik for nik, record in population.dtks.items() if record.in_dtks == in_dtks)


def unlisted_head(population: Population) -> str:
    """A household head DTKS has never listed: a poor family missed by the register, say."""
    return next(h.head.nik for h in population.households if h.head.nik not in population.dtks)


def catalogue_values(record: DtksRecord) -> dict[str, object]:
    return dataclasses.asdict(record)  # the record's fields are the catalogue's


async def get_token(
    http: aiohttp.ClientSession, url: str, form: Mapping[str, str]
) -> tuple[int, dict[str, object]]:
    async with http.post(f"{url}/oauth/token", data=dict(form)) as response:
        return response.status, await response.json()


def grant(credentials: Mapping[str, str], **changes: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", **credentials, **changes}


async def get_record(
    http: aiohttp.ClientSession, url: str, nik: str, token: str | None
) -> tuple[int, dict[str, object]]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with http.get(url + RECORD.format(nik=nik), headers=headers) as response:
        return response.status, await response.json()


async def token_of(http: aiohttp.ClientSession, sim: SimHandle) -> str:
    status, body = await get_token(http, sim.url, grant(sim.credentials))
    assert status == 200 and isinstance(body["access_token"], str)
    return body["access_token"]


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """A lookup of ``nik`` with a token ``sim`` issued, or a forged one (test_every_agency)."""
    token = await token_of(http, sim) if authorised else "forged"
    return (await get_record(http, sim.url, nik, token))[0]


@asynccontextmanager
async def counted_sim(
    population: Population, clock: FakeClock
) -> AsyncIterator[tuple[str, dict[str, str], list[str]]]:
    """The real DTKS app on ``clock``, recording which endpoint each request was for."""
    credentials = SIMULATED.new_credentials()
    app = make_app(population, credentials, clock=clock)
    paths: list[str] = []

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        paths.append("token" if request.path == "/oauth/token" else "record")
        return await handler(request)

    app.middlewares.append(count)
    async with serve(app) as url:
        yield url, dict(credentials), paths


@asynccontextmanager
async def counted_adapter(
    population: Population, clock: FakeClock, adapter_clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[tuple[DtksAgency, list[str]]]:
    """An adapter on ``adapter_clock`` for ``counted_sim``, and the endpoints it asked for."""
    async with counted_sim(population, clock) as (url, credentials, paths):
        client_id, secret = credentials["client_id"], credentials["client_secret"]
        async with closing(DtksAgency(url, client_id, secret, clock=adapter_clock)) as adapter:
            yield adapter, paths


# --- the simulator's API ----------------------------------------------------------------------


def test_simulated_agency_offers_its_catalogue() -> None:
    assert_offers(SIMULATED, "ID/GOV/KEMENSOS/dtks", {REGISTRY_SERVICE: ALL_FIELDS})


async def test_sim_issues_a_bearer_token_and_answers_in_dtks_shape(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    status, body = await get_token(http, sim.url, grant(sim.credentials))
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    token = body["access_token"]
    assert isinstance(token, str)
    nik = next(n for n, r in population.dtks.items() if "," in r.programmes)
    record = population.dtks[nik]
    status, body = await get_record(http, sim.url, nik, token)
    assert status == 200
    assert body == {
        "nik": nik,
        "status_dtks": "TERDAFTAR" if record.in_dtks else "TIDAK_TERDAFTAR",
        "desil": record.decile,
        "tgl_verivali": record.last_verified.strftime("%d-%m-%Y"),
        "jumlah_art": record.household_size,
        "program": record.programmes.split(","),
    }
    nobody = next(n for n, r in population.dtks.items() if r.programmes == "")
    status, body = await get_record(http, sim.url, nobody, token)
    assert status == 200 and body["program"] == []


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"client_secret": "wrong"},
        {"client_id": "wrong"},
        {"client_secret": ""},
    ],
    ids=["nothing", "wrong-secret", "wrong-id", "empty-secret"],
)
async def test_sim_refuses_a_wrong_client(
    sim: SimHandle, http: aiohttp.ClientSession, form: dict[str, str]
) -> None:
    offered = grant(sim.credentials, **form) if form else {"grant_type": "client_credentials"}
    status, body = await get_token(http, sim.url, offered)
    assert status == 401 and body == {"error": "invalid_client"}


async def test_sim_refuses_another_grant_type(sim: SimHandle, http: aiohttp.ClientSession) -> None:
    status, body = await get_token(http, sim.url, grant(sim.credentials, grant_type="password"))
    assert status == 400 and body == {"error": "unsupported_grant_type"}


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_sim_refuses_a_missing_or_unknown_token(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, token: str | None
) -> None:
    status, body = await get_record(http, sim.url, registered_head(population), token)
    assert status == 401 and body == {"error": "invalid_token"}


async def test_sim_refuses_the_client_secret_as_a_token(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    secret = sim.credentials["client_secret"]
    status, _ = await get_record(http, sim.url, registered_head(population), secret)
    assert status == 401
    async with http.get(
        sim.url + RECORD.format(nik=registered_head(population)),
        headers={"Authorization": f"Basic {await token_of(http, sim)}"},
    ) as response:
        assert response.status == 401  # a token, but not as a bearer


async def test_sim_refuses_an_expired_token(
    population: Population, http: aiohttp.ClientSession
) -> None:
    clock = FakeClock()
    async with counted_sim(population, clock) as (url, credentials, _):
        _, body = await get_token(http, url, grant(credentials))
        token = str(body["access_token"])
        nik = registered_head(population)
        clock.now += 299
        assert (await get_record(http, url, nik, token))[0] == 200
        clock.now += 1
        assert (await get_record(http, url, nik, token))[0] == 401


@pytest.mark.parametrize("nik", ["351011440677000", "35101144067700a1", "٣" * 16])
async def test_sim_refuses_a_malformed_nik(
    sim: SimHandle, http: aiohttp.ClientSession, nik: str
) -> None:
    status, _ = await get_record(http, sim.url, nik, await token_of(http, sim))
    assert status == 400


async def test_sim_checks_the_token_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    assert (await get_record(http, sim.url, "not-a-nik", "forged"))[0] == 401


async def test_sim_does_not_know_unlisted_people(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    token = await token_of(http, sim)
    for nik in (unlisted_head(population), unknown_nik(population)):
        assert (await get_record(http, sim.url, nik, token))[0] == 404


# --- the adapter ------------------------------------------------------------------------------


async def test_adapter_reuses_its_token_until_shortly_before_expiry(
    population: Population,
) -> None:
    clock = FakeClock()
    nik = registered_head(population)
    async with counted_adapter(population, clock, clock) as (adapter, paths):
        # A burst of first queries shares one token request.
        await asyncio.gather(*(adapter.fetch(nik, ["decile"]) for _ in range(10)))
        clock.now += 260
        await adapter.fetch(nik, ["decile"])
        assert paths.count("token") == 1
        clock.now += 15  # 275 s: within the last 30 s of the token's 300
        await adapter.fetch(nik, ["decile"])
        assert paths.count("token") == 2 and paths.count("record") == 12


async def test_adapter_refetches_a_token_the_register_no_longer_honours(
    population: Population,
) -> None:
    agency_clock = FakeClock()
    nik = registered_head(population)
    # The adapter's clock stands still: it believes its token is fresh.
    async with counted_adapter(population, agency_clock, FakeClock()) as (adapter, paths):
        await adapter.fetch(nik, ["decile"])
        agency_clock.now += 301
        values = await adapter.fetch(nik, ALL_FIELDS)
    assert values == catalogue_values(population.dtks[nik])
    assert paths == ["token", "record", "record", "token", "record"]


async def test_adapter_refetches_only_once(population: Population) -> None:
    # An agency whose clock jumps past every token's expiry between issuing and checking it:
    # the retry is refused too, and the adapter gives up instead of looping.
    racing_clock = FakeClock(step=301)
    async with counted_adapter(population, racing_clock) as (adapter, paths):
        await assert_unavailable(adapter, registered_head(population), ALL_FIELDS, "401")
    assert paths == ["token", "record", "token", "record"]


def good_token() -> dict[str, object]:
    return {"access_token": "t", "token_type": "Bearer", "expires_in": 300}


def dtks_body(nik: str) -> dict[str, object]:
    return {
        "nik": nik,
        "status_dtks": "TERDAFTAR",
        "desil": 2,
        "tgl_verivali": "14-01-2026",
        "jumlah_art": 4,
        "program": ["PKH"],
    }


BAD_TOKENS: list[dict[str, object]] = [
    {**good_token(), "token_type": "mac"},
    {**good_token(), "expires_in": 0},
    {**good_token(), "expires_in": "300"},
    {"token_type": "Bearer", "expires_in": 300},
]
BAD_RECORDS: list[dict[str, object]] = [
    {"nik": "3510100101800001"},  # someone else
    {"desil": 11},
    {"desil": True},
    {"tgl_verivali": "2026-01-14"},
    {"jumlah_art": 0},
    {"status_dtks": "YA"},
    {"program": "PKH"},
    {"program": ["PKH", 1]},
    {"program": ["PKH,BPNT"]},
    {"program": None},
]


@asynccontextmanager
async def fake_dtks(
    token: Mapping[str, object], changes: Mapping[str, object]
) -> AsyncIterator[str]:
    async def issue(request: web.Request) -> web.Response:
        return web.json_response(dict(token))

    async def individu(request: web.Request) -> web.Response:
        return web.json_response(dtks_body(request.match_info["nik"]) | dict(changes))

    app = web.Application()
    app.router.add_post("/oauth/token", issue)
    app.router.add_get(RECORD, individu)
    async with serve(app) as url:
        yield url


@pytest.mark.parametrize(
    ("token", "changes"),
    [(token, {}) for token in BAD_TOKENS] + [(good_token(), change) for change in BAD_RECORDS],
)
async def test_adapter_unavailable_on_a_bad_answer(
    population: Population, token: dict[str, object], changes: dict[str, object]
) -> None:
    async with (
        fake_dtks(token, changes) as url,
        closing(DtksAgency(url, "id", "secret")) as adapter,
    ):
        await assert_unavailable(adapter, registered_head(population), ALL_FIELDS)


async def test_a_well_formed_fake_answer_is_read(population: Population) -> None:
    # The control for the bad answers above: the same fake, unchanged, is accepted.
    nik = registered_head(population)
    async with (
        fake_dtks(good_token(), {}) as url,
        closing(DtksAgency(url, "id", "secret")) as adapter,
    ):
        values = await adapter.fetch(nik, ALL_FIELDS)
    assert values == {
        "in_dtks": True,
        "decile": 2,
        "last_verified": datetime.date(2026, 1, 14),
        "household_size": 4,
        "programmes": "PKH",
    }


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_the_registry_fields_as_held_but_the_verification_day() -> None:
    decision = pilot_decision(REGISTRY_SERVICE, ALL_FIELDS)
    record = {
        "in_dtks": True,
        "decile": 3,
        "last_verified": datetime.date(2023, 8, 1),
        "household_size": 4,
        "programmes": "PKH,BPNT",
    }
    # Everything as held, except the verification day: only whether it is recent.
    assert decision.apply(record, today=REFERENCE_DATE) == {**record, "last_verified": False}
