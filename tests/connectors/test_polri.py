"""The simulated Korlantas Polri ranmor API and its adapter, over real loopback HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.polri import CATALOGUE, SIMULATED, VEHICLES_SERVICE, PolriAgency
from connectors.polri.sim import vehicles
from connectors.population import Population, unknown_nik
from connectors.sdk.agency import Agency
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    assert_offers,
    assert_unavailable,
    closing,
    released_of,
    serve,
    with_car,
)

ALL_FIELDS = tuple(spec.name for spec in CATALOGUE)


def without_vehicles(population: Population) -> str:
    """A household head the register has nothing on."""
    return next(h.head.nik for h in population.households if h.head.nik not in population.polri)


async def ranmor(
    http: aiohttp.ClientSession, sim: SimHandle, params: dict[str, str]
) -> tuple[int, dict[str, object]]:
    async with http.get(f"{sim.url}/korlantas/ranmor", params=params) as response:
        return response.status, await response.json()


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """A listing for ``nik`` with the key ``sim`` issued, or a wrong one (test_every_agency)."""
    key = sim.credentials["api_key"] if authorised else "wrong"
    return (await ranmor(http, sim, {"nik": nik, "apikey": key}))[0]


def adapter_for(url: str, api_key: str) -> AbstractAsyncContextManager[PolriAgency]:
    return closing(PolriAgency(url, api_key))


# --- the simulator's API ----------------------------------------------------------------------


async def test_sim_lists_vehicles_in_korlantas_shape(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    nik = with_car(population)
    status, body = await ranmor(http, sim, {"nik": nik, "apikey": sim.credentials["api_key"]})
    assert status == 200 and body["nik"] == nik
    listed = body["kendaraan"]
    assert isinstance(listed, list) and body["jumlah"] == len(listed) > 0
    for vehicle in listed:
        assert set(vehicle) == {"nopol", "jenis", "merk", "tahun_pembuatan"}
        assert re.fullmatch(r"P \d{1,4} [A-Z]{2}", vehicle["nopol"])
        assert vehicle["jenis"] in ("R2", "R4")


async def test_sim_lists_nobody_without_vehicles_as_empty(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    key = sim.credentials["api_key"]
    for nik in (without_vehicles(population), unknown_nik(population)):
        status, body = await ranmor(http, sim, {"nik": nik, "apikey": key})
        assert (status, body) == (200, {"nik": nik, "jumlah": 0, "kendaraan": []})


def test_vehicles_add_up_to_the_register_and_never_change(population: Population) -> None:
    for nik, record in population.polri.items():
        listed = vehicles(nik, record)
        assert listed == vehicles(nik, record)
        kinds = [v["jenis"] for v in listed]
        assert (kinds.count("R4"), kinds.count("R2")) == (record.car_count, record.motorcycle_count)
        assert max(int(str(v["tahun_pembuatan"])) for v in listed) == record.newest_vehicle_year


@pytest.mark.parametrize("params", [{}, {"apikey": ""}, {"apikey": "wrong"}])
async def test_sim_refuses_a_missing_or_wrong_key(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, params: dict[str, str]
) -> None:
    status, body = await ranmor(http, sim, {"nik": with_car(population), **params})
    assert status == 403 and set(body) == {"pesan"}  # nothing about the subject


async def test_sim_checks_the_key_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    status, _ = await ranmor(http, sim, {"nik": "not-a-nik", "apikey": "wrong"})
    assert status == 403


@pytest.mark.parametrize(
    "nik",
    [None, "", "351010260395000", "35101026039500041", "35101026039500a4", "٣٥١٠١٠٢٦٠٣٩٥٠٠٠٤"],
)
async def test_sim_refuses_a_malformed_nik(
    sim: SimHandle, http: aiohttp.ClientSession, nik: str | None
) -> None:
    params = {"apikey": sim.credentials["api_key"]}
    if nik is not None:
        params["nik"] = nik
    status, body = await ranmor(http, sim, params)
    assert status == 400 and set(body) == {"pesan"}


# --- the adapter ------------------------------------------------------------------------------


def test_catalogue_is_the_vehicle_summary() -> None:
    fields = ("car_count", "motorcycle_count", "newest_vehicle_year")
    assert_offers(SIMULATED, "ID/GOV/POLRI/korlantas", {VEHICLES_SERVICE: fields})
    assert {spec.type for spec in CATALOGUE} == {"integer"}


# --- answers no honest register gives ---------------------------------------------------------


@asynccontextmanager
async def fake_ranmor(body: object) -> AsyncIterator[str]:
    """A stand-in Korlantas answering ``body`` (with the asked NIK put in for "<nik>")."""

    async def answer(request: web.Request) -> web.Response:
        nik = request.query["nik"]
        return web.json_response(body if not isinstance(body, dict) else _fill(body, nik))

    app = web.Application()
    app.router.add_get("/korlantas/ranmor", answer)
    async with serve(app) as url:
        yield url


def _fill(body: dict[str, object], nik: str) -> dict[str, object]:
    return {key: nik if value == "<nik>" else value for key, value in body.items()}


def _car(year: object = 2020, jenis: object = "R4") -> dict[str, object]:
    return {"nopol": "P 1 AB", "jenis": jenis, "merk": "Toyota Avanza", "tahun_pembuatan": year}


@pytest.mark.parametrize(
    "body",
    [
        {"nik": "3510100101800001", "jumlah": 1, "kendaraan": [_car()]},  # someone else's
        {"nik": "<nik>", "jumlah": 2, "kendaraan": [_car()]},  # count does not add up
        {"nik": "<nik>", "jumlah": 1, "kendaraan": [_car(jenis="R6")]},
        {"nik": "<nik>", "jumlah": 1, "kendaraan": [_car(year="2020")]},
        {"nik": "<nik>", "jumlah": 1, "kendaraan": [_car(year=1066)]},
        {"nik": "<nik>", "jumlah": 1, "kendaraan": ["P 1 AB"]},
        {"nik": "<nik>", "jumlah": 1, "kendaraan": {"P 1 AB": _car()}},
        [_car()],
    ],
    ids=["other-nik", "jumlah", "jenis", "year-text", "year-absurd", "item", "dict", "list"],
)
async def test_adapter_unavailable_on_a_bad_listing(population: Population, body: object) -> None:
    async with fake_ranmor(body) as url, adapter_for(url, "key") as adapter:
        await assert_unavailable(adapter, with_car(population), ALL_FIELDS)


async def test_adapter_leaves_out_an_unknown_newest_year(population: Population) -> None:
    body = {"nik": "<nik>", "jumlah": 2, "kendaraan": [_car(year=None), _car(None, "R2")]}
    async with fake_ranmor(body) as url, adapter_for(url, "key") as adapter:
        values = await adapter.fetch(with_car(population), ALL_FIELDS)
    assert values == {"car_count": 1, "motorcycle_count": 1}


# --- the policy -------------------------------------------------------------------------------


async def test_policy_releases_only_the_eligibility_answers(
    agency: Agency, population: Population
) -> None:
    # Which fields at all: test_every_agency; here, how.
    nik = with_car(population)
    released = await released_of(agency, nik, VEHICLES_SERVICE, ALL_FIELDS)
    record = population.polri[nik]
    assert released["car_count"] is True
    assert released["newest_vehicle_year"] is ((record.newest_vehicle_year or 0) >= 2022)
    assert isinstance(released["motorcycle_count"], str)  # a bucket, never the count
