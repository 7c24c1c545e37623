"""The synthetic population: NIK layout, determinism, proportions, and each agency's noise."""

from __future__ import annotations

import dataclasses
import inspect
import resource
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import connectors.population as population_api
from connectors.population import (
    KEMIREN,
    LATENG,
    RECENT_JOB_LOSS_DAYS,
    REFERENCE_DATE,
    VILLAGES,
    AtrBpnRecord,
    BankRecord,
    BpjsKesehatanRecord,
    BpjstkRecord,
    DtksRecord,
    DukcapilRecord,
    Household,
    PolriRecord,
    Population,
    generate,
    iter_households,
    make_household,
    parse_nik,
    unknown_nik,
)
from connectors.population.nik import HOUSEHOLDS_PER_DISTRICT_CODE, household_slot


@pytest.fixture(scope="module")
def population() -> Population:
    return generate(2026)


def _listed(household: Household) -> bool:
    return household.views.dtks is not None and household.views.dtks.in_dtks


def _share(items: list[Household], wanted: object) -> float:
    return sum(1 for h in items if h.welfare == wanted) / len(items)


# --- identity numbers


def _check_numbers(household: Household, district: str, serial: int) -> None:
    assert household.kk_number.isdigit() and len(household.kk_number) == 16
    assert household.kk_number[:6] == f"3510{district}"
    assert household.kk_number[12:] == f"{serial:04d}"
    for person in household.members:
        nik = person.nik
        assert nik.isdigit() and len(nik) == 16
        assert nik[:4] == "3510"
        day = int(nik[6:8])
        assert (day > 40) == (person.gender == "female")
        assert parse_nik(nik) == (district, person.birth_date, person.gender, serial)
        assert 1 <= serial <= 9999


def test_every_nik_has_the_real_layout(population: Population) -> None:
    for household in population.households:
        # At scale 1 every household fits in its village's own district code.
        _check_numbers(household, household.village.district_code, household.index + 1)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    village=st.sampled_from(VILLAGES),
    index=st.integers(0, 45 * HOUSEHOLDS_PER_DISTRICT_CODE - 1),
)
def test_any_household_at_any_scale_has_well_formed_numbers(
    seed: int, village: population_api.Village, index: int
) -> None:
    district, serial = household_slot(village, index)
    assert district in village.district_codes
    _check_numbers(make_household(seed, village, index), district, serial)


def test_villages_never_share_a_district_code() -> None:
    assert not set(KEMIREN.district_codes) & set(LATENG.district_codes)
    with pytest.raises(ValueError, match="at most"):
        household_slot(KEMIREN, len(KEMIREN.district_codes) * HOUSEHOLDS_PER_DISTRICT_CODE)


def test_niks_and_family_cards_are_unique_at_scale_3() -> None:
    households = list(iter_households(7, scale=3))
    niks = [p.nik for h in households for p in h.members]
    assert len(niks) > 25_000
    assert len(set(niks)) == len(niks)
    assert len({h.kk_number for h in households}) == len(households)


def test_unknown_nik_is_well_formed_and_nobodys(population: Population) -> None:
    nik = unknown_nik(population)
    assert parse_nik(nik)[0] == KEMIREN.district_code
    assert population.by_nik(nik) is None
    assert nik not in population.dukcapil


# --- determinism and scale


def test_same_seed_same_population_other_seed_differs(population: Population) -> None:
    assert generate(2026).households == population.households
    assert generate(2027).households != population.households


def test_a_household_does_not_depend_on_the_scale(population: Population) -> None:
    small = generate(2026, scale=0.05)
    for village in VILLAGES:
        few = small.village_households(village.name)
        assert 0 < len(few) < 100
        assert few == population.village_households(village.name)[: len(few)]


def test_villages_have_roughly_their_real_size(population: Population) -> None:
    for name, households, people in (("Kemiren", 870, 2_600), ("Lateng", 1_900, 6_000)):
        mine = population.village_households(name)
        assert len(mine) == households
        assert abs(sum(len(h.members) for h in mine) - people) < people * 0.1


def test_iter_households_is_lazy_and_memory_stays_flat() -> None:
    households = iter_households(2026, scale=20)
    assert inspect.isgenerator(iter_households(2026, scale=20))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    people = sum(len(h.members) for h in households)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert people > 150_000
    # Holding 170,000 people with their records would take hundreds of MiB.
    assert grown_mib < 30


# --- ground truth


def test_poor_and_vulnerable_shares(population: Population) -> None:
    households = list(population.households)
    assert 0.09 <= _share(households, "poor") <= 0.17
    assert 0.13 <= _share(households, "vulnerable") <= 0.23


def test_deceased_people_are_present_and_dukcapil_knows_them(population: Population) -> None:
    people = list(population.people())
    dead = [p for p in people if not p.alive]
    assert 0.004 <= len(dead) / len(people) <= 0.02
    assert all(p.death_date is not None and p.death_date <= REFERENCE_DATE for p in dead)
    known = sum(1 for p in dead if not population.dukcapil[p.nik].alive)
    assert known / len(dead) >= 0.85
    # The registry is late, never wrong the other way: nobody alive is recorded dead.
    assert all(population.dukcapil[p.nik].alive for p in people if p.alive)
    assert any(not h.head.alive and _listed(h) for h in population.households)


