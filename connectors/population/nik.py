"""NIK and family-card numbers in the real 16-digit layouts, unique without a global counter.

Dukcapil counts serials up from 0001 among people sharing the other twelve digits. Households
here are generated independently (so one can be regenerated alone, at any scale), so instead:

* household ``i`` of a village gets the district code ``village.district_codes[i // 9999]``
  and the serial ``i % 9999 + 1``;
* every member of the household shares that serial, and the generator keeps (birth date,
  gender) distinct within a household (a same-sex twin is recorded a day apart).

Two people with equal NIKs would need the same district and serial, hence the same household,
and then the same birth date and gender, which the household forbids: so NIKs are unique. A
family-card number is district + issue date + the same serial, unique for the same reason.
"""

from __future__ import annotations

import datetime

from connectors.population.model import (
    PROVINCE_JAWA_TIMUR,
    REGENCY_BANYUWANGI,
    Gender,
    Village,
)

HOUSEHOLDS_PER_DISTRICT_CODE = 9999


def household_slot(village: Village, index: int) -> tuple[str, int]:
    """The (district code, serial) that household ``index`` of ``village`` owns."""
    block, offset = divmod(index, HOUSEHOLDS_PER_DISTRICT_CODE)
    codes = village.district_codes
    if block >= len(codes):
        raise ValueError(
            f"{village.name} holds at most {len(codes) * HOUSEHOLDS_PER_DISTRICT_CODE} households"
        )
    return codes[block], offset + 1


def make_nik(district: str, birth_date: datetime.date, gender: Gender, serial: int) -> str:
    """Province, regency, district, DDMMYY (day+40 for women), serial."""
    day = birth_date.day + 40 if gender == "female" else birth_date.day
    return (
        f"{PROVINCE_JAWA_TIMUR}{REGENCY_BANYUWANGI}{district}"
        f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"
    )


def make_kk_number(district: str, issued: datetime.date, serial: int) -> str:
    """Province, regency, district, DDMMYY of issue, serial."""
    return (
        f"{PROVINCE_JAWA_TIMUR}{REGENCY_BANYUWANGI}{district}"
        f"{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}{serial:04d}"
    )


def parse_nik(nik: str) -> tuple[str, datetime.date, Gender, int]:
    """(district, birth date, gender, serial); raises ValueError on a malformed NIK.

    Two-digit years are read as the latest year not after 2026, as Dukcapil's are.
    """
    if len(nik) != 16 or not nik.isdigit():
        raise ValueError(f"a NIK is 16 digits, not {nik!r}")
    if nik[:4] != PROVINCE_JAWA_TIMUR + REGENCY_BANYUWANGI:
        raise ValueError(f"not a Banyuwangi NIK: {nik!r}")
    day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    gender: Gender = "female" if day > 40 else "male"
    year = 2000 + yy if yy <= 26 else 1900 + yy
    birth_date = datetime.date(year, month, day - 40 if day > 40 else day)
    return nik[4:6], birth_date, gender, int(nik[12:])
