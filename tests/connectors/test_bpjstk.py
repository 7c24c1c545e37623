"""BPJS Ketenagakerjaan: the simulated agency and its adapter, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import datetime
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
    Population,
)
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    assert_offers,
    assert_unavailable,
    closing,
    pilot_decision,
    serve,
)

ALL_FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")
WRONG_KEY = {"X-BPJSTK-Key": "wrong"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def key_of(sim: SimHandle) -> dict[str, str]:
    return {"X-BPJSTK-Key": sim.credentials["api_key"]}


async def get_record(
    http: aiohttp.ClientSession, sim: SimHandle, nik: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    async with http.get(f"{sim.url}/api/v2/kepesertaan/{nik}", headers=headers) as response:
        return response.status, await response.json()


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """A lookup of ``nik`` with the key ``sim`` issued, or a wrong one (test_every_agency)."""
    return (await get_record(http, sim, nik, key_of(sim) if authorised else WRONG_KEY))[0]


@asynccontextmanager
async def fake_agency(handler: Handler) -> AsyncIterator[str]:
    """A stand-in BPJSTK that misbehaves the way ``handler`` says; yields its base URL."""
    app = web.Application()
    app.router.add_get("/api/v2/kepesertaan/{nik}", handler)
    async with serve(app) as url:
        yield url


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
    services = {EMPLOYMENT_SERVICE: ALL_FIELDS, WAGE_BAND_SERVICE: ("monthly_wage",)}
    assert_offers(SIMULATED, "ID/GOV/BPJSTK/wages", services)


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


@pytest.mark.parametrize("headers", [None, WRONG_KEY, {"X-BPJSTK-Key": ""}])
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
    status, _ = await get_record(http, sim, "not-a-nik", WRONG_KEY)
    assert status == 401


async def test_sim_does_not_know_the_unregistered(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    samples = sample_niks(population)
    for nik in (samples.unregistered, samples.unknown):
        status, body = await get_record(http, sim, nik, key_of(sim))
        assert status == 404 and body["kode"] == "404"


# --- the adapter ------------------------------------------------------------------------------


def test_catalogue_offers_the_four_fields_and_no_name(agency: BpjsTkAgency) -> None:
    assert {spec.name: spec.type for spec in agency.catalogue} == {
        "employment_status": "text",
        "employer": "text",
        "monthly_wage": "integer",
        "termination_date": "date",
    }
    assert {s.name for s in agency.catalogue if s.sensitivity == "sensitive"} == {"monthly_wage"}


async def test_adapter_leaves_out_termination_date_while_employed(
    agency: BpjsTkAgency, population: Population
) -> None:
    values = await agency.fetch(sample_niks(population).employed, ALL_FIELDS)
    assert values is not None
    assert values["employment_status"] == "active"
    assert set(values) == {"employment_status", "employer", "monthly_wage"}


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
    async with fake_agency(handler) as url, closing(BpjsTkAgency(url, "key")) as adapter:
        error = await assert_unavailable(adapter, nik, ALL_FIELDS)
    assert "2026-13-45" not in str(error)


async def test_adapter_unavailable_on_a_timeout(population: Population) -> None:
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async with fake_agency(stuck) as url:
        adapter = BpjsTkAgency(url, "key", timeout_s=0.2)
        try:
            await assert_unavailable(
                adapter, sample_niks(population).employed, ALL_FIELDS, "TimeoutError"
            )
        finally:
            release.set()  # let the handler finish so the server shuts down at once
            await adapter.close()


async def test_adapter_refuses_work_after_close(
    agency: BpjsTkAgency, population: Population
) -> None:
    await agency.close()
    await assert_unavailable(agency, sample_niks(population).employed, ALL_FIELDS, "closed")


# --- the policy -------------------------------------------------------------------------------


def test_policy_masks_the_employer_and_reduces_wage_and_termination_to_answers() -> None:
    # Which fields at all: test_every_agency; here, how.
    decision = pilot_decision(EMPLOYMENT_SERVICE, ALL_FIELDS)
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
