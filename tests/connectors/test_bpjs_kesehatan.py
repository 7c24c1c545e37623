"""The simulated BPJS Kesehatan (VClaim-style) agency and its adapter, over real loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import aiohttp
import pytest

from connectors.bpjs_kesehatan import (
    MEMBERSHIP_SERVICE,
    SIMULATED,
    BpjsKesehatanAgency,
    vclaim_signature,
)
from connectors.bpjs_kesehatan.sim import MAX_AGE_S
from connectors.population import Population, unknown_nik
from connectors.sdk.agency import Agency
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    answering,
    assert_offers,
    assert_unavailable,
    closing,
    pilot_decision,
)
from tests.connectors.support import jkn_members as members

FIELDS = ("membership_status", "jkn_class", "pbi", "segment")
PATH = "/vclaim-rest/peserta/nik/{nik}/tglSEP/{date}"
SERVICE_DATE = "2026-11-01"
Headers = dict[str, str]


def uninsured(population: Population) -> str:
    return next(p.nik for p in population.people() if p.nik not in population.bpjs_kesehatan)


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


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """A lookup of ``nik``, signed with the credentials ``sim`` issued or not at all."""
    return (await get_peserta(http, sim.url, nik, signed(sim.credentials) if authorised else {}))[0]


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


# --- the adapter ------------------------------------------------------------------------------


def test_simulated_agency_offers_the_catalogue() -> None:
    assert_offers(SIMULATED, "ID/GOV/BPJSKES/jkn", {MEMBERSHIP_SERVICE: FIELDS})
    assert MEMBERSHIP_SERVICE == "ID/GOV/BPJSKES/jkn/membership"
    assert {spec.name: spec.type for spec in SIMULATED.catalogue} == {
        "membership_status": "text",
        "jkn_class": "integer",
        "pbi": "flag",
        "segment": "text",
    }


async def test_adapter_derives_pbi_from_the_segment(agency: Agency, population: Population) -> None:
    for nik in members(population):
        values = await agency.fetch(nik, ["pbi", "segment"])
        assert values is not None
        assert values["pbi"] is (values["segment"] in ("PBI-APBN", "PBI-APBD"))


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
    async with closing(ADAPTER_REFUSED[case](sim.url, sim.credentials)) as adapter:
        await assert_unavailable(adapter, members(population)[0], FIELDS, "401")


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
    async with (
        answering("GET", PATH, body, status) as url,
        closing(BpjsKesehatanAgency(url, cons_id="1", secret="s")) as adapter,
    ):
        await assert_unavailable(adapter, "3510100101800001", FIELDS)


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_the_four_fields_raw() -> None:
    # Which fields at all: test_every_agency; here, how.
    decision = pilot_decision(MEMBERSHIP_SERVICE, FIELDS)
    assert {name: rule.treatment for name, rule in decision.releases.items()} == dict.fromkeys(
        FIELDS, "raw"
    )
