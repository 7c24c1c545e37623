"""The simulated ATR/BPN parcel search and its adapter, over real loopback HTTP."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import aiohttp
import pytest

from connectors.atr_bpn import PARCELS_SERVICE, SIMULATED, AtrBpnAgency, parcels_of
from connectors.population import AtrBpnRecord, Population, generate, unknown_nik
from connectors.simulation.agency import SimHandle
from tests.connectors.support import (
    POLICY_DAY,
    answering,
    assert_offers,
    assert_unavailable,
    closing,
    pilot_decision,
)
from tests.connectors.support import parcel_holders as holders

FIELDS = ("parcel_count", "total_area_m2", "njop_total")
PATH = "/api/v1/bidang/cari"
NIK = "3510100101800001"
# Digits, but not ASCII ones: no NIK.
FULLWIDTH_NIK = "".join(chr(0xFF10 + int(d)) for d in NIK)


def landless(population: Population) -> list[str]:
    """A household head and a family member with no certified land, and a NIK nobody has."""
    head = next(h.head.nik for h in population.households if h.head.nik not in population.atr_bpn)
    member = next(h.members[1].nik for h in population.households if len(h.members) > 1)
    return [head, member, unknown_nik(population)]


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(username, password)}


async def cari(
    http: aiohttp.ClientSession, url: str, body: object, headers: Mapping[str, str]
) -> tuple[int, dict[str, object], Mapping[str, str]]:
    async with http.post(url + PATH, json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers


async def ask_sim(http: aiohttp.ClientSession, sim: SimHandle, nik: str, authorised: bool) -> int:
    """A search for ``nik`` with the credentials ``sim`` issued, or none (test_every_agency)."""
    headers = basic(sim.credentials["username"], sim.credentials["password"]) if authorised else {}
    return (await cari(http, sim.url, {"nik_pemegang_hak": nik}, headers))[0]


# --- the parcels behind the population's summaries --------------------------------------------


def test_parcels_add_up_to_every_record_and_never_change() -> None:
    population = generate(scale=0.3)  # more holders, more edge cases
    for nik, record in population.atr_bpn.items():
        parcels = parcels_of(nik, record)
        assert len(parcels) == record.parcel_count
        assert sum(p.luas_m2 for p in parcels) == record.total_area_m2
        assert sum(p.njop for p in parcels) == record.njop_total
        assert all(p.luas_m2 >= 1 and p.njop >= 0 for p in parcels)
        assert parcels_of(nik, record) == parcels


def test_parcels_of_a_tiny_holding_still_add_up() -> None:
    record = AtrBpnRecord(parcel_count=3, total_area_m2=2, njop_total=7_000)
    parcels = parcels_of(NIK, record)
    assert [p.luas_m2 for p in parcels] == [1, 1, 0]
    assert sum(p.njop for p in parcels) == 7_000


# --- the simulator's API ----------------------------------------------------------------------


async def test_sim_lists_the_parcels(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    nik = holders(population)[-1]
    credentials = sim.credentials
    status, body, _ = await cari(
        http,
        sim.url,
        {"nik_pemegang_hak": nik},
        basic(credentials["username"], credentials["password"]),
    )
    record = population.atr_bpn[nik]
    assert status == 200 and body["status"] == "sukses"
    data = body["data"]
    assert isinstance(data, list) and len(data) == record.parcel_count
    for parcel in data:
        assert set(parcel) == {"nib", "nik_pemegang_hak", "luas_m2", "njop", "jenis_hak"}
        assert parcel["nik_pemegang_hak"] == nik
        assert len(parcel["nib"]) == 14 and parcel["nib"].isdigit()
        assert parcel["jenis_hak"] in ("HM", "HGB")
    assert sum(p["luas_m2"] for p in data) == record.total_area_m2
    assert sum(p["njop"] for p in data) == record.njop_total


async def test_sim_lists_nothing_for_the_landless(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population
) -> None:
    headers = basic(sim.credentials["username"], sim.credentials["password"])
    for nik in landless(population):
        status, body, _ = await cari(http, sim.url, {"nik_pemegang_hak": nik}, headers)
        assert (status, body) == (200, {"status": "sukses", "data": []})


def _refused_headers(credentials: Mapping[str, str]) -> dict[str, dict[str, str]]:
    username, password = credentials["username"], credentials["password"]
    return {
        "none": {},
        "wrong username": basic("kemensos-other", password),
        "wrong password": basic(username, password + "x"),
        "empty password": basic(username, ""),
        "not basic": {"Authorization": f"Bearer {password}"},
        "not base64": {"Authorization": "Basic !!!"},
        "no colon": {"Authorization": "Basic " + base64.b64encode(username.encode()).decode()},
    }


REFUSED = list(_refused_headers({"username": "u", "password": "p"}))


@pytest.mark.parametrize("case", REFUSED)
async def test_sim_refuses_bad_credentials(
    sim: SimHandle, http: aiohttp.ClientSession, population: Population, case: str
) -> None:
    headers = _refused_headers(sim.credentials)[case]
    status, body, response_headers = await cari(
        http, sim.url, {"nik_pemegang_hak": holders(population)[0]}, headers
    )
    assert status == 401 and body["status"] == "gagal" and "data" not in body
    assert response_headers["WWW-Authenticate"].startswith("Basic")


async def test_sim_checks_credentials_before_the_request(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    status, _, _ = await cari(http, sim.url, {"nik_pemegang_hak": "x"}, {})
    assert status == 401


@pytest.mark.parametrize(
    "body",
    [
        {"nik_pemegang_hak": NIK[:-1]},
        {"nik_pemegang_hak": NIK + "1"},
        {"nik_pemegang_hak": NIK[:-1] + "a"},
        {"nik_pemegang_hak": FULLWIDTH_NIK},
        {"nik_pemegang_hak": int(NIK)},
        {"nik": NIK},
        [NIK],
        None,
    ],
)
async def test_sim_refuses_a_malformed_request(
    sim: SimHandle, http: aiohttp.ClientSession, body: object
) -> None:
    headers = basic(sim.credentials["username"], sim.credentials["password"])
    status, answer, _ = await cari(http, sim.url, body, headers)
    assert status == 400 and answer["status"] == "gagal"


async def test_sim_refuses_a_body_that_is_not_json(
    sim: SimHandle, http: aiohttp.ClientSession
) -> None:
    headers = basic(sim.credentials["username"], sim.credentials["password"])
    async with http.post(sim.url + PATH, data=b"nik=" + NIK.encode(), headers=headers) as response:
        assert response.status == 400


# --- the adapter ------------------------------------------------------------------------------


def test_simulated_agency_offers_the_catalogue() -> None:
    assert_offers(SIMULATED, "ID/GOV/ATRBPN/land", {PARCELS_SERVICE: FIELDS})
    assert PARCELS_SERVICE == "ID/GOV/ATRBPN/land/parcels"
    assert {spec.name: spec.type for spec in SIMULATED.catalogue} == dict.fromkeys(
        FIELDS, "integer"
    )


def parcel(**overrides: object) -> dict[str, object]:
    body = {"nib": "35101000000001", "nik_pemegang_hak": NIK, "luas_m2": 300, "njop": 1_000}
    return body | {"jenis_hak": "HM"} | overrides


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {"status": "sukses", "data": [parcel(), parcel(nik_pemegang_hak="3510100101800002")]},
            200,
        ),
        ({"status": "sukses", "data": [parcel(luas_m2=-1)]}, 200),
        ({"status": "sukses", "data": [parcel(luas_m2="300")]}, 200),
        ({"status": "sukses", "data": [parcel(njop=True)]}, 200),
        ({"status": "sukses", "data": [parcel(), "bidang"]}, 200),
        ({"status": "sukses", "data": parcel()}, 200),
        ({"status": "sukses"}, 200),
        ({"status": "gagal", "data": []}, 200),
        ({"data": []}, 200),
        ({"status": "sukses", "data": []}, 404),  # a 404 is a wrong URL, not "no land"
    ],
)
async def test_adapter_unavailable_on_a_bad_answer(body: object, status: int) -> None:
    async with (
        answering("POST", PATH, body, status) as url,
        closing(AtrBpnAgency(url, username="u", password="p")) as adapter,
    ):
        await assert_unavailable(adapter, NIK, FIELDS)


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_only_a_predicate_a_bucket_and_a_predicate() -> None:
    # Which fields at all: test_every_agency; here, how.
    decision = pilot_decision(PARCELS_SERVICE, FIELDS)
    assert {name: rule.treatment for name, rule in decision.releases.items()} == {
        "parcel_count": "predicate",
        "total_area_m2": "bucketed",
        "njop_total": "predicate",
    }
    released = decision.apply(
        {"parcel_count": 2, "total_area_m2": 1_200, "njop_total": 500_000_000},
        today=POLICY_DAY,
    )
    assert released["parcel_count"] is True and released["njop_total"] is True
    assert released["total_area_m2"] != 1_200  # a band, never the area
