"""BPJS Ketenagakerjaan as a hub agency: the connector's view of the agency's REST API.

The adapter translates the agency's Indonesian record into the catalogue's field names and
returns only what the hub asked for. Error messages name the failure, never the subject or a
value: they end up in logs that are not cleared for personal data.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.bpjstk.sim import API_KEY_HEADER
from connectors.sdk.http import AgencyHttpClient, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.catalogue import FieldSpec
from jembatan.values import FieldValue

# The agency's member subsystem and the services its connector offers through the hub.
AGENCY_ID = "ID/GOV/BPJSTK/wages"
EMPLOYMENT_SERVICE = f"{AGENCY_ID}/employment"
WAGE_BAND_SERVICE = f"{AGENCY_ID}/wage-band"
SERVICE_IDS = (EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE)

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec(
        "employment_status",
        "text",
        "BPJS Ketenagakerjaan membership: active or inactive",
        "personal",
    ),
    FieldSpec("employer", "text", "Current or last employer", "personal"),
    FieldSpec("monthly_wage", "integer", "Last reported monthly wage, in rupiah", "sensitive"),
    FieldSpec(
        "termination_date",
        "date",
        "Day the last employment ended; absent while still employed",
        "personal",
    ),
)

_AGENCY = "BPJSTK"
_STATUS = {"AKTIF": "active", "NONAKTIF": "inactive"}


class BpjsTkAgency(HttpAgency):
    """The Agency protocol over the BPJSTK membership API at ``base_url``."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 2.0) -> None:
        http = AgencyHttpClient(
            _AGENCY, base_url, headers={API_KEY_HEADER: api_key}, timeout_s=timeout_s
        )
        super().__init__(http, CATALOGUE)

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        body = await self._http.get_json(f"/api/v2/kepesertaan/{nik}")
        if body is None:  # 404: never registered
            return None
        return _to_catalogue(JsonRecord(_AGENCY, body), nik)


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> BpjsTkAgency:
    return BpjsTkAgency(base_url, credentials["api_key"])


def _to_catalogue(record: JsonRecord, nik: str) -> dict[str, FieldValue]:
    record.require_subject("nik", nik)
    values: dict[str, FieldValue] = {
        "employment_status": record.choice("status_kepesertaan", _STATUS),
        "employer": record.text("nama_perusahaan"),
        "monthly_wage": record.integer("upah_bulanan"),
    }
    ended = record.optional_date("tgl_berhenti")
    if ended is not None:  # still employed: the field is absent, not null
        values["termination_date"] = ended
    return values
