"""The synthetic people of Kemiren and Lateng (Banyuwangi) as BPJS Ketenagakerjaan knows them.

Everything here is invented. The NIKs follow the real 16-digit layout (province, regency,
district, birth date with day+40 for women, serial) so format checks along the exchange path
are exercised, but the district codes are our own choice, not Kemendagri's: Kemiren (kecamatan
Glagah) is "10" and Lateng (kecamatan Banyuwangi) is "11". Names and employers are drawn from
small lists; any resemblance to a real person or company is accidental.

Generation uses only ``random.Random(seed)``, so a seed always yields the same people: tests,
the demo and the benchmarks can name the same NIKs.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

# "Recent" termination is measured from a fixed day, not from today, so the data set and the
# demo's sudden-loss-of-livelihood case do not drift as the calendar moves.
REFERENCE_DATE = datetime.date(2026, 11, 1)
RECENT_TERMINATION_DAYS = 90

PROVINCE_JAWA_TIMUR = "35"
REGENCY_BANYUWANGI = "10"

Gender = Literal["male", "female"]
Membership = Literal["active", "inactive", "none"]


@dataclass(frozen=True, slots=True)
class Village:
    name: str
    kecamatan: str
    district_code: str  # synthetic: see the module docstring


KEMIREN = Village("Kemiren", "Glagah", "10")
LATENG = Village("Lateng", "Banyuwangi", "11")
VILLAGES = (KEMIREN, LATENG)


@dataclass(frozen=True, slots=True)
class Employment:
    """A BPJS Ketenagakerjaan membership: the last employer and the last reported wage."""

    employer: str
    monthly_wage: int  # rupiah
    termination_date: datetime.date | None  # None while still employed

    @property
    def status(self) -> Literal["active", "inactive"]:
        return "active" if self.termination_date is None else "inactive"


@dataclass(frozen=True, slots=True)
class Participant:
    nik: str
    name: str
    gender: Gender
    birth_date: datetime.date
    village: Village
    employment: Employment | None  # None: never registered, so unknown to the agency

    @property
    def membership(self) -> Membership:
        return "none" if self.employment is None else self.employment.status


@dataclass(frozen=True, slots=True)
class SampleNiks:
    """NIKs the demo and tests can ask about, one per interesting case."""

    employed: str  # active membership
    recently_terminated: str  # employment ended within RECENT_TERMINATION_DAYS
    unregistered: str  # a villager never registered: the agency has no record
    unknown: str  # valid format, belongs to nobody in the population


_MALE_NAMES = (
    "Agus", "Bambang", "Budi", "Eko", "Hadi", "Imam", "Joko", "Slamet", "Sugeng", "Wahyu",
    "Yusuf", "Rudi",
)  # fmt: skip
_FEMALE_NAMES = (
    "Dewi", "Endang", "Lestari", "Nur", "Puji", "Ratna", "Rina", "Siti", "Sri", "Sulastri",
    "Wulan", "Yuliana",
)  # fmt: skip
# Javanese second names are personal and gendered too, not family names.
_MALE_SECOND_NAMES = ("Hartono", "Kurniawan", "Prasetyo", "Santoso", "Setiawan", "Wibowo")
_FEMALE_SECOND_NAMES = ("Handayani", "Maryani", "Purwanti", "Rahmawati", "Susanti", "Wulandari")
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


class _Kind(Enum):
    """What a participant's BPJS record looks like; drives the generator."""

    ACTIVE = "active"
    RECENTLY_TERMINATED = "recently_terminated"
    LONG_TERMINATED = "long_terminated"
    UNREGISTERED = "unregistered"


# One of each kind is always included (then shuffled), so every data set of 4 or more has
# the demo's cases. The rest follow these weights: most work, some lost work, some never
# registered.
_KIND_WEIGHTS = {
    _Kind.ACTIVE: 55,
    _Kind.RECENTLY_TERMINATED: 10,
    _Kind.LONG_TERMINATED: 20,
    _Kind.UNREGISTERED: 15,
}


def generate_participants(seed: int = 2026, count: int = 60) -> list[Participant]:
    """``count`` synthetic villagers; the same seed gives the same list."""
    rng = random.Random(seed)
    kinds = _draw_kinds(rng, count)
    serials: dict[str, int] = {}
    return [_participant(rng, kind, serials) for kind in kinds]


def sample_niks(participants: Sequence[Participant]) -> SampleNiks:
    """The first participant of each demo case; raises LookupError if one is missing."""
    return SampleNiks(
        employed=_first(participants, lambda p: p.membership == "active"),
        recently_terminated=_first(participants, _recently_terminated),
        unregistered=_first(participants, lambda p: p.membership == "none"),
        unknown=unknown_nik(participants),
    )


