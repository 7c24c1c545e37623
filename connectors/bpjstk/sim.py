"""A simulated BPJS Ketenagakerjaan membership API, in the agency's own (Indonesian) shape.

The adapter talks to this over real HTTP so the connector path has a real network hop, real
status codes and real failure modes. The shape is ours, modelled on typical Indonesian
government REST APIs (``kode``/``pesan`` errors, an API key header), not BPJSTK's actual API::

    GET /api/v2/kepesertaan/{nik}    X-BPJSTK-Key: <key>
    200 {"nik", "nama", "status_kepesertaan": "AKTIF"|"NONAKTIF", "nama_perusahaan",
         "upah_bulanan", "tgl_berhenti": "YYYY-MM-DD"|null}
    401 / 400 / 404 {"kode", "pesan"}

Privacy: nothing is logged (``start_sim`` turns the access log off: the path carries the NIK).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from connectors.population import BpjstkRecord, Population
from connectors.simulation.apps import POPULATION, api_key_app, is_api_key, new_api_key
from jembatan.subject import is_nik

API_KEY_HEADER = "X-BPJSTK-Key"
RECORD_PATH = "/api/v2/kepesertaan/{nik}"

_STATUS = {"active": "AKTIF", "inactive": "NONAKTIF"}

# The agency issues its own connector one API key.
new_credentials = new_api_key


def make_app(population: Population, credentials: Mapping[str, str]) -> web.Application:
    """The API over ``population.bpjstk``; heads never registered get 404."""
    app = api_key_app(population, credentials)
    app.router.add_get(RECORD_PATH, _kepesertaan)
    return app


async def _kepesertaan(request: web.Request) -> web.Response:
    # The key is checked first so a caller without it learns nothing, not even NIK rules.
    if not _authorised(request):
        return _error(401, "API key tidak valid")
    nik = request.match_info["nik"]
    if not is_nik(nik):
        return _error(400, "format NIK tidak valid")
    population = request.app[POPULATION]
    record = population.bpjstk.get(nik)
    found = population.by_nik(nik)
    if record is None or found is None:
        return _error(404, "peserta tidak ditemukan")
    return web.json_response(_record_body(nik, found[1].name, record))


def _authorised(request: web.Request) -> bool:
    return is_api_key(request, request.headers.get(API_KEY_HEADER, ""))


def _record_body(nik: str, name: str, record: BpjstkRecord) -> dict[str, object]:
    ended = record.termination_date
    return {
        "nik": nik,
        "nama": name,
        "status_kepesertaan": _STATUS[record.employment_status],
        "nama_perusahaan": record.employer,
        "upah_bulanan": record.monthly_wage,
        "tgl_berhenti": None if ended is None else ended.isoformat(),
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"kode": str(status), "pesan": message}, status=status)
