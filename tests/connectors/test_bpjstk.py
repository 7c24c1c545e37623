"""BPJS Ketenagakerjaan: the simulated agency and its adapter, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.bpjstk import (
    EMPLOYMENT_SERVICE,
    SIMULATED,
    WAGE_BAND_SERVICE,
    BpjsTkAgency,
    sample_niks,
)
from connectors.population import (
    RECENT_JOB_LOSS_DAYS,
    REFERENCE_DATE,
    BpjstkRecord,
    Population,
    generate,
)
from connectors.sdk.agency import AgencyUnavailable, InvalidSubject
from connectors.simulation.agency import SimHandle, start_sim
from connectors.simulation.faults import EXTRA_FIELDS, FaultSettings
from policies import load_policies

ALL_FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")
PYTHON_TYPES = {"text": str, "integer": int, "flag": bool, "date": datetime.date}
CLIENT, PURPOSE = "ID/GOV/KEMENSOS/eligibility", "bansos-eligibility"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(scale=0.05)


@pytest.fixture
async def sim(population: Population) -> AsyncIterator[SimHandle]:
    handle = await start_sim(SIMULATED, population, port=0)
    yield handle
    await handle.close()


@pytest.fixture
async def agency(sim: SimHandle) -> AsyncIterator[BpjsTkAgency]:
    adapter = SIMULATED.make_adapter(sim.url, sim.credentials)
    assert isinstance(adapter, BpjsTkAgency)
    yield adapter
    await adapter.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def key_of(sim: SimHandle) -> dict[str, str]:
    return {"X-BPJSTK-Key": sim.credentials["api_key"]}


async def get_record(
    http: aiohttp.ClientSession, sim: SimHandle, nik: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    async with http.get(f"{sim.url}/api/v2/kepesertaan/{nik}", headers=headers) as response:
        return response.status, await response.json()


def catalogue_values(record: BpjstkRecord) -> dict[str, object]:
    """What the adapter must return: the record's fields are the catalogue's, None left out."""
    return {k: v for k, v in dataclasses.asdict(record).items() if v is not None}


def assert_no_subject_in(error: BaseException, nik: str) -> None:
    assert nik not in "".join(traceback.format_exception(error))


@asynccontextmanager
async def adapter_for(
    population: Population, faults: FaultSettings | None = None, **credentials: str
) -> AsyncIterator[BpjsTkAgency]:
    """An adapter over its own simulator, optionally faulty or with other credentials."""
    handle = await start_sim(SIMULATED, population, port=0, faults=faults)
    adapter = BpjsTkAgency(handle.url, credentials.get("api_key", handle.credentials["api_key"]))
    try:
        yield adapter
    finally:
        await adapter.close()
        await handle.close()


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


# --- the demo's sample people ------------------------------------------------------------------


def test_samples_name_one_head_per_case(population: Population) -> None:
    samples = sample_niks(population)
    heads = {h.head.nik for h in population.households}
    employed = population.bpjstk[samples.employed]
    assert employed.employment_status == "active" and employed.termination_date is None
    ended = population.bpjstk[samples.recently_terminated].termination_date
    assert ended is not None and 0 <= (REFERENCE_DATE - ended).days <= RECENT_JOB_LOSS_DAYS
    assert samples.unregistered in heads and samples.unregistered not in population.bpjstk
    assert {samples.employed, samples.recently_terminated} <= heads
    assert population.by_nik(samples.unknown) is None and len(samples.unknown) == 16


def test_simulated_agency_offers_its_catalogue() -> None:
    names = {spec.name for spec in SIMULATED.catalogue}
    assert SIMULATED.agency_id == "ID/GOV/BPJSTK/wages"
    assert SIMULATED.services == {
        EMPLOYMENT_SERVICE: ALL_FIELDS,
        WAGE_BAND_SERVICE: ("monthly_wage",),
    }
    assert all(set(fields) <= names for fields in SIMULATED.services.values())
    assert SIMULATED.new_credentials() != SIMULATED.new_credentials()


# --- the simulator's API ----------------------------------------------------------------------


async def test_sim_answers_in_bpjstk_shape(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    nik = sample_niks(population).recently_terminated
    record, found = population.bpjstk[nik], population.by_nik(nik)
    assert record.termination_date is not None and found is not None
    status, body = await get_record(http, sim, nik, key_of(sim))
    assert status == 200
    assert body == {
        "nik": nik,
        "nama": found[1].name,
        "status_kepesertaan": "NONAKTIF",
        "nama_perusahaan": record.employer,
        "upah_bulanan": record.monthly_wage,
        "tgl_berhenti": record.termination_date.isoformat(),
    }
    status, body = await get_record(http, sim, sample_niks(population).employed, key_of(sim))
    assert status == 200
    assert body["status_kepesertaan"] == "AKTIF" and body["tgl_berhenti"] is None


@pytest.mark.parametrize("headers", [None, {"X-BPJSTK-Key": "wrong"}, {"X-BPJSTK-Key": ""}])
async def test_sim_refuses_a_missing_or_wrong_key(
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
    headers: dict[str, str] | None,
) -> None:
    status, body = await get_record(http, sim, sample_niks(population).employed, headers)
    assert status == 401 and body["kode"] == "401"
    assert set(body) == {"kode", "pesan"}  # nothing about the subject


@pytest.mark.parametrize(
    "nik", ["351011440677000", "35101144067700012", "35101144067700a1", "٣" * 16]
)
async def test_sim_refuses_a_malformed_nik(
    sim: SimHandle, http: aiohttp.ClientSession, nik: str
) -> None:
    status, body = await get_record(http, sim, nik, key_of(sim))
    assert status == 400 and body["kode"] == "400"


async def test_sim_checks_the_key_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    status, _ = await get_record(http, sim, "not-a-nik", {"X-BPJSTK-Key": "wrong"})
    assert status == 401


async def test_sim_does_not_know_the_unregistered(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    samples = sample_niks(population)
    for nik in (samples.unregistered, samples.unknown):
        status, body = await get_record(http, sim, nik, key_of(sim))
        assert status == 404 and body["kode"] == "404"


async def test_sim_logs_no_nik(
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    samples = sample_niks(population)
    for nik in (samples.employed, samples.unknown):
        await get_record(http, sim, nik, key_of(sim))
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


async def test_adapter_returns_every_record_as_the_agency_holds_it(
    agency: BpjsTkAgency, population: Population
) -> None:
    # Every registered head, concurrently over the one pooled session.
    niks = list(population.bpjstk)
    results = await asyncio.gather(*(agency.fetch(nik, ALL_FIELDS) for nik in niks))
    types = {spec.name: PYTHON_TYPES[spec.type] for spec in agency.catalogue}
    for nik, values in zip(niks, results, strict=True):
        assert values == catalogue_values(population.bpjstk[nik])
        assert all(type(value) is types[name] for name, value in values.items())
    assert any("termination_date" in values for values in results if values)


async def test_adapter_leaves_out_termination_date_while_employed(
    agency: BpjsTkAgency, population: Population
) -> None:
    values = await agency.fetch(sample_niks(population).employed, ALL_FIELDS)
    assert values is not None
    assert values["employment_status"] == "active"
    assert set(values) == {"employment_status", "employer", "monthly_wage"}


async def test_adapter_returns_only_the_requested_fields(
    agency: BpjsTkAgency, population: Population
) -> None:
    nik = sample_niks(population).recently_terminated
    assert set(await agency.fetch(nik, ["monthly_wage"]) or {}) == {"monthly_wage"}
    assert await agency.fetch(nik, []) == {}
    # Fields outside the catalogue (the name the sim does send, or anything else) never appear.
    values = await agency.fetch(nik, ["employer", "name", "nama", "nik"])
    assert set(values or {}) == {"employer"}


async def test_adapter_returns_none_for_people_the_agency_does_not_know(
    agency: BpjsTkAgency, population: Population
) -> None:
    samples = sample_niks(population)
    assert await agency.fetch(samples.unknown, ALL_FIELDS) is None
    assert await agency.fetch(samples.unregistered, ALL_FIELDS) is None
    spouse = next(h.members[1] for h in population.households if len(h.members) > 1)
    assert await agency.fetch(spouse.nik, ALL_FIELDS) is None  # the register holds heads only


@pytest.mark.parametrize("nik", ["35101144067700a1", "351011440677000", "٣" * 16, ""])
async def test_adapter_refuses_a_malformed_subject_without_asking(nik: str) -> None:
    adapter = BpjsTkAgency("http://127.0.0.1:9", "unused")  # nothing listens: no call is made
    with pytest.raises(InvalidSubject):
        await adapter.fetch(nik, ALL_FIELDS)
    await adapter.close()


@pytest.mark.parametrize("api_key", ["wrong", ""])
async def test_adapter_unavailable_on_a_wrong_key(population: Population, api_key: str) -> None:
    nik = sample_niks(population).employed
    async with adapter_for(population, api_key=api_key) as adapter:
        with pytest.raises(AgencyUnavailable, match="401") as caught:
            await adapter.fetch(nik, ALL_FIELDS)
    assert_no_subject_in(caught.value, nik)


async def test_adapter_unavailable_when_the_sim_is_down(population: Population) -> None:
    stopped = await start_sim(SIMULATED, population, port=0)
    await stopped.close()
    nik = sample_niks(population).employed
    adapter = SIMULATED.make_adapter(stopped.url, stopped.credentials)
    try:
        with pytest.raises(AgencyUnavailable) as caught:
            await adapter.fetch(nik, ALL_FIELDS)
    finally:
        await adapter.close()
    assert_no_subject_in(caught.value, nik)


@pytest.mark.parametrize(
    "faults", [FaultSettings(error_rate=1.0), FaultSettings(malformed_rate=1.0)], ids=repr
)
async def test_adapter_unavailable_on_injected_faults(
    population: Population, faults: FaultSettings
) -> None:
    nik = sample_niks(population).employed
    async with adapter_for(population, faults) as adapter:
        with pytest.raises(AgencyUnavailable) as caught:
            await adapter.fetch(nik, ALL_FIELDS)
    assert_no_subject_in(caught.value, nik)


async def test_adapter_ignores_injected_extra_fields(population: Population) -> None:
    nik = sample_niks(population).recently_terminated
    async with adapter_for(population, FaultSettings(extra_fields=True)) as adapter:
        values = await adapter.fetch(nik, [*ALL_FIELDS, *EXTRA_FIELDS])
    assert values == catalogue_values(population.bpjstk[nik])


def bpjstk_body(nik: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "nik": nik,
        "nama": "X",
        "status_kepesertaan": "NONAKTIF",
        "nama_perusahaan": "CV Osing Jaya",
        "upah_bulanan": 2_500_000,
        "tgl_berhenti": "2026-09-01",
    }
    return body | changes


async def server_error(request: web.Request) -> web.Response:
    return web.json_response({"kode": "500", "pesan": "gangguan"}, status=500)


async def not_json(request: web.Request) -> web.Response:
    return web.Response(text="<html>maintenance</html>", content_type="text/html")


async def someone_else(request: web.Request) -> web.Response:
    return web.json_response(bpjstk_body("3510100101800001"))


async def bad_date(request: web.Request) -> web.Response:
    return web.json_response(bpjstk_body(request.match_info["nik"], tgl_berhenti="2026-13-45"))


async def wage_as_text(request: web.Request) -> web.Response:
    return web.json_response(bpjstk_body(request.match_info["nik"], upah_bulanan="2500000"))


async def wage_as_flag(request: web.Request) -> web.Response:
    return web.json_response(bpjstk_body(request.match_info["nik"], upah_bulanan=True))


async def unknown_status(request: web.Request) -> web.Response:
    return web.json_response(bpjstk_body(request.match_info["nik"], status_kepesertaan="CUTI"))


async def a_list(request: web.Request) -> web.Response:
    return web.json_response([bpjstk_body(request.match_info["nik"])])


@pytest.mark.parametrize(
    "handler",
    [
        server_error,
        not_json,
        someone_else,
        bad_date,
        wage_as_text,
        wage_as_flag,
        unknown_status,
        a_list,
    ],
)
async def test_adapter_unavailable_on_a_bad_answer(
    handler: Handler, population: Population
) -> None:
    nik = sample_niks(population).employed
    async with fake_agency(handler) as url:
        adapter = BpjsTkAgency(url, "key")
        try:
            with pytest.raises(AgencyUnavailable) as caught:
                await adapter.fetch(nik, ALL_FIELDS)
        finally:
            await adapter.close()
    assert_no_subject_in(caught.value, nik)
    assert "2026-13-45" not in str(caught.value)


async def test_adapter_unavailable_on_a_timeout(population: Population) -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async with fake_agency(stuck) as url:
        adapter = BpjsTkAgency(url, "key", timeout_s=0.2)
        try:
            with pytest.raises(AgencyUnavailable, match="TimeoutError"):
                await adapter.fetch(sample_niks(population).employed, ALL_FIELDS)
        finally:
            release.set()  # let the handler finish so the server shuts down at once
            await adapter.close()


async def test_adapter_refuses_work_after_close(
    agency: BpjsTkAgency, population: Population
) -> None:
    await agency.close()
    with pytest.raises(AgencyUnavailable, match="closed"):
        await agency.fetch(sample_niks(population).employed, ALL_FIELDS)


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_exactly_the_catalogue_fields_it_names() -> None:
    policies = load_policies()
    assert policies.allowed_fields(CLIENT, PURPOSE, EMPLOYMENT_SERVICE) == ALL_FIELDS
    assert policies.allowed_fields(CLIENT, PURPOSE, WAGE_BAND_SERVICE) == ("monthly_wage",)
    decision = policies.decide(CLIENT, PURPOSE, EMPLOYMENT_SERVICE, list(ALL_FIELDS))
    released = decision.apply(
        {
            "employment_status": "inactive",
            "employer": "PT Sinar Jaya",
            "monthly_wage": 2_500_000,
            "termination_date": datetime.date(2026, 9, 1),
        },
        today=REFERENCE_DATE,
    )
    assert released == {
        "employment_status": "inactive",
        "employer": "P* S**** J***",
        "monthly_wage": True,
        "termination_date": True,
    }
