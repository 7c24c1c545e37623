"""The simulated ATR/BPN parcel search and its adapter, over real loopback HTTP."""

from __future__ import annotations

import base64
import datetime
import logging
from collections.abc import Mapping

import aiohttp
import pytest

from connectors.atr_bpn import PARCELS_SERVICE, SIMULATED, AtrBpnAgency, parcels_of
from connectors.population import AtrBpnRecord, Population, generate, unknown_nik
from connectors.sdk.agency import AgencyUnavailable
from connectors.simulation.agency import SimHandle
from policies import load_policies
from tests.connectors.support import CLIENT, PURPOSE, SimAdapter, answering, assert_no_subject_in
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


async def test_sim_logs_no_nik(
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    nik = holders(population)[0]
    headers = basic(sim.credentials["username"], sim.credentials["password"])
    await cari(http, sim.url, {"nik_pemegang_hak": nik}, headers)
    await cari(http, sim.url, {"nik_pemegang_hak": nik}, {})
    assert nik not in caplog.text


# --- the adapter ------------------------------------------------------------------------------


def test_simulated_agency_offers_the_catalogue() -> None:
    assert SIMULATED.agency_id == "ID/GOV/ATRBPN/land"
    assert PARCELS_SERVICE == "ID/GOV/ATRBPN/land/parcels"
    assert dict(SIMULATED.services) == {PARCELS_SERVICE: FIELDS}
    assert {spec.name: spec.type for spec in SIMULATED.catalogue} == dict.fromkeys(
        FIELDS, "integer"
    )


@pytest.mark.parametrize("spoil", ["username", "password"])
async def test_adapter_unavailable_on_wrong_credentials(
    sim_adapter: SimAdapter, population: Population, spoil: str
) -> None:
    nik = holders(population)[0]
    async with sim_adapter(**{spoil: "wrong"}) as adapter:
        with pytest.raises(AgencyUnavailable, match="401") as caught:
            await adapter.fetch(nik, FIELDS)
    assert_no_subject_in(caught.value, nik)


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
    async with answering("POST", PATH, body, status) as url:
        adapter = AtrBpnAgency(url, username="u", password="p")
        try:
            with pytest.raises(AgencyUnavailable) as caught:
                await adapter.fetch(NIK, FIELDS)
        finally:
            await adapter.close()
    assert_no_subject_in(caught.value, NIK)


# --- the policy -------------------------------------------------------------------------------


def test_policy_releases_only_a_predicate_a_bucket_and_a_predicate() -> None:
    # Which fields at all: test_every_agency; here, how.
    decision = load_policies().decide(CLIENT, PURPOSE, PARCELS_SERVICE, FIELDS)
    assert {name: rule.treatment for name, rule in decision.releases.items()} == {
        "parcel_count": "predicate",
        "total_area_m2": "bucketed",
        "njop_total": "predicate",
    }
    released = decision.apply(
        {"parcel_count": 2, "total_area_m2": 1_200, "njop_total": 500_000_000},
        today=datetime.date(2026, 11, 1),
    )
    assert released["parcel_count"] is True and released["njop_total"] is True
    assert released["total_area_m2"] != 1_200  # a band, never the area
