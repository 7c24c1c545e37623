"""ATR/BPN as a hub agency: the connector's view of the land-parcel search API.

The agency answers with the certified parcels (bidang) held by a NIK; the adapter releases
only their count and totals, never a parcel number. An empty list means no certified land in
the person's name, which for the hub is "no record", as the population model has it.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from connectors.sdk.agency import Agency, AgencyUnavailable, FieldSpec
from connectors.sdk.http import AgencyHttpClient, AgencyHttpStatus, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.values import FieldValue

AGENCY = "ATR/BPN"
AGENCY_ID = "ID/GOV/ATRBPN/land"
PARCELS_SERVICE = f"{AGENCY_ID}/parcels"
SERVICE_IDS = (PARCELS_SERVICE,)
SEARCH_PATH = "/api/v1/bidang/cari"
HOLDER_KEY = "nik_pemegang_hak"

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec(
        "parcel_count", "integer", "Certified land parcels held in the person's name", "personal"
    ),
    FieldSpec(
        "total_area_m2", "integer", "Total area of those parcels, in square metres", "personal"
    ),
    FieldSpec(
        "njop_total",
        "integer",
        "Total tax value (NJOP) of those parcels, in rupiah",
        "sensitive",
    ),
)


class AtrBpnAgency(HttpAgency):
    """The Agency protocol over the ATR/BPN parcel search at ``base_url`` (HTTP Basic auth)."""

    def __init__(
        self, base_url: str, *, username: str, password: str, timeout_s: float = 2.0
    ) -> None:
        http = AgencyHttpClient(
            AGENCY,
            base_url,
            headers={"Authorization": aiohttp.encode_basic_auth(username, password)},
            timeout_s=timeout_s,
        )
        super().__init__(http, CATALOGUE)

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        # POST with the NIK in the body: it stays out of URLs and any proxy's access log.
        body = await self._http.post_json(SEARCH_PATH, {HOLDER_KEY: nik})
        parcels = _parcels(body, nik)
        if not parcels:
            return None
        return {
            "parcel_count": len(parcels),
            "total_area_m2": sum(parcel.integer("luas_m2") for parcel in parcels),
            "njop_total": sum(parcel.integer("njop") for parcel in parcels),
        }


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> Agency:
    return AtrBpnAgency(
        base_url, username=credentials["username"], password=credentials["password"]
    )


def _parcels(body: object, nik: str) -> list[JsonRecord]:
    """The parcels the agency lists for ``nik``, each checked to be held by ``nik``."""
    if body is None:
        # The search says "none" with an empty list, never a 404: a 404 is a wrong URL, and
        # must not pass for "no land".
        raise AgencyHttpStatus(AGENCY, 404)
    answer = JsonRecord(AGENCY, body)
    if answer.text("status") != "sukses":
        raise AgencyUnavailable(f"{AGENCY} did not report success")
    parcels = answer.records("data")
    for parcel in parcels:
        # One parcel of someone else's would inflate this person's land.
        parcel.require_subject(HOLDER_KEY, nik)
    return parcels
