"""Drawing one household's ground truth: who lives there, what they earn and own.

All draws come from the household's own ``random.Random``; the shapes (lognormal income driven
by one latent "standing" per household, assets that follow it loosely) are chosen so the truth
has roughly Banyuwangi's proportions, not fitted to any real survey.
"""

from __future__ import annotations

import bisect
import datetime
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from connectors.population.model import (
    RECENT_JOB_LOSS_DAYS,
    REFERENCE_DATE,
    Assets,
    Employment,
    Gender,
    Person,
    Relationship,
    Village,
)
from connectors.population.nik import make_nik

_REFERENCE_ORDINAL = REFERENCE_DATE.toordinal()
_ANY_DATE = datetime.date(2000, 1, 1)
# Nobody is older than 84, so nobody was born before 1942 and no two-digit NIK year is ambiguous.
_MAX_AGE = 84

_MALE_NAMES = (
    "Agus", "Bambang", "Budi", "Eko", "Hadi", "Imam", "Joko", "Slamet", "Sugeng", "Wahyu",
    "Yusuf", "Rudi", "Sahuri", "Mursid", "Samsul", "Ponirin",
)  # fmt: skip
_FEMALE_NAMES = (
    "Dewi", "Endang", "Lestari", "Nur", "Puji", "Ratna", "Rina", "Siti", "Sri", "Sulastri",
    "Wulan", "Yuliana", "Sahuni", "Misnati", "Painah", "Juwariyah",
)  # fmt: skip
# Javanese and Osing second names are personal and gendered too, not family names.
_MALE_SECOND_NAMES = ("Hartono", "Kurniawan", "Prasetyo", "Santoso", "Setiawan", "Wibowo")
_FEMALE_SECOND_NAMES = ("Handayani", "Maryani", "Purwanti", "Rahmawati", "Susanti", "Wulandari")
# Every combination, built once: one draw per name instead of two.
_MALE_FULL_NAMES = tuple(f"{a} {b}" for a in _MALE_NAMES for b in _MALE_SECOND_NAMES)
_FEMALE_FULL_NAMES = tuple(f"{a} {b}" for a in _FEMALE_NAMES for b in _FEMALE_SECOND_NAMES)
_EMPLOYERS = (
    "PT Perkebunan Kalibaru",
    "CV Osing Jaya",
    "Koperasi Tani Kemiren",
    "PT Kopi Gandrung Lestari",
    "UD Batik Gajah Oling",
    "PT Ijen Wisata Nusantara",
    "PT Tambak Udang Muncar",
    "Hotel Blambangan Asri",
)


@dataclass(frozen=True, slots=True)
class VillageProfile:
    """What makes the villages differ: household size, income level, farming, land prices."""

    size_cum_weights: tuple[int, ...]  # of household sizes 1..7, out of 100
    income_shift: float  # added to log income: rural Kemiren a little poorer than town Lateng
    farm_share: float  # households that also hold farmland
    land_price_m2: int  # rupiah, NJOP per square metre (town land is dearer)


_PROFILES = {
    # Mean sizes about 3.0 and 3.15 people, as the villages' ~2,600/870 and ~6,000/1,900 give.
    "Kemiren": VillageProfile((14, 40, 67, 86, 95, 98, 100), -0.04, 0.40, 180_000),
    "Lateng": VillageProfile((11, 35, 63, 84, 94, 98, 100), 0.02, 0.08, 900_000),
}

# Log per-capita income ~ Normal(mu, sigma) puts ~12 % below Rp 500,000 and ~18 % more within
# 1.5 times of it, the shares the brief asks for.
_LOG_INCOME_MU = 13.87
_LOG_INCOME_SIGMA = 0.65
_JOB_LOSS_SHARE = 0.025


def profile(village: Village) -> VillageProfile:
    return _PROFILES[village.name]


class Latent(NamedTuple):
    """The household's hidden standing, which the agencies' views are drawn from.

    ``standing`` (~N(0, 1)) drives assets; ``income_then`` is the log-income score before a
    recent job loss (equal to the current one otherwise), which a stale DTKS survey still sees.
    """

    standing: float
    income_now: float
    income_then: float


class Economy(NamedTuple):
    latent: Latent
    per_capita_income: int
    employment: Employment | None
    recent_job_loss: bool
    assets: Assets


