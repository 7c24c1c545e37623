"""The simulated BPJS Ketenagakerjaan agency and its adapter, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.bpjstk import (
    REFERENCE_DATE,
    AgencyUnavailable,
    BpjsTkAgency,
    InvalidSubject,
    Participant,
    generate_participants,
    sample_niks,
)
from connectors.bpjstk.sim import SimHandle, start_sim

KEY = "test-key-kemiren"
ALL_FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
def people() -> list[Participant]:
    return generate_participants()


@pytest.fixture
def by_nik(people: list[Participant]) -> dict[str, Participant]:
    return {p.nik: p for p in people}


@pytest.fixture
async def sim() -> AsyncIterator[SimHandle]:
    handle = await start_sim("127.0.0.1", 0, api_key=KEY, seed=2026, count=60)
    yield handle
    await handle.close()


@pytest.fixture
async def agency(sim: SimHandle) -> AsyncIterator[BpjsTkAgency]:
    adapter = BpjsTkAgency(sim.url, KEY)
    yield adapter
    await adapter.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@asynccontextmanager
async def fake_agency(handler: Handler) -> AsyncIterator[str]:
    """A stand-in BPJSTK that misbehaves the way ``handler`` says; yields its base URL."""
    app = web.Application()
    app.router.add_get("/api/v2/kepesertaan/{nik}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def get_record(
    http: aiohttp.ClientSession, sim: SimHandle, nik: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    async with http.get(f"{sim.url}/api/v2/kepesertaan/{nik}", headers=headers) as response:
        return response.status, await response.json()


# --- the synthetic population ---------------------------------------------------------------


def test_every_nik_has_the_real_layout(people: list[Participant]) -> None:
    for p in people:
        nik = p.nik
        assert len(nik) == 16 and nik.isascii() and nik.isdigit()
        assert nik[:4] == "3510"  # Jawa Timur, Banyuwangi
        assert nik[4:6] == p.village.district_code
        assert nik[4:6] == {"Kemiren": "10", "Lateng": "11"}[p.village.name]
        day = int(nik[6:8])
        if p.gender == "female":
            assert 41 <= day <= 71
            day -= 40
        else:
            assert 1 <= day <= 31
        born = datetime.date(p.birth_date.year, int(nik[8:10]), day)  # raises if no such day
        assert born == p.birth_date and nik[10:12] == f"{born.year % 100:02d}"
        assert int(nik[12:]) >= 1


def test_niks_are_unique(people: list[Participant]) -> None:
    assert len({p.nik for p in people}) == len(people)


def test_same_seed_gives_the_same_people() -> None:
    assert generate_participants(7, 40) == generate_participants(7, 40)
    assert generate_participants(7, 40) != generate_participants(8, 40)


def test_population_has_the_demo_cases(people: list[Participant]) -> None:
    samples = sample_niks(people)
    by_nik = {p.nik: p for p in people}
    assert by_nik[samples.employed].membership == "active"
    ended = by_nik[samples.recently_terminated].employment
    assert ended is not None and ended.termination_date is not None
    assert 0 <= (REFERENCE_DATE - ended.termination_date).days <= 90
    assert by_nik[samples.unregistered].membership == "none"
    assert samples.unknown not in by_nik and len(samples.unknown) == 16


def test_every_small_population_has_the_demo_cases() -> None:
    for seed in range(20):
        sample_niks(generate_participants(seed, 4))  # raises LookupError if a case is missing


def test_wages_spread_around_the_umk(people: list[Participant]) -> None:
    wages = [p.employment.monthly_wage for p in people if p.employment is not None]
    assert any(w < 1_500_000 for w in wages)
    assert any(w >= 5_000_000 for w in wages)
    assert sum(2_000_000 <= w <= 3_500_000 for w in wages) > len(wages) / 2


# --- the simulator's API ----------------------------------------------------------------------


async def test_sim_answers_in_bpjstk_shape(
    sim: SimHandle, http: aiohttp.ClientSession, by_nik: dict[str, Participant]
) -> None:
    samples = sample_niks(sim.participants)
    status, body = await get_record(http, sim, samples.recently_terminated, {"X-BPJSTK-Key": KEY})
    person = by_nik[samples.recently_terminated]
    assert person.employment is not None and person.employment.termination_date is not None
    assert status == 200
    assert body == {
        "nik": person.nik,
        "nama": person.name,
        "status_kepesertaan": "NONAKTIF",
        "nama_perusahaan": person.employment.employer,
        "upah_bulanan": person.employment.monthly_wage,
        "tgl_berhenti": person.employment.termination_date.isoformat(),
    }
    status, body = await get_record(http, sim, samples.employed, {"X-BPJSTK-Key": KEY})
    assert status == 200
    assert body["status_kepesertaan"] == "AKTIF" and body["tgl_berhenti"] is None


@pytest.mark.parametrize("headers", [None, {"X-BPJSTK-Key": "wrong"}, {"X-BPJSTK-Key": ""}])
async def test_sim_refuses_a_missing_or_wrong_key(
    sim: SimHandle, http: aiohttp.ClientSession, headers: dict[str, str] | None
) -> None:
    status, body = await get_record(http, sim, sample_niks(sim.participants).employed, headers)
    assert status == 401 and body["kode"] == "401"
    assert set(body) == {"kode", "pesan"}  # nothing about the subject


@pytest.mark.parametrize("nik", ["351011440677000", "35101144067700012", "35101144067700a1"])
async def test_sim_refuses_a_malformed_nik(
    sim: SimHandle, http: aiohttp.ClientSession, nik: str
) -> None:
    status, body = await get_record(http, sim, nik, {"X-BPJSTK-Key": KEY})
    assert status == 400 and body["kode"] == "400"


async def test_sim_checks_the_key_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    status, _ = await get_record(http, sim, "not-a-nik", {"X-BPJSTK-Key": "wrong"})
    assert status == 401


async def test_sim_does_not_know_the_unregistered(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    samples = sample_niks(sim.participants)
    for nik in (samples.unregistered, samples.unknown):
        status, body = await get_record(http, sim, nik, {"X-BPJSTK-Key": KEY})
        assert status == 404 and body["kode"] == "404"


async def test_sim_logs_no_nik(
    sim: SimHandle, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    samples = sample_niks(sim.participants)
    for nik in (samples.employed, samples.unknown):
        await get_record(http, sim, nik, {"X-BPJSTK-Key": KEY})
        await get_record(http, sim, nik, {"X-BPJSTK-Key": "wrong"})
    assert samples.employed not in caplog.text and samples.unknown not in caplog.text


# --- the adapter ------------------------------------------------------------------------------


def test_catalogue_offers_the_four_fields_and_no_name(agency: BpjsTkAgency) -> None:
    assert {spec.name: spec.type for spec in agency.catalogue} == {
        "employment_status": "text",
        "employer": "text",
        "monthly_wage": "integer",
        "termination_date": "date",
    }
    assert {s.name for s in agency.catalogue if s.sensitivity == "sensitive"} == {"monthly_wage"}


async def test_adapter_maps_a_terminated_record(
    agency: BpjsTkAgency, by_nik: dict[str, Participant]
) -> None:
    nik = sample_niks(list(by_nik.values())).recently_terminated
    employment = by_nik[nik].employment
    assert employment is not None
    values = await agency.fetch(nik, ALL_FIELDS)
    assert values == {
        "employment_status": "inactive",
        "employer": employment.employer,
        "monthly_wage": employment.monthly_wage,
        "termination_date": employment.termination_date,
    }
    assert type(values["monthly_wage"]) is int
    assert type(values["termination_date"]) is datetime.date


async def test_adapter_leaves_out_termination_date_while_employed(
    agency: BpjsTkAgency, people: list[Participant]
) -> None:
    values = await agency.fetch(sample_niks(people).employed, ALL_FIELDS)
    assert values is not None
    assert values["employment_status"] == "active"
    assert set(values) == {"employment_status", "employer", "monthly_wage"}


async def test_adapter_returns_only_the_requested_fields(
    agency: BpjsTkAgency, people: list[Participant]
) -> None:
    nik = sample_niks(people).recently_terminated
    assert set(await agency.fetch(nik, ["monthly_wage"]) or {}) == {"monthly_wage"}
    assert await agency.fetch(nik, []) == {}
    # Fields outside the catalogue (the name the sim does send, or anything else) never appear.
    values = await agency.fetch(nik, ["employer", "name", "nama", "nik"])
    assert set(values or {}) == {"employer"}


async def test_adapter_returns_none_for_unknown_people(
    agency: BpjsTkAgency, people: list[Participant]
) -> None:
    samples = sample_niks(people)
    assert await agency.fetch(samples.unknown, ALL_FIELDS) is None
    assert await agency.fetch(samples.unregistered, ALL_FIELDS) is None


async def test_adapter_serves_concurrent_queries_on_one_session(
    agency: BpjsTkAgency, people: list[Participant]
) -> None:
    registered = [p for p in people if p.employment is not None]
    results = await asyncio.gather(*(agency.fetch(p.nik, ["monthly_wage"]) for p in registered))
    assert results == [
        {"monthly_wage": p.employment.monthly_wage} for p in registered if p.employment
    ]


async def test_adapter_refuses_a_malformed_subject_without_asking(agency: BpjsTkAgency) -> None:
    with pytest.raises(InvalidSubject):
        await agency.fetch("35101144067700a1", ALL_FIELDS)


def assert_no_subject_in(error: BaseException, nik: str) -> None:
    assert nik not in "".join(traceback.format_exception(error))


async def test_adapter_unavailable_on_a_wrong_key(
    sim: SimHandle, people: list[Participant]
) -> None:
    nik = sample_niks(people).employed
    adapter = BpjsTkAgency(sim.url, "wrong")
    try:
        with pytest.raises(AgencyUnavailable, match="401") as caught:
            await adapter.fetch(nik, ALL_FIELDS)
    finally:
        await adapter.close()
    assert_no_subject_in(caught.value, nik)


async def test_adapter_unavailable_when_the_sim_is_down(people: list[Participant]) -> None:
    stopped = await start_sim("127.0.0.1", 0, api_key=KEY)
    await stopped.close()
    nik = sample_niks(people).employed
    adapter = BpjsTkAgency(stopped.url, KEY)
    try:
        with pytest.raises(AgencyUnavailable) as caught:
            await adapter.fetch(nik, ALL_FIELDS)
    finally:
        await adapter.close()
    assert_no_subject_in(caught.value, nik)


async def server_error(request: web.Request) -> web.Response:
    return web.json_response({"kode": "500", "pesan": "gangguan"}, status=500)


async def not_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>maintenance</html>", content_type="text/html")


async def someone_else(request: web.Request) -> web.Response:
    other = "3510100101800001"
    return web.json_response(
        {
            "nik": other,
            "nama": "X",
            "status_kepesertaan": "AKTIF",
            "nama_perusahaan": "CV Osing Jaya",
            "upah_bulanan": 1,
            "tgl_berhenti": None,
        }
    )


async def bad_date(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "nik": request.match_info["nik"],
            "nama": "X",
            "status_kepesertaan": "NONAKTIF",
            "nama_perusahaan": "CV Osing Jaya",
            "upah_bulanan": 2_500_000,
            "tgl_berhenti": "2026-13-45",
        }
    )


async def wage_as_text(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "nik": request.match_info["nik"],
            "nama": "X",
            "status_kepesertaan": "AKTIF",
            "nama_perusahaan": "CV Osing Jaya",
            "upah_bulanan": "2500000",
            "tgl_berhenti": None,
        }
    )


@pytest.mark.parametrize("handler", [server_error, not_json, someone_else, bad_date, wage_as_text])
async def test_adapter_unavailable_on_a_bad_answer(
    handler: Handler, people: list[Participant]
) -> None:
    nik = sample_niks(people).employed
    async with fake_agency(handler) as url:
        adapter = BpjsTkAgency(url, KEY)
        try:
            with pytest.raises(AgencyUnavailable) as caught:
                await adapter.fetch(nik, ALL_FIELDS)
        finally:
            await adapter.close()
    assert_no_subject_in(caught.value, nik)
    assert "2026-13-45" not in str(caught.value)


async def test_adapter_unavailable_on_a_timeout(people: list[Participant]) -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async with fake_agency(stuck) as url:
        adapter = BpjsTkAgency(url, KEY, timeout_s=0.2)
        try:
            with pytest.raises(AgencyUnavailable, match="TimeoutError"):
                await adapter.fetch(sample_niks(people).employed, ALL_FIELDS)
        finally:
            release.set()  # let the handler finish so the server shuts down at once
            await adapter.close()


async def test_adapter_refuses_work_after_close(
    agency: BpjsTkAgency, people: list[Participant]
) -> None:
    await agency.close()
    with pytest.raises(AgencyUnavailable, match="closed"):
        await agency.fetch(sample_niks(people).employed, ALL_FIELDS)
