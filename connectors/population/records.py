"""What each agency holds: one small record type per agency, with the connectors' field names.

A missing record (``None``, or absent from a ``Population`` map) means the agency has never
heard of the person: an informal worker at BPJS Ketenagakerjaan, unregistered land at ATR/BPN,
an unbanked family at the Himbara banks.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

Programme = Literal["PKH", "BPNT", "PBI-JK"]
Membership = Literal["active", "inactive"]
JknSegment = Literal["PBI-APBN", "PBI-APBD", "PPU", "PBPU", "BP"]


@dataclass(frozen=True, slots=True)
class DtksRecord:
    """Kemensos's register, per household head; often verified years ago."""

    in_dtks: bool  # listed as a social-assistance target (the register's bottom four deciles)
    decile: int  # 1 (poorest) to 10, as ranked at the last verification
    last_verified: datetime.date
    household_size: int  # as counted at the last verification
    programmes: str  # comma list of Programme, or ""


@dataclass(frozen=True, slots=True)
class DukcapilRecord:
    """The civil registry, per person: the identity anchor, accurate but a little late."""

    alive: bool
    death_date: datetime.date | None
    birth_date: datetime.date
    gender: Literal["male", "female"]
    village: str  # where the registry has them: the village, or where they moved to
    family_card_members: int  # members the registry still has on the family card
    moved_out: bool


@dataclass(frozen=True, slots=True)
class BpjstkRecord:
    """BPJS Ketenagakerjaan, for heads who were ever formally employed and registered."""

    employment_status: Literal["active", "inactive"]
    employer: str
    monthly_wage: int  # as the employer reported it: sometimes below the true wage
    termination_date: datetime.date | None


@dataclass(frozen=True, slots=True)
class BpjsKesehatanRecord:
    """BPJS Kesehatan (JKN), per person; a family usually shares one membership."""

    membership_status: Membership
    jkn_class: int  # 1 to 3
    pbi: bool  # premium paid by the government (PBI-APBN or PBI-APBD)
    segment: JknSegment


@dataclass(frozen=True, slots=True)
class AtrBpnRecord:
    """ATR/BPN certified land, per household head; uncertified land is invisible here."""

    parcel_count: int
    total_area_m2: int
    njop_total: int  # rupiah, the tax value


@dataclass(frozen=True, slots=True)
class PolriRecord:
    """Polri vehicle registrations in the head's name, including vehicles already sold."""

    car_count: int
    motorcycle_count: int
    newest_vehicle_year: int | None


@dataclass(frozen=True, slots=True)
class BankRecord:
    """The four Himbara state banks behind one shape, per household head."""

    account_count: int
    total_balance: int  # rupiah
    average_balance_3m: int  # rupiah


@dataclass(frozen=True, slots=True)
class AgencyViews:
    """Every agency's record for one household; per-member tuples follow ``members``' order."""

    dtks: DtksRecord | None
    dukcapil: tuple[DukcapilRecord, ...]
    bpjstk: BpjstkRecord | None
    bpjs_kesehatan: tuple[BpjsKesehatanRecord | None, ...]
    atr_bpn: AtrBpnRecord | None
    polri: PolriRecord | None
    bank: BankRecord | None
