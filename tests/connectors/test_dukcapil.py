"""Dukcapil: the simulated NIK verification web service and its adapter, over loopback HTTP."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.dukcapil import IDENTITY_SERVICE, SIMULATED, DukcapilAgency
from connectors.population import (
    REFERENCE_DATE,
    Population,
    unknown_nik,
)
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    assert_offers,
    assert_unavailable,
    closing,
    deceased,
    living,
    pilot_decision,
    serve,
)

ALL_FIELDS = (
    "alive",
    "death_date",
    "birth_date",
    "gender",
    "village",
    "family_card_members",
    "moved_out",
)
PATH = "/dukcapil/get_json/NIK"
NOT_FOUND = {"content": [{"RESPON": "Data Tidak Ditemukan"}], "lastPage": True}
REFUSED = {"content": [{"RESPON": "User tidak valid"}], "lastPage": True}
# What a fake Dukcapil answers for the NIK it was asked about.
Answer = Callable[[str], object]


def request_body(credentials: Mapping[str, str], nik: str, **changes: str) -> dict[str, str]:
    return {"NIK": nik, "ip_user": "10.0.0.7", **credentials, **changes}


async def post(
    http: aiohttp.ClientSession, url: str, body: object
) -> tuple[int, dict[str, object]]:
    async with http.post(url + PATH, json=body) as response:
        return response.status, await response.json()


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """A lookup of ``nik`` as the account ``sim`` issued, or with a wrong password."""
    changes = {} if authorised else {"password": "wrong"}
    return (await post(http, sim.url, request_body(sim.credentials, nik, **changes)))[0]


# --- the simulator's API ----------------------------------------------------------------------


def test_simulated_agency_offers_its_catalogue() -> None:
    assert_offers(SIMULATED, "ID/GOV/DUKCAPIL/civil-registry", {IDENTITY_SERVICE: ALL_FIELDS})


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


# --- the adapter ------------------------------------------------------------------------------


async def test_adapter_gives_a_death_date_only_for_the_deceased(
    agency: DukcapilAgency, population: Population
) -> None:
    dead = await agency.fetch(deceased(population), ["alive", "death_date"])
    alive = await agency.fetch(living(population), ["alive", "death_date"])
    assert dead is not None and dead["alive"] is False and "death_date" in dead
    assert alive == {"alive": True}


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
    async with serve(app) as url:
        yield url


@pytest.mark.parametrize("answer", BAD_ANSWERS.values(), ids=BAD_ANSWERS.keys())
async def test_adapter_unavailable_on_a_bad_answer(population: Population, answer: Answer) -> None:
    async with (
        fake_dukcapil(answer) as url,
        closing(DukcapilAgency(url, "user", "password")) as adapter,
    ):
        error = await assert_unavailable(adapter, living(population), ALL_FIELDS)
    assert "User tidak valid" not in str(error)  # the agency's free text is not quoted


async def test_a_well_formed_fake_answer_is_read(population: Population) -> None:
    # The control for the bad answers above: the same fake, unchanged, is accepted.
    nik = living(population)
    async with (
        fake_dukcapil(with_item()) as url,
        closing(DukcapilAgency(url, "user", "password")) as adapter,
    ):
        values = await adapter.fetch(nik, ALL_FIELDS)
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
    # Which fields at all: test_every_agency (death date and gender withheld); here, how.
    decision = pilot_decision(IDENTITY_SERVICE, ALL_FIELDS)
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
