"""BPJS Ketenagakerjaan as a hub agency: the connector's view of the agency's REST API.

The adapter translates the agency's Indonesian record into the catalogue's field names and
returns only what the hub asked for. Error messages name the failure, never the subject or a
value: they end up in logs that are not cleared for personal data.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import aiohttp

from connectors.bpjstk.sim import API_KEY_HEADER
from connectors.sdk.agency import AgencyUnavailable, FieldSpec, InvalidSubject
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

_STATUS = {"AKTIF": "active", "NONAKTIF": "inactive"}


class BpjsTkAgency:
    """The Agency protocol over the BPJSTK membership API at ``base_url``."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout_s: float = 2.0, max_connections: int = 100
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def catalogue(self) -> Sequence[FieldSpec]:
        return CATALOGUE

    async def fetch(self, subject: str, fields: Sequence[str]) -> Mapping[str, FieldValue] | None:
        _check_nik(subject)
        body = await self._get_record(subject)
        if body is None:
            return None
        record = _to_catalogue(body, subject)
        return {name: record[name] for name in fields if name in record}

    async def close(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (aiohttp requires one), then shared:
        # keep-alive connections save a TCP handshake per query on the hub's hot path.
        if self._closed:
            raise AgencyUnavailable("BPJSTK adapter is closed")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={API_KEY_HEADER: self._api_key},
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self._max_connections),
            )
        return self._session

    async def _get_record(self, nik: str) -> object | None:
        """The agency's JSON record for ``nik``; None when it has none."""
        url = f"{self._base_url}/api/v2/kepesertaan/{nik}"
        try:
            async with self._client().get(url) as response:
                if response.status == 404:
                    await response.read()  # drain, so the connection goes back to the pool
                    return None
                if response.status != 200:
                    raise AgencyUnavailable(f"BPJSTK answered HTTP {response.status}")
                return await _json_body(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # `from None`: aiohttp's messages may carry the URL, and the URL carries the NIK.
            raise AgencyUnavailable(f"BPJSTK unreachable ({type(exc).__name__})") from None


async def _json_body(response: aiohttp.ClientResponse) -> object:
    try:
        return await response.json(content_type=None)
    except ValueError:  # not JSON, or not UTF-8
        raise AgencyUnavailable("BPJSTK sent a body that is not JSON") from None


def _check_nik(subject: str) -> None:
    if len(subject) != 16 or not (subject.isascii() and subject.isdigit()):
        raise InvalidSubject("subject is not a 16-digit NIK")


def _to_catalogue(body: object, nik: str) -> dict[str, FieldValue]:
    """The record in catalogue terms; fields the agency leaves empty are left out."""
    if not isinstance(body, dict):
        raise _malformed("not an object")
    if body.get("nik") != nik:
        # A record for someone else must never be released as this subject's.
        raise _malformed("record is for another subject")
    record: dict[str, FieldValue] = {
        "employment_status": _status(body.get("status_kepesertaan")),
        "employer": _text(body.get("nama_perusahaan"), "nama_perusahaan"),
        "monthly_wage": _rupiah(body.get("upah_bulanan")),
    }
    ended = _optional_date(body.get("tgl_berhenti"))
    if ended is not None:
        record["termination_date"] = ended
    if record["employer"] == "":
        del record["employer"]
    return record


def _status(raw: object) -> str:
    if not isinstance(raw, str) or raw not in _STATUS:
        raise _malformed("unknown status_kepesertaan")
    return _STATUS[raw]


def _text(raw: object, name: str) -> str:
    if not isinstance(raw, str):
        raise _malformed(f"{name} is not text")
    return raw


def _rupiah(raw: object) -> int:
    # bool is an int subclass; a JSON true is no wage.
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise _malformed("upah_bulanan is not a non-negative integer")
    return raw


def _optional_date(raw: object) -> datetime.date | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _malformed("tgl_berhenti is not a date")
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        # Not chained: the ValueError quotes the value.
        raise _malformed("tgl_berhenti is not a date") from None


def _malformed(what: str) -> AgencyUnavailable:
    return AgencyUnavailable(f"BPJSTK sent a malformed record: {what}")