def unknown_nik(participants: Sequence[Participant]) -> str:
    """A well-formed NIK that no participant has (the highest serial is never issued)."""
    taken = {p.nik for p in participants}
    birth_date = datetime.date(1980, 1, 1)
    for serial in range(9999, 0, -1):
        nik = make_nik(KEMIREN, birth_date, "male", serial)
        if nik not in taken:
            return nik
    raise LookupError("every serial is taken")  # unreachable with realistic populations


def make_nik(village: Village, birth_date: datetime.date, gender: Gender, serial: int) -> str:
    """The 16-digit NIK: province, regency, district, DDMMYY (day+40 for women), serial."""
    day = birth_date.day + (40 if gender == "female" else 0)
    return (
        f"{PROVINCE_JAWA_TIMUR}{REGENCY_BANYUWANGI}{village.district_code}"
        f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
    )


def is_recent_termination(termination_date: datetime.date | None) -> bool:
    if termination_date is None:
        return False
    age_days = (REFERENCE_DATE - termination_date).days
    return 0 <= age_days <= RECENT_TERMINATION_DAYS


def _draw_kinds(rng: random.Random, count: int) -> list[_Kind]:
    guaranteed = list(_Kind)[:count]
    rest = rng.choices(
        list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()), k=count - len(guaranteed)
    )
    kinds = guaranteed + rest
    rng.shuffle(kinds)
    return kinds


def _participant(rng: random.Random, kind: _Kind, serials: dict[str, int]) -> Participant:
    gender: Gender = rng.choice(("male", "female"))
    birth_date = _birth_date(rng)
    village = rng.choice(VILLAGES)
    return Participant(
        nik=_next_nik(village, birth_date, gender, serials),
        name=_name(rng, gender),
        gender=gender,
        birth_date=birth_date,
        village=village,
        employment=_employment(rng, kind),
    )


def _next_nik(
    village: Village, birth_date: datetime.date, gender: Gender, serials: dict[str, int]
) -> str:
    # Like Dukcapil, serials count up from 0001 among people sharing the other 12 digits.
    prefix = make_nik(village, birth_date, gender, 0)[:12]
    serials[prefix] = serials.get(prefix, 0) + 1
    return make_nik(village, birth_date, gender, serials[prefix])


def _birth_date(rng: random.Random) -> datetime.date:
    # Working age on the reference date: born 1961-2006 (20 to 65 years old).
    start = datetime.date(1961, 1, 1)
    span = (datetime.date(2006, 12, 31) - start).days
    return start + datetime.timedelta(days=rng.randint(0, span))


def _name(rng: random.Random, gender: Gender) -> str:
    if gender == "male":
        return f"{rng.choice(_MALE_NAMES)} {rng.choice(_MALE_SECOND_NAMES)}"
    return f"{rng.choice(_FEMALE_NAMES)} {rng.choice(_FEMALE_SECOND_NAMES)}"


def _employment(rng: random.Random, kind: _Kind) -> Employment | None:
    if kind is _Kind.UNREGISTERED:
        return None
    return Employment(
        employer=rng.choice(_EMPLOYERS),
        monthly_wage=_monthly_wage(rng),
        termination_date=_termination_date(rng, kind),
    )


def _monthly_wage(rng: random.Random) -> int:
    """A wage around Banyuwangi's UMK 2026 (about Rp 2.8 million), rounded to Rp 1,000."""
    band = rng.random()
    if band < 0.15:  # informal and part-time work, below the eligibility thresholds
        low, high = 900_000, 1_500_000
    elif band < 0.85:  # most formal jobs, around the UMK
        low, high = 2_000_000, 3_500_000
    elif band < 0.93:
        low, high = 3_500_000, 5_000_000
    else:  # supervisors, hotel and plantation staff
        low, high = 5_000_000, 9_000_000
    return rng.randint(low // 1000, high // 1000) * 1000


def _termination_date(rng: random.Random, kind: _Kind) -> datetime.date | None:
    if kind is _Kind.RECENTLY_TERMINATED:
        days_ago = rng.randint(1, RECENT_TERMINATION_DAYS)
    elif kind is _Kind.LONG_TERMINATED:
        days_ago = rng.randint(RECENT_TERMINATION_DAYS + 1, 1500)
    else:
        return None
    return REFERENCE_DATE - datetime.timedelta(days=days_ago)


def _recently_terminated(participant: Participant) -> bool:
    employment = participant.employment
    return employment is not None and is_recent_termination(employment.termination_date)


def _first(participants: Sequence[Participant], wanted: Callable[[Participant], bool]) -> str:
    for participant in participants:
        if wanted(participant):
            return participant.nik
    raise LookupError("no participant matches this sample case")