def test_recent_job_losses_are_mostly_poor_or_vulnerable(population: Population) -> None:
    lost = [h for h in population.households if h.recent_job_loss]
    assert len(lost) >= 30
    assert 1 - _share(lost, "non_poor") >= 0.7
    for household in lost:
        assert household.employment is not None
        ended = household.employment.termination_date
        assert ended is not None and (REFERENCE_DATE - ended).days <= RECENT_JOB_LOSS_DAYS
    seen = [h.views.bpjstk for h in lost if h.views.bpjstk is not None]
    assert len(seen) >= 0.8 * len(lost)
    assert all(r.employment_status == "inactive" and r.termination_date for r in seen)


# --- the agencies' views


def test_dtks_has_both_inclusion_and_exclusion_errors(population: Population) -> None:
    households = population.households
    poor = [h for h in households if h.welfare == "poor"]
    listed = [h for h in households if _listed(h)]
    exclusion = sum(1 for h in poor if not _listed(h)) / len(poor)
    inclusion = _share(listed, "non_poor")
    assert 0.15 <= exclusion <= 0.45
    assert 0.1 <= inclusion <= 0.7
    # ...yet DTKS still says something: the poor are listed far more often than the rest.
    non_poor = [h for h in households if h.welfare == "non_poor"]
    assert 1 - exclusion > 2 * sum(1 for h in non_poor if _listed(h)) / len(non_poor)
    records = [h.views.dtks for h in households if h.views.dtks is not None]
    stale = sum(1 for r in records if (REFERENCE_DATE - r.last_verified).days > 5 * 365)
    assert 0.15 <= stale / len(records) <= 0.6


def test_views_follow_the_truth_imperfectly(population: Population) -> None:
    households = population.households
    car_owners = [h for h in households if (r := h.views.polri) is not None and r.car_count]
    assert _share(car_owners, "poor") < 0.05

    def pbi_share(welfare: str) -> float:
        group = [h for h in households if h.welfare == welfare]
        return sum(1 for h in group if (r := h.views.bpjs_kesehatan[0]) and r.pbi) / len(group)

    assert pbi_share("poor") > 0.6 > pbi_share("non_poor") > 0.05

    def certified(welfare: str) -> float:
        group = [h for h in households if h.welfare == welfare]
        return sum(1 for h in group if h.views.atr_bpn is not None) / len(group)

    assert certified("non_poor") > certified("poor") > 0
    under_reported = 0
    for household in households:
        record, truth = household.views.bpjstk, household.employment
        if record is not None:
            assert truth is not None and record.monthly_wage <= truth.monthly_wage
            under_reported += record.monthly_wage < truth.monthly_wage
    assert under_reported > 0


def test_lookups_are_keyed_by_nik(population: Population) -> None:
    heads = {h.head.nik for h in population.households}
    for mapping in (
        population.dtks,
        population.bpjstk,
        population.atr_bpn,
        population.polri,
        population.bank,
    ):
        assert 0 < len(mapping) < len(heads)
        assert set(mapping) <= heads
    everyone = {p.nik for p in population.people()}
    assert set(population.dukcapil) == everyone
    assert set(population.bpjs_kesehatan) < everyone
    household = population.households[5]
    assert population.by_nik(household.members[-1].nik) == (household, household.members[-1])


def test_record_fields_are_the_connector_catalogue() -> None:
    expected = {
        DtksRecord: "in_dtks decile last_verified household_size programmes",
        DukcapilRecord: "alive death_date birth_date gender village family_card_members moved_out",
        BpjstkRecord: "employment_status employer monthly_wage termination_date",
        BpjsKesehatanRecord: "membership_status jkn_class pbi segment",
        AtrBpnRecord: "parcel_count total_area_m2 njop_total",
        PolriRecord: "car_count motorcycle_count newest_vehicle_year",
        BankRecord: "account_count total_balance average_balance_3m",
    }
    for record, names in expected.items():
        assert [f.name for f in dataclasses.fields(record)] == names.split()


def test_record_values_stay_in_their_ranges(population: Population) -> None:
    counts: Counter[str] = Counter()
    for household in population.households:
        views = household.views
        if views.dtks is not None:
            assert 1 <= views.dtks.decile <= 10 and views.dtks.household_size >= 1
            for programme in filter(None, views.dtks.programmes.split(",")):
                assert programme in ("PKH", "BPNT", "PBI-JK")
                counts[programme] += 1
        for jkn in filter(None, views.bpjs_kesehatan):
            assert 1 <= jkn.jkn_class <= 3
            assert jkn.pbi == jkn.segment.startswith("PBI")
    assert min(counts.values()) > 0 and len(counts) == 3