def draw_members(
    rng: random.Random, village: Village, district: str, serial: int
) -> tuple[Person, ...]:
    """The family card's people, head first; (birth date, gender) distinct (see ``nik``)."""
    size = 1 + bisect.bisect_right(profile(village).size_cum_weights, rng.random() * 100)
    head_age = _clamp(int(rng.gauss(47, 13)), 20, _MAX_AGE)
    has_spouse = size >= 2 and rng.random() < 0.88
    head_gender: Gender = "male" if has_spouse and rng.random() < 0.92 else _coin_gender(rng)
    card = _Card(district, serial)
    members = [card.person(rng, "head", head_gender, head_age)]
    if has_spouse:
        spouse_age = _clamp(head_age + int(rng.gauss(-3, 4)), 18, _MAX_AGE)
        spouse_gender: Gender = "female" if head_gender == "male" else "male"
        members.append(card.person(rng, "spouse", spouse_gender, spouse_age))
    while len(members) < size:
        members.append(card.person(rng, *_draw_relative(rng, head_age)))
    return tuple(members)


def _draw_relative(rng: random.Random, head_age: int) -> tuple[Relationship, Gender, int]:
    roll = rng.random()
    if roll < 0.08 and head_age < 60:  # an elderly parent living with the family
        return "parent", _coin_gender(rng), _clamp(head_age + between(rng, 20, 32), 40, _MAX_AGE)
    if roll < 0.13:  # a grandchild, niece or in-law
        return "other", _coin_gender(rng), between(rng, 0, 30)
    oldest_child = max(0, min(head_age - 19, 35))
    return "child", _coin_gender(rng), between(rng, 0, oldest_child)


class _Card:
    """Issues the people of one family card their NIKs (the scheme is in ``nik``)."""

    __slots__ = ("_prefix", "_suffix", "_taken")

    def __init__(self, district: str, serial: int) -> None:
        # make_nik's layout, split around the date so each person formats only the date.
        self._prefix = make_nik(district, _ANY_DATE, "male", serial)[:6]
        self._suffix = f"{serial:04d}"
        self._taken: set[tuple[int, Gender]] = set()

    def person(
        self, rng: random.Random, relationship: Relationship, gender: Gender, age: int
    ) -> Person:
        birth = _REFERENCE_ORDINAL - age * 365 - int(rng.random() * 365) - age // 4
        while (birth, gender) in self._taken:  # twins: recorded a day apart keeps NIKs unique
            birth -= 1
        self._taken.add((birth, gender))
        born = datetime.date.fromordinal(birth)
        # Deaths of the last three years whose family card still lists the person: ~1 %.
        death_date = None
        if rng.random() < (0.09 if age >= 65 else 0.007):
            died = max(birth + 1, _REFERENCE_ORDINAL - int(rng.random() * 1095))
            death_date = datetime.date.fromordinal(died)
        day = born.day + 40 if gender == "female" else born.day
        return Person(
            nik=f"{self._prefix}{day:02d}{born.month:02d}{born.year % 100:02d}{self._suffix}",
            name=pick(rng, _MALE_FULL_NAMES if gender == "male" else _FEMALE_FULL_NAMES),
            gender=gender,
            birth_date=born,
            alive=death_date is None,
            death_date=death_date,
            moved_out=death_date is None and rng.random() < _move_chance(relationship, age),
            relationship=relationship,
        )


def _move_chance(relationship: Relationship, age: int) -> float:
    # Young adults leave for work in Surabaya or Bali; heads rarely leave their own card.
    if relationship == "head":
        return 0.012
    return 0.07 if 18 <= age <= 40 else 0.005


_T = TypeVar("_T")


# ``random.Random.choice`` and ``randint`` are general and slow; these two are all a household
# needs, and they keep generation above 50,000 people a second.
def pick(rng: random.Random, items: Sequence[_T]) -> _T:
    return items[int(rng.random() * len(items))]


def between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def _coin_gender(rng: random.Random) -> Gender:
    return "male" if rng.random() < 0.5 else "female"


