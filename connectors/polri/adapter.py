"""Korlantas Polri as a hub agency: vehicle counts from the ranmor (vehicle) register.

The API lists individual vehicles; the catalogue offers only their summary (how many cars,
how many motorcycles, the newest build year), which is all an eligibility check needs. Plates
and makes are read past, never returned.

The API key travels in the query string (the agency's legacy scheme, see ``sim``), so the URL
is a secret: nothing here logs it, and ``AgencyHttpClient`` keeps it out of every error.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from connectors.sdk.agency import AgencyUnavailable
from connectors.sdk.http import AgencyHttpClient, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.catalogue import FieldSpec
from jembatan.values import FieldValue

AGENCY = "Polri"
AGENCY_ID = "ID/GOV/POLRI/korlantas"
VEHICLES_SERVICE = f"{AGENCY_ID}/vehicles"
SERVICE_IDS = (VEHICLES_SERVICE,)

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec("car_count", "integer", "Cars (R4) registered in the person's name", "personal"),
    FieldSpec(
        "motorcycle_count",
        "integer",
        "Motorcycles (R2) registered in the person's name",
        "personal",
    ),
    FieldSpec(
        "newest_vehicle_year",
        "integer",
        "Build year of the newest registered vehicle; absent when no year is on record",
        "personal",
    ),
)

_PATH = "/korlantas/ranmor"
_KIND = {"R2": "motorcycle", "R4": "car"}
# Build years before motor vehicles reached Java are data errors, not old cars.
_EARLIEST_YEAR = 1900


class PolriAgency(HttpAgency):
    """The Agency protocol over the Korlantas ranmor API at ``base_url``."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 2.0) -> None:
        super().__init__(AgencyHttpClient(AGENCY, base_url, timeout_s=timeout_s), CATALOGUE)
        self._api_key = api_key

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        query = urlencode({"nik": nik, "apikey": self._api_key})
        body = await self._http.get_json(f"{_PATH}?{query}")
        return None if body is None else _summary(body, nik)


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> PolriAgency:
    return PolriAgency(base_url, credentials["api_key"])


def _summary(body: object, nik: str) -> dict[str, FieldValue] | None:
    """The catalogue fields summarising the listed vehicles; None when none are listed."""
    record = JsonRecord(AGENCY, body)
    record.require_subject("nik", nik)
    listed = record.records("kendaraan")
    if record.integer("jumlah") != len(listed):
        raise AgencyUnavailable(f"{AGENCY} sent a malformed record: jumlah does not match")
    if not listed:
        # The register cannot tell "no such person" from "no vehicles": both are no record.
        return None
    kinds = [vehicle.choice("jenis", _KIND) for vehicle in listed]
    years = [
        vehicle.optional_integer("tahun_pembuatan", minimum=_EARLIEST_YEAR) for vehicle in listed
    ]
    summary: dict[str, FieldValue] = {
        "car_count": kinds.count("car"),
        "motorcycle_count": kinds.count("motorcycle"),
    }
    known_years = [year for year in years if year is not None]
    if known_years:
        summary["newest_vehicle_year"] = max(known_years)
    return summary
