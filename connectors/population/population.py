"""Whole populations: households one at a time, or materialised with every agency's lookups."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import TypeVar

from connectors.population.model import (
    KEMIREN,
    LATENG,
    REFERENCE_DATE,
    VILLAGES,
    Household,
    Person,
    Village,
    classify_welfare,
)
from connectors.population.nik import household_slot, make_kk_number, make_nik
from connectors.population.records import AgencyViews
from connectors.population.truth import between, draw_economy, draw_members
from connectors.population.views import draw_views

# Households per village at scale 1, about the villages' real size (~2,600 and ~6,000 people).
BASE_HOUSEHOLDS: Mapping[str, int] = {KEMIREN.name: 870, LATENG.name: 1900}

_Record = TypeVar("_Record")


def household_count(village: Village, scale: float) -> int:
    if scale <= 0:
        raise ValueError(f"scale must be positive, not {scale}")
    return max(1, round(BASE_HOUSEHOLDS[village.name] * scale))


def make_household(seed: int, village: Village, index: int) -> Household:
    """Household ``index`` of ``village``: depends on nothing else, so not on the scale."""
    rng = random.Random(f"{seed}:{village.name}:{index}")
    district, serial = household_slot(village, index)
    members = draw_members(rng, village, district, serial)
    economy = draw_economy(rng, village, members)
    welfare = classify_welfare(economy.per_capita_income)
    issued = datetime.date.fromordinal(REFERENCE_DATE.toordinal() - between(rng, 30, 7300))
    return Household(
        kk_number=make_kk_number(district, issued, serial),
        village=village,
        index=index,
        members=members,
        welfare=welfare,
        per_capita_income=economy.per_capita_income,
        recent_job_loss=economy.recent_job_loss,
        employment=economy.employment,
        assets=economy.assets,
        views=draw_views(rng, village, members, economy, welfare),
    )


def iter_households(seed: int = 2026, *, scale: float = 1.0) -> Iterator[Household]:
    """Every household, one at a time (memory stays flat at regency scale): Kemiren, then Lateng."""
    for village in VILLAGES:
        for index in range(household_count(village, scale)):
            yield make_household(seed, village, index)


def generate(seed: int = 2026, *, scale: float = 1.0) -> Population:
    """The whole population in memory, with each agency's lookup by NIK."""
    return Population(iter_households(seed, scale=scale))


def _by_head(
    view: Callable[[AgencyViews], _Record | None],
) -> cached_property[Mapping[str, _Record]]:
    """A household-level register: each household's ``view`` record, keyed by its head's NIK."""

    def records(population: Population) -> Mapping[str, _Record]:
        return {
            h.head.nik: record
            for h in population.households
            if (record := view(h.views)) is not None
        }

    return cached_property(records)


def _by_member(
    view: Callable[[AgencyViews], Sequence[_Record | None]],
) -> cached_property[Mapping[str, _Record]]:
    """A per-person register: each member's ``view`` record (in ``members``' order), by NIK."""

    def records(population: Population) -> Mapping[str, _Record]:
        return {
            p.nik: record
            for h in population.households
            for p, record in zip(h.members, view(h.views), strict=True)
            if record is not None
        }

    return cached_property(records)


class Population:
    """Households and, built on first use, each agency's records keyed by NIK.

    Household-level registers (DTKS, BPJS Ketenagakerjaan, ATR/BPN, Polri, the banks) are
    keyed by the head's NIK; Dukcapil and BPJS Kesehatan by every member's.
    """

    def __init__(self, households: Iterable[Household]) -> None:
        self.households: tuple[Household, ...] = tuple(households)

    def people(self) -> Iterator[Person]:
        for household in self.households:
            yield from household.members

    def by_nik(self, nik: str) -> tuple[Household, Person] | None:
        return self._index.get(nik)

    def village_households(self, name: str) -> tuple[Household, ...]:
        return tuple(h for h in self.households if h.village.name == name)

    @cached_property
    def _index(self) -> dict[str, tuple[Household, Person]]:
        return {p.nik: (h, p) for h in self.households for p in h.members}

    dtks = _by_head(lambda views: views.dtks)
    bpjstk = _by_head(lambda views: views.bpjstk)
    atr_bpn = _by_head(lambda views: views.atr_bpn)
    polri = _by_head(lambda views: views.polri)
    bank = _by_head(lambda views: views.bank)
    dukcapil = _by_member(lambda views: views.dukcapil)
    bpjs_kesehatan = _by_member(lambda views: views.bpjs_kesehatan)


def unknown_nik(population: Population) -> str:
    """A well-formed Kemiren NIK that nobody in ``population`` has."""
    birth_date = datetime.date(1980, 1, 1)
    for serial in range(9999, 0, -1):
        nik = make_nik(KEMIREN.district_code, birth_date, "male", serial)
        if population.by_nik(nik) is None:
            return nik
    raise LookupError("every serial is taken")  # needs ~10,000 Kemiren households born that day
