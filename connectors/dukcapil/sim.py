"""A simulated Dukcapil NIK verification web service (the civil registry), in its own shape.

Modelled on the style of Dukcapil's web service for partner institutions: one POST with the
NIK and the partner's user id, password and the end user's IP address in the JSON body, and
answers wrapped in ``content``. Not Dukcapil's actual API::

    POST /dukcapil/get_json/NIK   {"NIK", "user_id", "password", "ip_user"}
    200 {"content": [{"NIK", "NAMA_LGKP", "TGL_LHR": "DD-MM-YYYY",
                      "JENIS_KLMIN": "LAKI-LAKI"|"PEREMPUAN", "STATUS_HIDUP": "HIDUP"|"MENINGGAL",
                      "TGL_MATI": "DD-MM-YYYY"|"", "KEL_NAME", "JML_ANGGOTA_KK",
                      "STATUS_PINDAH": "Y"|"T"}], "lastPage": true}
    200 {"content": [{"RESPON": "Data Tidak Ditemukan"}], "lastPage": true}   (unknown NIK)
    401 {"content": [{"RESPON": "User tidak valid"}], "lastPage": true}
    400 {"content": [{"RESPON": "..."}], "lastPage": true}

An unknown NIK answering 200 is the real service's quirk, kept so the adapter must handle it.
A wrong user or password is 401 here (not a 200 like the unknown NIK) so that an
authentication failure can never be mistaken for "no such person".
Privacy: nothing is logged; the NIK travels in the body, not the URL.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Mapping

from aiohttp import web

from connectors.population import DukcapilRecord, Population
from connectors.simulation.apps import POPULATION, population_app
from jembatan.subject import is_nik

RECORD_PATH = "/dukcapil/get_json/NIK"
NOT_FOUND = "Data Tidak Ditemukan"

_USER = web.AppKey("user", tuple[bytes, bytes])
_DATE = "%d-%m-%Y"


def new_credentials() -> dict[str, str]:
    """A fresh partner account (user id and password) for the agency's own connector."""
    return {
        "user_id": f"KEMENSOS{secrets.randbelow(10**6):06d}",
        "password": secrets.token_urlsafe(24),
    }


def make_app(population: Population, credentials: Mapping[str, str]) -> web.Application:
    """The web service over ``population.dukcapil`` (every member of every household)."""
    app = population_app(population)
    app[_USER] = (credentials["user_id"].encode(), credentials["password"].encode())
    app.router.add_post(RECORD_PATH, _get_nik)
    return app


async def _get_nik(request: web.Request) -> web.Response:
    body = await _json_object(request)
    # The account is checked first so a caller without it learns nothing, not even NIK rules.
    if not _authorised(request, body):
        return _respon("User tidak valid", status=401)
    nik, ip_user = body.get("NIK"), body.get("ip_user")
    if not isinstance(nik, str) or not is_nik(nik):  # isinstance: for the type checker
        return _respon("NIK tidak valid", status=400)
    if not _is_ip_address(ip_user):
        return _respon("ip_user tidak valid", status=400)
    population = request.app[POPULATION]
    record, found = population.dukcapil.get(nik), population.by_nik(nik)
    if record is None or found is None:
        return _respon(NOT_FOUND, status=200)
    return _content(_record_body(nik, found[1].name, record))


async def _json_object(request: web.Request) -> Mapping[str, object]:
    """The request body; anything but a JSON object carries no account, so is refused as such."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _authorised(request: web.Request, body: Mapping[str, object]) -> bool:
    user_id, password = request.app[_USER]
    offered_user, offered_password = body.get("user_id"), body.get("password")
    if not isinstance(offered_user, str) or not isinstance(offered_password, str):
        return False
    # Both compared, always: `and` would tell by timing whether the user id alone was right.
    user_ok = hmac.compare_digest(offered_user.encode(), user_id)
    password_ok = hmac.compare_digest(offered_password.encode(), password)
    return user_ok & password_ok


def _is_ip_address(raw: object) -> bool:
    if not isinstance(raw, str):
        return False
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        return False
    return True


def _record_body(nik: str, name: str, record: DukcapilRecord) -> dict[str, object]:
    died = record.death_date
    return {
        "NIK": nik,
        "NAMA_LGKP": name.upper(),  # the registry writes names in capitals
        "TGL_LHR": record.birth_date.strftime(_DATE),
        "JENIS_KLMIN": "LAKI-LAKI" if record.gender == "male" else "PEREMPUAN",
        "STATUS_HIDUP": "HIDUP" if record.alive else "MENINGGAL",
        "TGL_MATI": "" if died is None else died.strftime(_DATE),
        "KEL_NAME": record.village,
        "JML_ANGGOTA_KK": record.family_card_members,
        "STATUS_PINDAH": "Y" if record.moved_out else "T",
    }


def _respon(message: str, *, status: int) -> web.Response:
    return _content({"RESPON": message}, status=status)


def _content(item: Mapping[str, object], *, status: int = 200) -> web.Response:
    return web.json_response({"content": [item], "lastPage": True}, status=status)
