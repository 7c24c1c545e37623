"""What holds for every simulated agency of the pilot, checked once, over all PILOT_AGENCIES.

Each agency's own file keeps only what is its own: its API's shape, how it refuses a wrong
client, its quirks, and ``ask_sim``, how its simulator is asked directly. ``REGISTERS`` says,
per agency, where the population keeps what the agency holds, which people and fields make
good samples, and that ``ask_sim``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from connectors.bpjstk import sample_niks
from connectors.population import Population, unknown_nik
from connectors.sdk.agency import Agency, InvalidSubject
from connectors.simulation.agency import SimHandle, SimulatedAgency, start_sim
from connectors.simulation.faults import EXTRA_FIELDS, FaultSettings
from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency
from policies import load_policies
from tests.connectors.support import (
    CLIENT,
    PURPOSE,
    PYTHON_TYPES,
    RunningSim,
    adapter_of,
    assert_unavailable,
    banked,
    closing,
    deceased,
    in_dtks,
    jkn_members,
    living,
    parcel_holders,
    serve,
    with_car,
)
from tests.connectors.test_atr_bpn import ask_sim as ask_atr_bpn
from tests.connectors.test_bpjs_kesehatan import ask_sim as ask_bpjs_kesehatan
from tests.connectors.test_bpjstk import ask_sim as ask_bpjstk
from tests.connectors.test_dtks import ask_sim as ask_dtks
from tests.connectors.test_dukcapil import ask_sim as ask_dukcapil
from tests.connectors.test_himbara import ask_sim as ask_himbara
from tests.connectors.test_polri import ask_sim as ask_polri

Values = Mapping[str, object]
# One request about a NIK straight to the agency's simulator, with the credentials it issued
# (True) or ones it refuses (False); the HTTP status it answers (its refusal: 401, or 403).
# Each agency's own test file knows how its API is asked.
AskSim = Callable[[aiohttp.ClientSession, SimHandle, str, bool], Awaitable[int]]


@dataclass(frozen=True)
class Register:
    attribute: str  # the register is population.<attribute>, keyed by NIK
    # Record holders worth a closer look, the first a typical one.
    holders: Callable[[Population], list[str]]
    # Two catalogue fields the first holder has a value for.
    requested: tuple[str, str]
    # Names the agency's own answer uses, or that are no catalogue field anyway.
    foreign_names: tuple[str, ...]
    # Whether the register's records, as fetched, are varied enough to mean something.
    varied: Callable[[Sequence[Values]], bool]
    ask_sim: AskSim
    # Catalogue fields the policy file never releases to the pilot.
    withheld: tuple[str, ...] = ()
    # Whether it holds everybody (the civil registry), so that nobody real is missing.
    holds_everyone: bool = False


def _terminated_and_employed(population: Population) -> list[str]:
    samples = sample_niks(population)
    return [samples.recently_terminated, samples.employed]


REGISTERS: dict[str, Register] = {
    "dtks": Register(
        "dtks",
        lambda population: [in_dtks(population)],
        ("decile", "programmes"),
        ("nik", "desil", "program"),
        lambda values: {v["in_dtks"] for v in values} == {True, False},
        ask_sim=ask_dtks,
    ),
    "dukcapil": Register(
        "dukcapil",
        lambda population: [deceased(population), living(population)],
        ("village", "alive"),
        ("NAMA_LGKP", "name", "NIK"),
        lambda values: {v["moved_out"] for v in values} == {True, False},
        ask_sim=ask_dukcapil,
        withheld=("death_date", "gender"),
        holds_everyone=True,
    ),
    "bpjstk": Register(
        "bpjstk",
        _terminated_and_employed,
        ("monthly_wage", "employer"),
        ("name", "nama", "nik"),
        lambda values: any("termination_date" in v for v in values),
        ask_sim=ask_bpjstk,
    ),
    "bpjs_kesehatan": Register(
        "bpjs_kesehatan",
        jkn_members,
        ("pbi", "segment"),
        ("nama", "nik", "hakKelas"),
        lambda values: (
            len({v["segment"] for v in values}) == 5
            and {v["membership_status"] for v in values} == {"active", "inactive"}
        ),
        ask_sim=ask_bpjs_kesehatan,
    ),
    "atr_bpn": Register(
        "atr_bpn",
        parcel_holders,
        ("njop_total", "parcel_count"),
        ("nib", "data", "luas_m2"),
        lambda values: {1, 2} <= {v["parcel_count"] for v in values},
        ask_sim=ask_atr_bpn,
    ),
    "polri": Register(
        "polri",
        lambda population: [with_car(population)],
        ("car_count", "motorcycle_count"),
        ("nopol", "merk", "jumlah", "nik"),
        lambda values: (
            any(v["car_count"] for v in values) and any(v["motorcycle_count"] for v in values)
        ),
        ask_sim=ask_polri,
    ),
    "himbara": Register(
        "bank",
        lambda population: [banked(population)],
        ("total_balance", "account_count"),
        ("accountNo", "bank", "nik"),
        lambda values: any(v["account_count"] != 1 for v in values),
        ask_sim=ask_himbara,
    ),
}


@pytest.fixture(params=PILOT_AGENCIES)
def simulated(request: pytest.FixtureRequest) -> SimulatedAgency:
    """Overrides conftest's: every pilot agency in turn, each its own test id."""
    return simulated_agency(request.param)


