"""The simulated BPJS Kesehatan (VClaim-style) agency and its adapter, over real loopback HTTP."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web

from connectors.bpjs_kesehatan import (
    MEMBERSHIP_SERVICE,
    SIMULATED,
    BpjsKesehatanAgency,
    vclaim_signature,
)
from connectors.bpjs_kesehatan.sim import MAX_AGE_S
from connectors.population import BpjsKesehatanRecord, Population, generate, unknown_nik
from connectors.sdk.agency import Agency, AgencyUnavailable, InvalidSubject
from connectors.simulation.agency import SimHandle, start_sim
from connectors.simulation.faults import EXTRA_FIELDS, FaultSettings
from policies import load_policies

FIELDS = ("membership_status", "jkn_class", "pbi", "segment")
TYPES = {"membership_status": str, "jkn_class": int, "pbi": bool, "segment": str}
PATH = "/vclaim-rest/peserta/nik/{nik}/tglSEP/{date}"
SERVICE_DATE = "2026-11-01"
# Digits, but not ASCII ones: no NIK.
FULLWIDTH_NIK = "".join(chr(0xFF10 + int(d)) for d in "3510100101800001")
Headers = dict[str, str]


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(scale=0.05)


@pytest.fixture
async def sim(population: Population) -> AsyncIterator[SimHandle]:
    handle = await start_sim(SIMULATED, population, port=0)
    yield handle
    await handle.close()


@pytest.fixture
async def agency(sim: SimHandle) -> AsyncIterator[Agency]:
    adapter = SIMULATED.make_adapter(sim.url, sim.credentials)
    yield adapter
    await adapter.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def members(population: Population) -> list[str]:
    """One member of each segment, and one whose membership lapsed."""
    records = population.bpjs_kesehatan
    by_segment = {record.segment: nik for nik, record in records.items()}
    lapsed = next(nik for nik, r in records.items() if r.membership_status == "inactive")
    assert len(by_segment) == 5  # every segment occurs even at this scale
    return [*by_segment.values(), lapsed]


def uninsured(population: Population) -> str:
    return next(p.nik for p in population.people() if p.nik not in population.bpjs_kesehatan)


def expected(record: BpjsKesehatanRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS}


def signed(credentials: Mapping[str, str], *, at: float | None = None, **override: str) -> Headers:
    """VClaim headers as an honest consumer sends them at ``at``, with fields overridden."""
    values = {**credentials, **override}
    timestamp = str(int(time.time() if at is None else at))
    return {
        "X-cons-id": values["cons_id"],
        "X-timestamp": timestamp,
        "X-signature": vclaim_signature(values["cons_id"], values["secret"], timestamp),
    }


async def get_peserta(
    http: aiohttp.ClientSession, url: str, nik: str, headers: Headers, date: str = SERVICE_DATE
) -> tuple[int, dict[str, object]]:
    async with http.get(url + PATH.format(nik=nik, date=date), headers=headers) as response:
        return response.status, await response.json()


def assert_no_subject_in(error: BaseException, nik: str) -> None:
    assert nik not in "".join(traceback.format_exception(error))


# --- the simulator's API ----------------------------------------------------------------------


async def test_sim_answers_in_vclaim_shape(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    nik = next(n for n, r in population.bpjs_kesehatan.items() if r.segment == "PBI-APBD")
    found = population.by_nik(nik)
    assert found is not None
    status, body = await get_peserta(http, sim.url, nik, signed(sim.credentials))
    record = population.bpjs_kesehatan[nik]
    assert status == 200
    assert body == {
        "metaData": {"code": "200", "message": "OK"},
        "response": {
            "peserta": {
                "nik": nik,
                "nama": found[1].name,
                "statusPeserta": {
                    "keterangan": "AKTIF" if record.membership_status == "active" else "TIDAK AKTIF"
                },
                "hakKelas": {"kode": str(record.jkn_class)},
                "jenisPeserta": {"keterangan": "PBI (APBD)"},
            }
        },
    }


async def test_sim_says_not_found_in_metadata(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    for nik in (uninsured(population), unknown_nik(population)):
        status, body = await get_peserta(http, sim.url, nik, signed(sim.credentials))
        assert status == 200
        assert body == {
            "metaData": {"code": "201", "message": "Peserta tidak ditemukan"},
            "response": None,
        }


def _tampered_timestamp(credentials: Mapping[str, str]) -> Headers:
    # A signature from a second ago, re-labelled as now.
    headers = signed(credentials, at=time.time() - 1)
    headers["X-timestamp"] = str(int(time.time()))
    return headers


def _tampered_signature(credentials: Mapping[str, str]) -> Headers:
    headers = signed(credentials)
    first = headers["X-signature"][0]
    headers["X-signature"] = ("A" if first != "A" else "B") + headers["X-signature"][1:]
    return headers


REFUSED: dict[str, Callable[[Mapping[str, str]], Headers]] = {
    "no headers": lambda c: {},
    "no signature": lambda c: {k: v for k, v in signed(c).items() if k != "X-signature"},
    "wrong cons_id": lambda c: signed(c, cons_id="99999"),
    "wrong secret": lambda c: signed(c, secret="not-the-secret"),
    # A captured, once valid header set replayed after the window.
    "stale": lambda c: signed(c, at=time.time() - MAX_AGE_S - 2),
    "future": lambda c: signed(c, at=time.time() + 60),
    "tampered timestamp": _tampered_timestamp,
    "tampered signature": _tampered_signature,
    "timestamp not a number": lambda c: {**signed(c), "X-timestamp": "soon"},
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_sim_refuses_a_bad_signature(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, case: str
) -> None:
    nik = members(population)[0]
    status, body = await get_peserta(http, sim.url, nik, REFUSED[case](sim.credentials))
    assert status == 401
    assert body["response"] is None and body["metaData"]["code"] == "401"  # type: ignore[index]


async def test_sim_accepts_a_signature_just_inside_the_window(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    headers = signed(sim.credentials, at=time.time() - MAX_AGE_S + 5)
    status, _ = await get_peserta(http, sim.url, members(population)[0], headers)
    assert status == 200


@pytest.mark.parametrize(
    ("nik", "date"),
    [
        ("351010010180000", SERVICE_DATE),
        ("35101001018000012", SERVICE_DATE),
        ("351010010180000a", SERVICE_DATE),
        ("3510100101800001", "20261101"),
        ("3510100101800001", "2026-02-30"),
    ],
)
async def test_sim_refuses_a_malformed_request(
    sim: SimHandle, http: aiohttp.ClientSession, nik: str, date: str
) -> None:
    status, body = await get_peserta(http, sim.url, nik, signed(sim.credentials), date)
    assert status == 400 and body["metaData"]["code"] == "400"  # type: ignore[index]


async def test_sim_checks_the_signature_before_the_nik(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    status, _ = await get_peserta(http, sim.url, "not-a-nik", {})
    assert status == 401


async def test_sim_logs_no_nik(
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    nik = members(population)[0]
    await get_peserta(http, sim.url, nik, signed(sim.credentials))
    await get_peserta(http, sim.url, nik, {})
    assert nik not in caplog.text


# --- the adapter ------------------------------------------------------------------------------


def test_simulated_agency_offers_the_catalogue() -> None:
    assert SIMULATED.agency_id == "ID/GOV/BPJSKES/jkn"
    assert dict(SIMULATED.services) == {MEMBERSHIP_SERVICE: FIELDS}
    assert MEMBERSHIP_SERVICE == "ID/GOV/BPJSKES/jkn/membership"
    assert {spec.name: spec.type for spec in SIMULATED.catalogue} == {
        "membership_status": "text",
        "jkn_class": "integer",
        "pbi": "flag",
        "segment": "text",
    }


async def test_adapter_matches_the_population(agency: Agency, population: Population) -> None:
    for nik in members(population):
        values = await agency.fetch(nik, FIELDS)
        assert values == expected(population.bpjs_kesehatan[nik])
        assert {name: type(value) for name, value in values.items()} == TYPES


async def test_adapter_derives_pbi_from_the_segment(agency: Agency, population: Population) -> None:
    for nik in members(population):
        values = await agency.fetch(nik, ["pbi", "segment"])
        assert values is not None
        assert values["pbi"] is (values["segment"] in ("PBI-APBN", "PBI-APBD"))


async def test_adapter_returns_none_for_people_it_does_not_know(
    agency: Agency, population: Population
) -> None:
    assert await agency.fetch(uninsured(population), FIELDS) is None
    assert await agency.fetch(unknown_nik(population), FIELDS) is None


async def test_adapter_returns_only_the_requested_fields(
    agency: Agency, population: Population
) -> None:
    nik = members(population)[0]
    assert set(await agency.fetch(nik, ["pbi"]) or {}) == {"pbi"}
    assert await agency.fetch(nik, []) == {}
    # Names outside the catalogue (ones the agency does send, or anything else) never appear.
    assert set(await agency.fetch(nik, ["segment", "nama", "nik", "hakKelas"]) or {}) == {"segment"}


async def test_adapter_refuses_a_malformed_subject_before_any_call() -> None:
    # Nothing listens on port 1: asking would be AgencyUnavailable, not InvalidSubject.
    adapter = BpjsKesehatanAgency("http://127.0.0.1:1", cons_id="1", secret="s")
    try:
        for subject in (
            "351010010180000",
            "351010010180000a",
            FULLWIDTH_NIK,
            "",
        ):
            with pytest.raises(InvalidSubject):
                await adapter.fetch(subject, FIELDS)
    finally:
        await adapter.close()


def _clock(offset_s: float) -> Callable[[], float]:
    return lambda: time.time() + offset_s


# Each builds an adapter for the simulator at a URL from the credentials it issued, spoilt.
ADAPTER_REFUSED: dict[str, Callable[[str, Mapping[str, str]], BpjsKesehatanAgency]] = {
    "wrong secret": lambda url, c: BpjsKesehatanAgency(url, cons_id=c["cons_id"], secret="x"),
    "wrong cons_id": lambda url, c: BpjsKesehatanAgency(url, cons_id="99999", secret=c["secret"]),
    "clock behind": lambda url, c: BpjsKesehatanAgency(
        url, cons_id=c["cons_id"], secret=c["secret"], clock=_clock(-MAX_AGE_S - 5)
    ),
    "clock ahead": lambda url, c: BpjsKesehatanAgency(
        url, cons_id=c["cons_id"], secret=c["secret"], clock=_clock(60)
    ),
}


@pytest.mark.parametrize("case", list(ADAPTER_REFUSED))
async def test_adapter_unavailable_when_refused(
    sim: SimHandle, population: Population, case: str
) -> None:
    nik = members(population)[0]
    adapter = ADAPTER_REFUSED[case](sim.url, sim.credentials)
    try:
        with pytest.raises(AgencyUnavailable, match="401") as caught:
            await adapter.fetch(nik, FIELDS)
    finally:
        await adapter.close()
    assert_no_subject_in(caught.value, nik)


@pytest.mark.parametrize(
    "faults", [FaultSettings(error_rate=1.0), FaultSettings(malformed_rate=1.0)]
)
async def test_adapter_unavailable_on_injected_faults(
    population: Population, faults: FaultSettings
) -> None:
    nik = members(population)[0]
    handle = await start_sim(SIMULATED, population, port=0, faults=faults)
    adapter = SIMULATED.make_adapter(handle.url, handle.credentials)
    try:
        with pytest.raises(AgencyUnavailable) as caught:
            await adapter.fetch(nik, FIELDS)
    finally:
        await adapter.close()
        await handle.close()
    assert_no_subject_in(caught.value, nik)


async def test_adapter_ignores_injected_extra_fields(population: Population) -> None:
    handle = await start_sim(SIMULATED, population, port=0, faults=FaultSettings(extra_fields=True))
    adapter = SIMULATED.make_adapter(handle.url, handle.credentials)
    try:
        for nik in members(population):
            values = await adapter.fetch(nik, [*FIELDS, *EXTRA_FIELDS])
            assert values == expected(population.bpjs_kesehatan[nik])
        assert await adapter.fetch(unknown_nik(population), FIELDS) is None
    finally:
        await adapter.close()
        await handle.close()


@asynccontextmanager
async def fake_vclaim(body: object, status: int = 200) -> AsyncIterator[str]:
    """A stand-in agency that accepts any signature and always sends ``body``."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_get(PATH, answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def found(**peserta: object) -> dict[str, object]:
    body = {
        "nik": "3510100101800001",
        "nama": "X",
        "statusPeserta": {"keterangan": "AKTIF"},
        "hakKelas": {"kode": "3"},
        "jenisPeserta": {"keterangan": "PBI (APBN)"},
    }
    return {"metaData": {"code": "200", "message": "OK"}, "response": {"peserta": body | peserta}}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (found(nik="3510100101800002"), 200),  # someone else's record
        (found(hakKelas={"kode": "4"}), 200),
        (found(hakKelas="3"), 200),
        (found(jenisPeserta={"keterangan": "MANDIRI"}), 200),
        (found(statusPeserta=None), 200),
        ({"metaData": {"code": "200", "message": "OK"}, "response": None}, 200),
        ({"metaData": {"code": "500", "message": "gangguan"}, "response": None}, 200),
        ({"response": None}, 200),
        ({"metaData": {"code": "201", "message": "x"}}, 404),  # a 404 is a wrong URL
    ],
)
async def test_adapter_unavailable_on_a_bad_answer(body: object, status: int) -> None:
    nik = "3510100101800001"
    async with fake_vclaim(body, status) as url:
        adapter = BpjsKesehatanAgency(url, cons_id="1", secret="s")
        try:
            with pytest.raises(AgencyUnavailable) as caught:
                await adapter.fetch(nik, FIELDS)
        finally:
            await adapter.close()
    assert_no_subject_in(caught.value, nik)


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_the_four_fields_raw() -> None:
    policies = load_policies()
    client, purpose = "ID/GOV/KEMENSOS/eligibility", "bansos-eligibility"
    assert set(policies.allowed_fields(client, purpose, MEMBERSHIP_SERVICE)) == set(FIELDS)
    decision = policies.decide(client, purpose, MEMBERSHIP_SERVICE, FIELDS)
    assert {name: rule.treatment for name, rule in decision.releases.items()} == dict.fromkeys(
        FIELDS, "raw"
    )