def _clamp(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _round_thousand(rupiah: float) -> int:
    return int(rupiah / 1000) * 1000


def draw_economy(rng: random.Random, village: Village, members: tuple[Person, ...]) -> Economy:
    """Income, the head's formal job and assets, all following one latent standing."""
    residents = max(1, sum(1 for m in members if m.alive and not m.moved_out))
    head = members[0]
    head_age = _age(head)
    shift = profile(village).income_shift
    job_loss = head.resident and 20 <= head_age <= 57 and rng.random() < _JOB_LOSS_SHARE
    if job_loss:
        return _economy_after_job_loss(rng, village, residents, shift)
    standing = rng.gauss(0.0, 1.0)
    # Income follows standing but not exactly: a good harvest, a sick earner.
    score = 0.95 * standing + 0.3 * rng.gauss(0.0, 1.0)
    per_capita = _per_capita_income(score, shift)
    employment = _employment(rng, standing, per_capita * residents, head.resident, head_age)
    latent = Latent(standing, score, score)
    return Economy(
        latent, per_capita, employment, False, _assets(rng, village, standing, per_capita)
    )


def _economy_after_job_loss(
    rng: random.Random, village: Village, residents: int, shift: float
) -> Economy:
    # A formal worker's family, not rich, loses the wage within the last 90 days: what is left
    # is a spouse's trade or odd jobs, so most fall below or near the poverty line at once.
    standing = rng.gauss(-0.1, 0.6)
    score_then = 0.95 * standing + 0.3 * rng.gauss(0.0, 1.0)
    per_capita_then = _per_capita_income(score_then, shift)
    remaining = rng.uniform(0.25, 0.65)
    per_capita = _round_thousand(per_capita_then * remaining)
    score_now = score_then + math.log(remaining) / _LOG_INCOME_SIGMA
    wage = _round_thousand(max(1_200_000, per_capita_then * residents * rng.uniform(0.5, 0.7)))
    days_ago = between(rng, 1, RECENT_JOB_LOSS_DAYS)
    employment = Employment(
        employer=pick(rng, _EMPLOYERS),
        monthly_wage=wage,
        termination_date=REFERENCE_DATE - datetime.timedelta(days=days_ago),
    )
    latent = Latent(standing, score_now, score_then)
    assets = _assets(rng, village, standing, per_capita_then)
    return Economy(latent, per_capita, employment, True, assets)


def _per_capita_income(score: float, shift: float) -> int:
    return _round_thousand(math.exp(_LOG_INCOME_MU + shift + _LOG_INCOME_SIGMA * score))


def _employment(
    rng: random.Random, standing: float, household_income: int, head_resident: bool, age: int
) -> Employment | None:
    """The head's formal job now, or one that ended long ago, or none (informal all along)."""
    if not head_resident or age < 20:
        return None
    if age <= 57 and rng.random() < _logistic(-1.1 + 1.3 * standing):
        share = rng.uniform(0.5, 0.9)
        wage = _round_thousand(max(1_000_000, household_income * share))
        return Employment(pick(rng, _EMPLOYERS), wage, None)
    if rng.random() < 0.12:  # left formal work years ago (retired, contract ended, went informal)
        days_ago = between(rng, RECENT_JOB_LOSS_DAYS + 1, 3000)
        wage = _round_thousand(rng.uniform(1_200_000, 4_000_000))
        ended = REFERENCE_DATE - datetime.timedelta(days=days_ago)
        return Employment(pick(rng, _EMPLOYERS), wage, ended)
    return None


def _assets(rng: random.Random, village: Village, standing: float, per_capita: int) -> Assets:
    land, parcels = _land(rng, village, standing)
    cars = 0
    if rng.random() < _logistic(-3.2 + 1.8 * standing):
        cars = 2 if rng.random() < _logistic(-2.5 + standing) else 1
    motorcycles = _clamp(round(1.1 + 0.6 * standing + rng.gauss(0.0, 0.7)), 0, 4)
    balance = 0
    if rng.random() < _logistic(0.2 + 1.3 * standing):
        balance = _round_thousand(per_capita * math.exp(rng.gauss(0.5 + 0.9 * standing, 0.9)))
    return Assets(land, parcels, cars, motorcycles, balance)


def _land(rng: random.Random, village: Village, standing: float) -> tuple[int, int]:
    """(area in m², parcels): a house plot for most, farmland (sawah, kebun) for some."""
    area, parcels = 0, 0
    if rng.random() < _logistic(0.3 + 0.9 * standing):
        area += int(math.exp(5.3 + 0.5 * standing + rng.gauss(0.0, 0.5)))  # ~200 m² house plot
        parcels += 1
    if rng.random() < profile(village).farm_share * _logistic(0.5 * standing + 0.5):
        area += int(math.exp(7.8 + 0.6 * standing + rng.gauss(0.0, 0.6)))  # ~2,500 m² of sawah
        parcels += 1 + (rng.random() < 0.2)
    return area, parcels


def _age(person: Person) -> int:
    return (_REFERENCE_ORDINAL - person.birth_date.toordinal()) // 365
