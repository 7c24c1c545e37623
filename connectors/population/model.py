"""The ground truth of the synthetic population: villages, people, households.

Only the simulator and the tests may read this truth; every agency sees the noisy records in
``records`` instead, which is the point of the exercise (see the package docstring).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from connectors.population.records import AgencyViews

# Every "recent", "stale" and every age is measured from this fixed day, not from today, so the
# data set (and the demo's sudden-loss-of-livelihood cases) do not drift with the calendar.
REFERENCE_DATE = datetime.date(2026, 11, 1)
RECENT_JOB_LOSS_DAYS = 90

# Banyuwangi's poverty line is about Rp 500,000 per capita per month; "vulnerable" households
# live above it but within 1.5 times of it, one shock away from falling below.
POVERTY_LINE = 500_000
VULNERABILITY_LINE = POVERTY_LINE * 3 // 2

PROVINCE_JAWA_TIMUR = "35"
REGENCY_BANYUWANGI = "10"

Gender = Literal["male", "female"]
Welfare = Literal["poor", "vulnerable", "non_poor"]
Relationship = Literal["head", "spouse", "child", "parent", "other"]


@dataclass(frozen=True, slots=True)
class Village:
    name: str
    kecamatan: str
    district_code: str  # synthetic, not Kemendagri's: see the package docstring
    # Four NIK serial digits hold 9,999 households per district code (see ``nik``); a village
    # scaled towards the whole regency spills over into these extra, equally synthetic codes.
    overflow_codes: tuple[str, ...] = ()

    @property
    def district_codes(self) -> tuple[str, ...]:
        return (self.district_code, *self.overflow_codes)


# Kemiren takes the even overflow codes 12..98 and Lateng the odd ones 13..99, so the two
# villages never share a code: 45 codes x 9,999 households each, about scale 230.
KEMIREN = Village("Kemiren", "Glagah", "10", tuple(f"{c:02d}" for c in range(12, 100, 2)))
LATENG = Village("Lateng", "Banyuwangi", "11", tuple(f"{c:02d}" for c in range(13, 100, 2)))
VILLAGES = (KEMIREN, LATENG)


@dataclass(frozen=True, slots=True)
class Person:
    nik: str
    name: str
    gender: Gender
    birth_date: datetime.date
    alive: bool
    death_date: datetime.date | None
    moved_out: bool  # left the village but still on the family card
    relationship: Relationship

    @property
    def resident(self) -> bool:
        """Alive and still living in the household: counts towards per-capita income."""
        return self.alive and not self.moved_out


@dataclass(frozen=True, slots=True)
class Employment:
    """The head's current or most recent formal job (the truth behind BPJS Ketenagakerjaan)."""

    employer: str
    monthly_wage: int  # rupiah, the true wage
    termination_date: datetime.date | None  # None while still employed

    @property
    def active(self) -> bool:
        return self.termination_date is None


@dataclass(frozen=True, slots=True)
class Assets:
    """What the household really owns, registered or not."""

    land_area_m2: int
    land_parcels: int
    cars: int
    motorcycles: int
    bank_balance: int  # rupiah, all banks together


@dataclass(frozen=True, slots=True)
class Household:
    """One family card (kartu keluarga): its members, its true welfare and what agencies hold."""

    kk_number: str
    village: Village
    index: int  # position within its village; the household is a pure function of it and the seed
    members: tuple[Person, ...]  # the head first
    welfare: Welfare
    per_capita_income: int  # rupiah per month, now
    recent_job_loss: bool  # the head's formal job ended within RECENT_JOB_LOSS_DAYS
    employment: Employment | None  # the head's formal job, current or past; None: always informal
    assets: Assets
    views: AgencyViews

    @property
    def head(self) -> Person:
        return self.members[0]


def classify_welfare(per_capita_income: int) -> Welfare:
    if per_capita_income < POVERTY_LINE:
        return "poor"
    if per_capita_income < VULNERABILITY_LINE:
        return "vulnerable"
    return "non_poor"
