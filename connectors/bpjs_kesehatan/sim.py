"""A simulated BPJS Kesehatan membership API in the style of VClaim.

``GET /vclaim-rest/peserta/nik/{nik}/tglSEP/{YYYY-MM-DD}``, signed with the ``X-cons-id``,
``X-timestamp`` and ``X-signature`` headers (see ``adapter.vclaim_signature``). Like VClaim it
answers HTTP 200 for a member and for a stranger alike, with the outcome in ``metaData.code``;
only a refused signature (401) or a malformed request (400) changes the HTTP status.

The signature covers the consumer id and the second, not the request, so a captured header set
can be replayed for any NIK until it goes stale: that is VClaim's own scheme, and why the
five-minute window matters. A replay cache could not tell a replay from two honest requests in
the same second, which carry the same signature.

Privacy: no access log (the path carries the NIK), nothing logged.
"""

from __future__ import annotations

import datetime
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from connectors.bpjs_kesehatan.adapter import (
    CONS_ID_HEADER,
    SEGMENT,
    SIGNATURE_HEADER,
    STATUS,
    TIMESTAMP_HEADER,
    vclaim_signature,
)
from connectors.population import BpjsKesehatanRecord, Population
from jembatan.subject import is_nik

# A signed timestamp is good for five minutes, and never when it is ahead of the agency's clock.
MAX_AGE_S = 300

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_KETERANGAN_STATUS = {value: key for key, value in STATUS.items()}
_KETERANGAN_SEGMENT = {value: key for key, value in SEGMENT.items()}


@dataclass(frozen=True)
class _Config:
    population: Population
    records: Mapping[str, BpjsKesehatanRecord]
    cons_id: str
    secret: str
    clock: Callable[[], float]


_CONFIG = web.AppKey("config", _Config)


def new_credentials() -> dict[str, str]:
    # A VClaim consumer id is a short number; the secret is what authenticates.
    return {"cons_id": str(10000 + secrets.randbelow(90000)), "secret": secrets.token_urlsafe(24)}


def make_app(
    population: Population,
    credentials: Mapping[str, str],
    *,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    app = web.Application()
    app[_CONFIG] = _Config(
        population,
        population.bpjs_kesehatan,
        credentials["cons_id"],
        credentials["secret"],
        clock,
    )
    app.router.add_get("/vclaim-rest/peserta/nik/{nik}/tglSEP/{date}", _peserta)
    return app


async def _peserta(request: web.Request) -> web.Response:
    config = request.app[_CONFIG]
    # The signature is checked first so a caller without it learns nothing, not even NIK rules.
    if not _authorised(request, config):
        return _answer("401", "Signature tidak valid", status=401)
    nik, date = request.match_info["nik"], request.match_info["date"]
    if not is_nik(nik):
        return _answer("400", "Format NIK tidak valid", status=400)
    if not _is_date(date):
        return _answer("400", "Format tglSEP tidak valid", status=400)
    record = config.records.get(nik)
    if record is None:
        return _answer("201", "Peserta tidak ditemukan")
    return _answer("200", "OK", response={"peserta": _peserta_body(config, nik, record)})


def _authorised(request: web.Request, config: _Config) -> bool:
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not _fresh(timestamp, config.clock()):
        return False
    expected = vclaim_signature(config.cons_id, config.secret, timestamp)
    offered_id = request.headers.get(CONS_ID_HEADER, "").encode()
    offered_signature = request.headers.get(SIGNATURE_HEADER, "").encode()
    # Both compared, always: `and` would tell a prober whether the consumer id was right.
    right_id = hmac.compare_digest(offered_id, config.cons_id.encode())
    right_signature = hmac.compare_digest(offered_signature, expected.encode())
    return right_id & right_signature


def _fresh(timestamp: str, now: float) -> bool:
    if _TIMESTAMP.fullmatch(timestamp) is None:
        return False
    return now - MAX_AGE_S <= int(timestamp) <= now


def _is_date(text: str) -> bool:
    # The regex first: fromisoformat alone also takes "20261101".
    if _DATE.fullmatch(text) is None:
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _peserta_body(config: _Config, nik: str, record: BpjsKesehatanRecord) -> dict[str, object]:
    found = config.population.by_nik(nik)
    return {
        "nik": nik,
        "nama": "" if found is None else found[1].name,
        "statusPeserta": {"keterangan": _KETERANGAN_STATUS[record.membership_status]},
        "hakKelas": {"kode": str(record.jkn_class)},
        "jenisPeserta": {"keterangan": _KETERANGAN_SEGMENT[record.segment]},
    }


def _answer(code: str, message: str, *, status: int = 200, response: object = None) -> web.Response:
    return web.json_response(
        {"metaData": {"code": code, "message": message}, "response": response}, status=status
    )
