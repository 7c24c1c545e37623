"""DTKS (Kemensos) as a hub agency: the connector's view of the OAuth2-protected DTKS API.

The connector holds an OAuth2 client registration and trades it for a short-lived bearer
token, kept until shortly before it expires: one token request per five minutes instead of
one per query. A token the register stops honouring early (a restart, a revocation) is
replaced once per query; a second refusal means the client itself is refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from connectors.dtks.sim import TOKEN_PATH
from connectors.sdk.agency import AgencyUnavailable
from connectors.sdk.http import AgencyHttpClient, AgencyHttpStatus, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.catalogue import FieldSpec
from jembatan.values import FieldValue

AGENCY_ID = "ID/GOV/KEMENSOS/dtks"
REGISTRY_SERVICE = f"{AGENCY_ID}/registry"
SERVICE_IDS = (REGISTRY_SERVICE,)

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec(
        "in_dtks",
        "flag",
        "Listed in DTKS as a social-assistance target household",
        "personal",
    ),
    FieldSpec(
        "decile",
        "integer",
        "Welfare decile at the last verification, 1 (poorest) to 10",
        "sensitive",
    ),
    FieldSpec("last_verified", "date", "Day of the last verification and validation", "personal"),
    FieldSpec(
        "household_size",
        "integer",
        "Household members counted at the last verification",
        "personal",
    ),
    FieldSpec(
        "programmes",
        "text",
        "Social-assistance programmes received, comma-separated (e.g. PKH,BPNT); empty if none",
        "sensitive",
    ),
)

_AGENCY = "DTKS"
# Renew this long before the agency's expiry, so a token never lapses on its way there.
_RENEW_BEFORE_S = 30


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    renew_at: float  # on the adapter's clock


class DtksAgency(HttpAgency):
    """The Agency protocol over the DTKS API at ``base_url``, as OAuth2 client ``client_id``."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(AgencyHttpClient(_AGENCY, base_url, timeout_s=timeout_s), CATALOGUE)
        self._grant = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._clock = clock
        self._token: _Token | None = None
        # One token request at a time: a burst of first queries must not each fetch one.
        self._token_lock = asyncio.Lock()

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        body = await self._get_record(f"/api/dtks/v1/individu/{nik}")
        if body is None:  # 404: not in the register (DTKS lists household heads)
            return None
        return _to_catalogue(body, nik)

    async def _get_record(self, path: str) -> object | None:
        token = await self._current_token()
        try:
            return await self._http.get_json(path, headers=_bearer(token))
        except AgencyHttpStatus as exc:
            if exc.status != 401:  # only a refused token is worth a fresh one
                raise
        self._forget(token)
        return await self._http.get_json(path, headers=_bearer(await self._current_token()))

    async def _current_token(self) -> str:
        async with self._token_lock:
            if self._token is None or self._clock() >= self._token.renew_at:
                self._token = await self._new_token()
            return self._token.value

    async def _new_token(self) -> _Token:
        requested_at = self._clock()
        body = await self._http.post_form(TOKEN_PATH, self._grant)
        if body is None:
            raise AgencyUnavailable(f"{_AGENCY} has no token endpoint")
        answer = JsonRecord(_AGENCY, body)
        # Only a bearer token is understood here (the type is case-insensitive, RFC 6749 7.1).
        answer.choice("token_type", {"Bearer": "Bearer", "bearer": "Bearer"})
        lifetime = answer.integer("expires_in", minimum=1)
        # Short-lived tokens are renewed halfway through instead, or they would never be reused.
        renew_after = max(lifetime - _RENEW_BEFORE_S, lifetime / 2)
        return _Token(answer.text("access_token"), requested_at + renew_after)

    def _forget(self, token: str) -> None:
        # Only if no other query has replaced it meanwhile.
        if self._token is not None and self._token.value == token:
            self._token = None


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> DtksAgency:
    return DtksAgency(base_url, credentials["client_id"], credentials["client_secret"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _to_catalogue(body: object, nik: str) -> dict[str, FieldValue]:
    record = JsonRecord(_AGENCY, body)
    record.require_subject("nik", nik)
    return {
        "in_dtks": record.coded_flag("status_dtks", yes="TERDAFTAR", no="TIDAK_TERDAFTAR"),
        "decile": record.integer("desil", minimum=1, maximum=10),
        "last_verified": record.date("tgl_verivali", format="%d-%m-%Y"),
        "household_size": record.integer("jumlah_art", minimum=1),
        "programmes": _programmes(body),
    }


def _programmes(body: object) -> str:
    """The ``program`` list as the catalogue's comma list.

    A list of codes, not of objects: ``JsonRecord.records`` does not apply."""
    listed = body.get("program") if isinstance(body, Mapping) else None
    if not isinstance(listed, list) or not all(_programme_code(item) for item in listed):
        raise AgencyUnavailable(f"{_AGENCY} sent a malformed record: program is not a list")
    return ",".join(listed)


def _programme_code(item: object) -> bool:
    # A comma inside a code would split into two programmes on the way back.
    return isinstance(item, str) and item != "" and "," not in item
