"""Dukcapil: the simulated NIK verification web service and its adapter, over loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.dukcapil import IDENTITY_SERVICE, SIMULATED, DukcapilAgency
from connectors.population import (
    REFERENCE_DATE,
    DukcapilRecord,
    Population,
    generate,
    unknown_nik,
)
from connectors.sdk.agency import AgencyUnavailable, InvalidSubject
from connectors.simulation.agency import SimHandle, start_sim
from connectors.simulation.faults import EXTRA_FIELDS, FaultSettings
from policies import load_policies

ALL_FIELDS = (
    "alive",
    "death_date",
    "birth_date",
    "gender",
    "village",
    "family_card_members",
    "moved_out",
)
PYTHON_TYPES = {"text": str, "integer": int, "flag": bool, "date": datetime.date}
CLIENT, PURPOSE = "ID/GOV/KEMENSOS/eligibility", "bansos-eligibility"
PATH = "/dukcapil/get_json/NIK"
NOT_FOUND = {"content": [{"RESPON": "Data Tidak Ditemukan"}], "lastPage": True}
REFUSED = {"content": [{"RESPON": "User tidak valid"}], "lastPage": True}
# What a fake Dukcapil answers for the NIK it was asked about.
Answer = Callable[[str], object]


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(scale=0.05)


@pytest.fixture
async def sim(population: Population) -> AsyncIterator[SimHandle]:
    handle = await start_sim(SIMULATED, population, port=0)
    yield handle
    await handle.close()


@pytest.fixture
async def agency(sim: SimHandle) -> AsyncIterator[DukcapilAgency]:
    adapter = SIMULATED.make_adapter(sim.url, sim.credentials)
    assert isinstance(adapter, DukcapilAgency)
    yield adapter
    await adapter.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def deceased(population: Population) -> str:
    return next(nik for nik, r in population.dukcapil.items() if not r.alive)


def living(population: Population) -> str:
    return next(nik for nik, r in population.dukcapil.items() if r.alive and not r.moved_out)


def catalogue_values(record: DukcapilRecord) -> dict[str, object]:
    """The record's fields are the catalogue's; a death date is absent while alive."""
    return {k: v for k, v in dataclasses.asdict(record).items() if v is not None}


def assert_no_subject_in(error: BaseException, nik: str) -> None:
    assert nik not in "".join(traceback.format_exception(error))


def request_body(credentials: Mapping[str, str], nik: str, **changes: str) -> dict[str, str]:
    return {"NIK": nik, "ip_user": "10.0.0.7", **credentials, **changes}


async def post(
    http: aiohttp.ClientSession, url: str, body: object
) -> tuple[int, dict[str, object]]:
    async with http.post(url + PATH, json=body) as response:
        return response.status, await response.json()


@asynccontextmanager
async def faulty_adapter(
    population: Population, faults: FaultSettings
) -> AsyncIterator[DukcapilAgency]:
    handle = await start_sim(SIMULATED, population, port=0, faults=faults)
    adapter = SIMULATED.make_adapter(handle.url, handle.credentials)
    assert isinstance(adapter, DukcapilAgency)
    try:
        yield adapter
    finally:
        await adapter.close()
        await handle.close()


# --- the simulator's API ----------------------------------------------------------------------


def test_simulated_agency_offers_its_catalogue() -> None:
    assert SIMULATED.agency_id == "ID/GOV/DUKCAPIL/civil-registry"
    assert SIMULATED.services == {IDENTITY_SERVICE: ALL_FIELDS}
    assert tuple(spec.name for spec in SIMULATED.catalogue) == ALL_FIELDS
    assert SIMULATED.new_credentials() != SIMULATED.new_credentials()


async def test_sim_answers_in_dukcapil_shape(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    nik = deceased(population)
    record, found = population.dukcapil[nik], population.by_nik(nik)
    assert record.death_date is not None and found is not None
    status, body = await post(http, sim.url, request_body(sim.credentials, nik))
    assert status == 200
    assert body == {
        "content": [
            {
                "NIK": nik,
                "NAMA_LGKP": found[1].name.upper(),
                "TGL_LHR": record.birth_date.strftime("%d-%m-%Y"),
                "JENIS_KLMIN": {"male": "LAKI-LAKI", "female": "PEREMPUAN"}[record.gender],
                "STATUS_HIDUP": "MENINGGAL",
                "TGL_MATI": record.death_date.strftime("%d-%m-%Y"),
                "KEL_NAME": record.village,
                "JML_ANGGOTA_KK": record.family_card_members,
                "STATUS_PINDAH": "Y" if record.moved_out else "T",
            }
        ],
        "lastPage": True,
    }


async def test_sim_answers_an_unknown_nik_with_200_and_a_respon(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    body = request_body(sim.credentials, unknown_nik(population))
    assert await post(http, sim.url, body) == (200, NOT_FOUND)


@pytest.mark.parametrize(
    "changes",
    [{"password": "wrong"}, {"user_id": "wrong"}, {"password": ""}],
    ids=["wrong-password", "wrong-user", "empty-password"],
)
async def test_sim_refuses_a_wrong_account(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, changes: dict[str, str]
) -> None:
    body = request_body(sim.credentials, living(population), **changes)
    assert await post(http, sim.url, body) == (401, REFUSED)


@pytest.mark.parametrize(
    "body", [{"NIK": "3510100101800001", "ip_user": "10.0.0.7"}, ["x"], "x"], ids=repr
)
async def test_sim_refuses_a_request_without_an_account(
    sim: SimHandle, http: aiohttp.ClientSession, body: object
) -> None:
    assert await post(http, sim.url, body) == (401, REFUSED)


async def test_sim_refuses_a_body_that_is_not_json(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    async with http.post(sim.url + PATH, data=b"\xff{") as response:
        assert response.status == 401


@pytest.mark.parametrize("nik", ["351011440677000", "35101144067700a1", "٣" * 16, 3510100101800001])
async def test_sim_refuses_a_malformed_nik(
    sim: SimHandle, http: aiohttp.ClientSession, nik: object
) -> None:
    status, _ = await post(http, sim.url, {**request_body(sim.credentials, ""), "NIK": nik})
    assert status == 400


@pytest.mark.parametrize("ip_user", ["", "localhost", "10.0.0.300"])
async def test_sim_refuses_a_malformed_ip_user(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, ip_user: str
) -> None:
    body = request_body(sim.credentials, living(population), ip_user=ip_user)
    assert (await post(http, sim.url, body))[0] == 400


async def test_sim_checks_the_account_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    body = request_body(sim.credentials, "not-a-nik", password="wrong")
    assert (await post(http, sim.url, body))[0] == 401


async def test_sim_logs_no_nik(
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    nik = living(population)
    await post(http, sim.url, request_body(sim.credentials, nik))
    await post(http, sim.url, request_body(sim.credentials, nik, password="wrong"))
    assert nik not in caplog.text


# --- the adapter ------------------------------------------------------------------------------


async def test_adapter_returns_everyone_as_the_registry_holds_them(
    agency: DukcapilAgency, population: Population
) -> None:
    niks = list(population.dukcapil)
    results = await asyncio.gather(*(agency.fetch(nik, ALL_FIELDS) for nik in niks))
    types = {spec.name: PYTHON_TYPES[spec.type] for spec in agency.catalogue}
    for nik, values in zip(niks, results, strict=True):
        assert values == catalogue_values(population.dukcapil[nik])
        assert all(type(value) is types[name] for name, value in values.items())
    assert {values["moved_out"] for values in results if values} == {True, False}


async def test_adapter_gives_a_death_date_only_for_the_deceased(
    agency: DukcapilAgency, population: Population
) -> None:
    dead = await agency.fetch(deceased(population), ["alive", "death_date"])
    alive = await agency.fetch(living(population), ["alive", "death_date"])
    assert dead is not None and dead["alive"] is False and "death_date" in dead
    assert alive == {"alive": True}


async def test_adapter_returns_only_the_requested_fields(
    agency: DukcapilAgency, population: Population
) -> None:
    nik = deceased(population)
    assert set(await agency.fetch(nik, ["village"]) or {}) == {"village"}
    assert await agency.fetch(nik, []) == {}
    values = await agency.fetch(nik, ["alive", "NAMA_LGKP", "name", "NIK"])
    assert set(values or {}) == {"alive"}


async def test_adapter_returns_none_for_an_unknown_nik(
    agency: DukcapilAgency, population: Population
) -> None:
    assert await agency.fetch(unknown_nik(population), ALL_FIELDS) is None


@pytest.mark.parametrize("nik", ["35101144067700a1", "351011440677000", "٣" * 16, ""])
async def test_adapter_refuses_a_malformed_subject_without_asking(nik: str) -> None:
    adapter = DukcapilAgency("http://127.0.0.1:9", "unused", "unused")  # nothing listens there
    with pytest.raises(InvalidSubject):
        await adapter.fetch(nik, ALL_FIELDS)
    await adapter.close()


@pytest.mark.parametrize("wrong", ["user_id", "password"])
async def test_adapter_unavailable_with_a_wrong_account(
    sim: SimHandle, population: Population, wrong: str
) -> None:
    adapter = SIMULATED.make_adapter(sim.url, {**sim.credentials, wrong: "wrong"})
    nik = living(population)
    with pytest.raises(AgencyUnavailable, match="401") as caught:
        await adapter.fetch(nik, ALL_FIELDS)
    await adapter.close()
    assert_no_subject_in(caught.value, nik)


@pytest.mark.parametrize(
    "faults", [FaultSettings(error_rate=1.0), FaultSettings(malformed_rate=1.0)], ids=repr
)
async def test_adapter_unavailable_on_injected_faults(
    population: Population, faults: FaultSettings
) -> None:
    nik = living(population)
    async with faulty_adapter(population, faults) as adapter:
        with pytest.raises(AgencyUnavailable) as caught:
            await adapter.fetch(nik, ALL_FIELDS)
    assert_no_subject_in(caught.value, nik)


async def test_adapter_ignores_injected_extra_fields(population: Population) -> None:
    nik = deceased(population)
    async with faulty_adapter(population, FaultSettings(extra_fields=True)) as adapter:
        values = await adapter.fetch(nik, [*ALL_FIELDS, *EXTRA_FIELDS])
        unknown = await adapter.fetch(unknown_nik(population), ALL_FIELDS)
    assert values == catalogue_values(population.dukcapil[nik])
    assert unknown is None


def dukcapil_item(nik: str) -> dict[str, object]:
    return {
        "NIK": nik,
        "NAMA_LGKP": "X",
        "TGL_LHR": "04-05-1968",
        "JENIS_KLMIN": "PEREMPUAN",
        "STATUS_HIDUP": "HIDUP",
        "TGL_MATI": "",
        "KEL_NAME": "Kemiren",
        "JML_ANGGOTA_KK": 3,
        "STATUS_PINDAH": "T",
    }


def with_item(**changes: object) -> Answer:
    return lambda nik: {"content": [dukcapil_item(nik) | changes], "lastPage": True}


BAD_ANSWERS: dict[str, Answer] = {
    "other-respon": lambda nik: {"content": [{"RESPON": "User tidak valid"}], "lastPage": True},
    "no-content": lambda nik: {"lastPage": True},
    "empty-content": lambda nik: {"content": [], "lastPage": True},
    "two-items": lambda nik: {"content": [dukcapil_item(nik), dukcapil_item(nik)]},
    "item-not-object": lambda nik: {"content": [nik]},
    "not-an-object": lambda nik: [dukcapil_item(nik)],
    "someone-else": with_item(NIK="3510100101800001"),
    "death-date-while-alive": with_item(TGL_MATI="01-01-2026"),
    "iso-birth-date": with_item(TGL_LHR="1968-05-04"),
    "unknown-gender": with_item(JENIS_KLMIN="P"),
    "unknown-life-status": with_item(STATUS_HIDUP="ADA"),
    "moved-as-N": with_item(STATUS_PINDAH="N"),
    "members-as-text": with_item(JML_ANGGOTA_KK="3"),
    "no-members": with_item(JML_ANGGOTA_KK=0),
    "village-missing": with_item(KEL_NAME=None),
}


@asynccontextmanager
async def fake_dukcapil(answer: Answer) -> AsyncIterator[str]:
    async def get_nik(request: web.Request) -> web.Response:
        nik = (await request.json())["NIK"]
        return web.json_response(answer(nik))

    app = web.Application()
    app.router.add_post(PATH, get_nik)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
async def test_adapter_unavailable_on_a_bad_answer(population: Population, answer: Answer) -> None:
    nik = living(population)
    async with fake_dukcapil(answer) as url:
        adapter = DukcapilAgency(url, "user", "password")
        with pytest.raises(AgencyUnavailable) as caught:
            await adapter.fetch(nik, ALL_FIELDS)
        await adapter.close()
    assert_no_subject_in(caught.value, nik)
    assert "User tidak valid" not in str(caught.value)  # the agency's free text is not quoted


async def test_a_well_formed_fake_answer_is_read(population: Population) -> None:
    # The control for the bad answers above: the same fake, unchanged, is accepted.
    nik = living(population)
    async with fake_dukcapil(with_item()) as url:
        adapter = DukcapilAgency(url, "user", "password")
        values = await adapter.fetch(nik, ALL_FIELDS)
        await adapter.close()
    assert values == {
        "alive": True,
        "birth_date": datetime.date(1968, 5, 4),
        "gender": "female",
        "village": "Kemiren",
        "family_card_members": 3,
        "moved_out": False,
    }


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_the_identity_fields_but_not_the_death_date() -> None:
    policies = load_policies()
    allowed = policies.allowed_fields(CLIENT, PURPOSE, IDENTITY_SERVICE)
    assert allowed == ("alive", "birth_date", "village", "family_card_members", "moved_out")
    decision = policies.decide(CLIENT, PURPOSE, IDENTITY_SERVICE, list(ALL_FIELDS))
    record = {
        "alive": False,
        "death_date": datetime.date(2026, 3, 1),
        "birth_date": datetime.date(1966, 10, 31),
        "gender": "female",
        "village": "Kemiren",
        "family_card_members": 3,
        "moved_out": False,
    }
    released = decision.apply(record, today=REFERENCE_DATE)
    assert released == {
        "alive": False,
        "birth_date": True,  # 60 before the reference day
        "village": "Kemiren",
        "family_card_members": 3,
        "moved_out": False,
    }
    younger = {**record, "birth_date": datetime.date(1966, 11, 1)}
    assert decision.apply(younger, today=REFERENCE_DATE)["birth_date"] is False
