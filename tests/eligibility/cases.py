"""Hand-made applicants: one clean household, changed one agency at a time."""

from __future__ import annotations

from collections.abc import Mapping

from examples.eligibility.evidence import (
    ATR_BPN,
    BPJS_KESEHATAN,
    BPJSTK,
    DTKS,
    DUKCAPIL,
    HIMBARA,
    NO_RECORD,
    POLRI,
    Evidence,
    ServiceEvidence,
    found,
)
from jembatan.values import FieldValue

# A poor household that every agency knows and no rule excludes: listed in DTKS, alive and at
# home, a small plot, one motorcycle, PBI health cover, a little money in the bank, and no
# formal job (BPJS Ketenagakerjaan has no record).
CLEAN: Mapping[str, ServiceEvidence] = {
    DTKS: found(
        in_dtks=True, decile=2, last_verified=True, household_size=4, programmes="PKH,BPNT"
    ),
    DUKCAPIL: found(
        alive=True, birth_date=False, village="Kemiren", family_card_members=4, moved_out=False
    ),
    BPJSTK: NO_RECORD,
    BPJS_KESEHATAN: found(membership_status="active", jkn_class=3, pbi=True, segment="PBI-APBN"),
    ATR_BPN: found(parcel_count=True, total_area_m2="[500, 1000)", njop_total=False),
    POLRI: found(car_count=False, motorcycle_count="[1, 2)", newest_vehicle_year=False),
    HIMBARA: found(account_count=1, total_balance=True, average_balance_3m=True),
}

EMPLOYED = found(employment_status="active", employer="P* S**** J***", monthly_wage=True)


def evidence(changes: Mapping[str, ServiceEvidence] | None = None) -> Evidence:
    """The clean household with some agencies' answers replaced."""
    return Evidence({**CLEAN, **(changes or {})})


def with_fields(service_id: str, **fields: FieldValue | None) -> ServiceEvidence:
    """The clean answer of ``service_id`` with some fields changed (``None`` removes one)."""
    merged: dict[str, FieldValue | None] = {**CLEAN[service_id].fields, **fields}
    return ServiceEvidence("found", {k: v for k, v in merged.items() if v is not None})