@pytest.fixture
def register(simulated: SimulatedAgency) -> Register:
    return REGISTERS[simulated.name]


def records_of(population: Population, register: Register) -> Mapping[str, object]:
    records: Mapping[str, object] = getattr(population, register.attribute)
    return records


def catalogue_view(agency: SimulatedAgency, record: object) -> dict[str, object]:
    """What the adapter must return for a record: its catalogue fields, those it has a value for."""
    held = dataclasses.asdict(record)  # type: ignore[call-overload]
    return {spec.name: held[spec.name] for spec in agency.catalogue if held[spec.name] is not None}


def all_fields(agency: SimulatedAgency) -> tuple[str, ...]:
    return tuple(spec.name for spec in agency.catalogue)


def not_held(population: Population, register: Register) -> list[str]:
    """A household head and a family member the register holds nothing on, where there are."""
    records = records_of(population, register)
    households = population.households
    heads = (h.head.nik for h in households if h.head.nik not in records)
    others = (m.nik for h in households for m in h.members[1:] if m.nik not in records)
    return [nik for nik in (next(heads, None), next(others, None)) if nik is not None]


# --- what the pilot says about it -------------------------------------------------------------


def test_agency_is_simulated_as_named_with_a_catalogue_for_its_services(
    simulated: SimulatedAgency,
) -> None:
    names = [spec.name for spec in simulated.catalogue]
    assert simulated_agency(simulated.name) is simulated
    assert simulated.name in PILOT_AGENCIES and simulated.title
    assert len(set(names)) == len(names) and names
    assert all(set(fields) <= set(names) for fields in simulated.services.values())
    assert set(names) == {name for fields in simulated.services.values() for name in fields}
    assert all(spec.type in PYTHON_TYPES for spec in simulated.catalogue)
    # Every run issues its connector fresh credentials.
    assert simulated.new_credentials() != simulated.new_credentials()


def test_policy_releases_exactly_the_services_fields(simulated: SimulatedAgency) -> None:
    policies = load_policies()
    withheld = REGISTERS[simulated.name].withheld
    for service, fields in simulated.services.items():
        released = tuple(name for name in fields if name not in withheld)
        assert policies.allowed_fields(CLIENT, PURPOSE, service) == released


# --- the simulator ----------------------------------------------------------------------------


