"""BPJS Kesehatan (JKN) as a hub agency: the connector's view of its VClaim-style REST API.

VClaim authenticates each request with three headers: the consumer id, a Unix timestamp, and
``base64(HMAC-SHA256(secret, "<cons_id>&<timestamp>"))``. The agency answers HTTP 200 whether or
not it knows the person and puts the outcome in ``metaData.code``: "200" with a ``peserta``
record, "201" when there is none. The adapter maps that record to the catalogue's names and
derives ``pbi`` from the segment, so the two can never disagree.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from connectors.sdk.agency import Agency, AgencyUnavailable, FieldSpec
from connectors.sdk.http import AgencyHttpClient, AgencyHttpStatus, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.values import FieldValue

AGENCY = "BPJS Kesehatan"
AGENCY_ID = "ID/GOV/BPJSKES/jkn"
MEMBERSHIP_SERVICE = f"{AGENCY_ID}/membership"
SERVICE_IDS = (MEMBERSHIP_SERVICE,)

CONS_ID_HEADER = "X-cons-id"
TIMESTAMP_HEADER = "X-timestamp"
SIGNATURE_HEADER = "X-signature"
PESERTA_PATH = "/vclaim-rest/peserta/nik/{nik}/tglSEP/{date}"

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec(
        "membership_status",
        "text",
        "JKN membership on the service date: active or inactive (lapsed, arrears, deceased)",
        "personal",
    ),
    FieldSpec(
        "jkn_class", "integer", "Hospital ward class the member is entitled to, 1 to 3", "personal"
    ),
    FieldSpec(
        "pbi",
        "flag",
        "Premium paid by the government (PBI-APBN or PBI-APBD)",
        "sensitive",
    ),
    FieldSpec(
        "segment",
        "text",
        "Membership segment: PBI-APBN, PBI-APBD, PPU (wage earner), PBPU (self-paying), "
        "BP (non-worker, e.g. pensioner)",
        "sensitive",
    ),
)

# VClaim's wording for each catalogue value.
STATUS = {"AKTIF": "active", "TIDAK AKTIF": "inactive"}
SEGMENT = {
    "PBI (APBN)": "PBI-APBN",
    "PBI (APBD)": "PBI-APBD",
    "PEKERJA PENERIMA UPAH": "PPU",
    "PEKERJA BUKAN PENERIMA UPAH": "PBPU",
    "BUKAN PEKERJA": "BP",
}
_PBI_SEGMENTS = frozenset({"PBI-APBN", "PBI-APBD"})
_CLASSES = {code: code for code in ("1", "2", "3")}
_FOUND, _NOT_FOUND = "200", "201"
# Western Indonesia Time: Banyuwangi's service day turns at midnight WIB, not UTC.
WIB = datetime.timezone(datetime.timedelta(hours=7), "WIB")


def vclaim_signature(cons_id: str, secret: str, timestamp: str) -> str:
    """The agency's request signature over ``"<cons_id>&<timestamp>"``."""
    message = f"{cons_id}&{timestamp}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class BpjsKesehatanAgency(HttpAgency):
    """The Agency protocol over the VClaim membership API at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        cons_id: str,
        secret: str,
        clock: Callable[[], float] = time.time,
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(AgencyHttpClient(AGENCY, base_url, timeout_s=timeout_s), CATALOGUE)
        self._cons_id = cons_id
        self._secret = secret
        self._clock = clock

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        now = self._clock()
        service_date = datetime.datetime.fromtimestamp(now, WIB).date().isoformat()
        body = await self._http.get_json(
            PESERTA_PATH.format(nik=nik, date=service_date), headers=self._signed(now)
        )
        if not _found(body):
            return None
        peserta = JsonRecord(AGENCY, body).record("response").record("peserta")
        return _to_catalogue(peserta, nik)

    def _signed(self, now: float) -> dict[str, str]:
        # Signed per request: the agency refuses a timestamp more than five minutes old.
        timestamp = str(int(now))
        return {
            CONS_ID_HEADER: self._cons_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: vclaim_signature(self._cons_id, self._secret, timestamp),
        }


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> Agency:
    return BpjsKesehatanAgency(
        base_url, cons_id=credentials["cons_id"], secret=credentials["secret"]
    )


def _found(body: object) -> bool:
    """Whether VClaim says it has the member (``metaData.code`` "200") or not ("201")."""
    if body is None:
        # VClaim reports a missing member in metaData, never as a 404: a 404 is a wrong URL,
        # and must not pass for "no record".
        raise AgencyHttpStatus(AGENCY, 404)
    code = JsonRecord(AGENCY, body).record("metaData").text("code")
    if code not in (_FOUND, _NOT_FOUND):
        raise AgencyUnavailable(f"{AGENCY} answered an unexpected metaData code")
    return code == _FOUND


def _to_catalogue(peserta: JsonRecord, nik: str) -> dict[str, FieldValue]:
    peserta.require_subject("nik", nik)
    segment = peserta.record("jenisPeserta").choice("keterangan", SEGMENT)
    return {
        "membership_status": peserta.record("statusPeserta").choice("keterangan", STATUS),
        "jkn_class": int(peserta.record("hakKelas").choice("kode", _CLASSES)),
        "pbi": segment in _PBI_SEGMENTS,
        "segment": segment,
    }