async def test_sim_logs_no_nik_nor_credential(
    register: Register,
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    niks = [*register.holders(population), unknown_nik(population)]
    for nik in niks:
        assert await register.ask_sim(http, sim, nik, True) in (200, 404)
        assert await register.ask_sim(http, sim, nik, False) in (401, 403)
    for secret in [*niks, *sim.credentials.values()]:
        assert secret not in caplog.text


async def test_adapter_unavailable_with_any_credential_wrong(
    simulated: SimulatedAgency,
    register: Register,
    sim: SimHandle,
    http: aiohttp.ClientSession,
    population: Population,
) -> None:
    holders = register.holders(population)
    refusal = f"HTTP {await register.ask_sim(http, sim, holders[0], False)}"
    for name, wrong in itertools.product(sim.credentials, ["wrong", ""]):
        async with adapter_of(simulated, sim, **{name: wrong}) as adapter:
            for nik in holders:
                error = await assert_unavailable(adapter, nik, all_fields(simulated), refusal)
                assert not any(secret in str(error) for secret in sim.credentials.values())


# --- the adapter against its simulator --------------------------------------------------------


async def test_adapter_returns_every_record_as_the_register_holds_it(
    simulated: SimulatedAgency, register: Register, agency: Agency, population: Population
) -> None:
    records = records_of(population, register)
    niks = list(records)
    fields = all_fields(simulated)
    # Everyone the register holds, concurrently over the adapter's one pooled session.
    results = await asyncio.gather(*(agency.fetch(nik, fields) for nik in niks))
    types = {spec.name: PYTHON_TYPES[spec.type] for spec in simulated.catalogue}
    fetched: list[Values] = []
    for nik, values in zip(niks, results, strict=True):
        assert values == catalogue_view(simulated, records[nik])
        assert all(type(value) is types[name] for name, value in values.items())
        fetched.append(values)
    assert register.varied(fetched)
    assert set(register.holders(population)) <= set(niks)


async def test_adapter_returns_only_the_requested_fields(
    register: Register, agency: Agency, population: Population
) -> None:
    nik = register.holders(population)[0]
    one, other = register.requested
    assert set(await agency.fetch(nik, [one]) or {}) == {one}
    assert await agency.fetch(nik, []) == {}
    # Names outside the catalogue (ones the agency does send, or anything else) never appear.
    values = await agency.fetch(nik, [other, *register.foreign_names])
    assert set(values or {}) == {other}


async def test_adapter_returns_none_for_an_unknown_nik(
    simulated: SimulatedAgency, agency: Agency, population: Population
) -> None:
    assert await agency.fetch(unknown_nik(population), all_fields(simulated)) is None


async def test_adapter_returns_none_for_people_the_register_does_not_hold(
    simulated: SimulatedAgency, register: Register, agency: Agency, population: Population
) -> None:
    missing = not_held(population, register)
    if register.holds_everyone:
        assert missing == []  # nobody real to ask about: an unknown NIK is the only case
        return
    # A head the register never listed, and (where it lists heads only) a family member.
    assert missing[0] in {h.head.nik for h in population.households}
    for nik in missing:
        assert await agency.fetch(nik, all_fields(simulated)) is None


MALFORMED = {
    "short": "351011440677000",
    "long": "35101144067700012",
    "letter": "35101144067700a1",
    "arabic-indic-digits": "\u0663" * 16,
    "fullwidth-digits": "".join(chr(0xFF10 + int(d)) for d in "3510100101800001"),
    "empty": "",
}


@pytest.mark.parametrize("subject", MALFORMED.values(), ids=MALFORMED.keys())
async def test_adapter_refuses_a_malformed_subject_without_asking(
    simulated: SimulatedAgency, subject: str
) -> None:
    asked: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.json_response({}, status=500)

    app = web.Application()
    app.router.add_route("*", "/{path:.*}", anything)
    async with (
        serve(app) as url,
        closing(simulated.make_adapter(url, simulated.new_credentials())) as adapter,
    ):
        with pytest.raises(InvalidSubject):
            await adapter.fetch(subject, all_fields(simulated))
    assert asked == []  # refused before any call, not for what the agency said


FAULTS = {"503": FaultSettings(error_rate=1.0), "malformed": FaultSettings(malformed_rate=1.0)}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
async def test_adapter_unavailable_on_injected_faults(
    simulated: SimulatedAgency,
    register: Register,
    population: Population,
    running_sim: RunningSim,
    faults: FaultSettings,
) -> None:
    nik = register.holders(population)[0]
    async with running_sim(simulated, faults) as handle, adapter_of(simulated, handle) as adapter:
        await assert_unavailable(adapter, nik, all_fields(simulated))


async def test_adapter_unavailable_when_the_sim_is_down(
    simulated: SimulatedAgency, register: Register, population: Population
) -> None:
    stopped = await start_sim(simulated, population, port=0)
    await stopped.close()
    nik = register.holders(population)[0]
    async with adapter_of(simulated, stopped) as adapter:
        await assert_unavailable(adapter, nik, all_fields(simulated))


async def test_adapter_ignores_injected_extra_fields(
    simulated: SimulatedAgency,
    register: Register,
    population: Population,
    running_sim: RunningSim,
) -> None:
    records = records_of(population, register)
    fields = all_fields(simulated)
    extra = FaultSettings(extra_fields=True)
    async with running_sim(simulated, extra) as handle, adapter_of(simulated, handle) as adapter:
        for nik in register.holders(population):
            values = await adapter.fetch(nik, [*fields, *EXTRA_FIELDS])
            assert values == catalogue_view(simulated, records[nik])
        # Nor do they make a record out of an answer that there is none.
        for nik in [unknown_nik(population), *not_held(population, register)]:
            assert await adapter.fetch(nik, fields) is None
