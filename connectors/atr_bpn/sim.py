"""A simulated ATR/BPN land-parcel search: ``POST /api/v1/bidang/cari`` with HTTP Basic auth.

The population holds one summary per household head (count, area, NJOP); the agency holds
parcels. They are derived here, deterministically from the NIK, so that counting and summing
them gives the summary back exactly: the area is cut at random points, and the NJOP is shared
out in proportion to area with cumulative rounding, so no rupiah is lost.

Privacy: no access log, nothing logged; the NIK travels in the body, not the URL.
"""

from __future__ import annotations

import base64
import hmac
import random
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate

from aiohttp import web

from connectors.atr_bpn.adapter import HOLDER_KEY, SEARCH_PATH
from connectors.population import AtrBpnRecord, Population
from jembatan.subject import is_nik

# Most certified village land is hak milik; some house plots are hak guna bangunan.
_HGB_SHARE = 0.15


@dataclass(frozen=True, slots=True)
class Parcel:
    nib: str  # Nomor Identifikasi Bidang, 14 digits
    luas_m2: int
    njop: int  # rupiah
    jenis_hak: str  # "HM" (hak milik) or "HGB" (hak guna bangunan)


@dataclass(frozen=True)
class _Config:
    records: Mapping[str, AtrBpnRecord]
    username: bytes
    password: bytes


_CONFIG = web.AppKey("config", _Config)


def new_credentials() -> dict[str, str]:
    return {"username": f"kemensos-{secrets.token_hex(4)}", "password": secrets.token_urlsafe(24)}


def make_app(population: Population, credentials: Mapping[str, str]) -> web.Application:
    app = web.Application()
    app[_CONFIG] = _Config(
        population.atr_bpn,
        credentials["username"].encode(),
        credentials["password"].encode(),
    )
    app.router.add_post(SEARCH_PATH, _cari)
    return app


def parcels_of(nik: str, record: AtrBpnRecord) -> list[Parcel]:
    """The holder's parcels: the same every run, and summing to ``record`` exactly."""
    rng = random.Random(nik)  # a str seed hashes with SHA-512, not the per-process hash()
    areas = _split(rng, record.total_area_m2, record.parcel_count)
    njops = _share(record.njop_total, areas)
    return [
        Parcel(
            nib=f"{nik[:6]}{rng.randrange(10**8):08d}",
            luas_m2=area,
            njop=njop,
            jenis_hak="HGB" if rng.random() < _HGB_SHARE else "HM",
        )
        for area, njop in zip(areas, njops, strict=True)
    ]


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``parts`` sizes summing to ``total``, each at least 1 when ``total`` allows."""
    if total < parts:
        return [1] * total + [0] * (parts - total)
    cuts = sorted(rng.sample(range(1, total), parts - 1))
    return [high - low for low, high in zip([0, *cuts], [*cuts, total], strict=True)]


def _share(total: int, weights: list[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``; rounding the running sum keeps it exact."""
    whole = max(sum(weights), 1)
    marks = [(total * running + whole // 2) // whole for running in accumulate(weights)]
    marks[-1] = total  # exact even if every weight is 0
    return [high - low for low, high in zip([0, *marks[:-1]], marks, strict=True)]


async def _cari(request: web.Request) -> web.Response:
    config = request.app[_CONFIG]
    # Credentials are checked first so a caller without them learns nothing, not even NIK rules.
    if not _authorised(request, config):
        return web.json_response(
            {"status": "gagal", "pesan": "autentikasi gagal"},
            status=401,
            headers={"WWW-Authenticate": 'Basic realm="ATR/BPN"'},
        )
    nik = await _requested_nik(request)
    if nik is None:
        return web.json_response(
            {"status": "gagal", "pesan": f"{HOLDER_KEY} harus 16 digit"}, status=400
        )
    record = config.records.get(nik)
    parcels = [] if record is None else parcels_of(nik, record)
    return web.json_response({"status": "sukses", "data": [_parcel_body(nik, p) for p in parcels]})


def _authorised(request: web.Request, config: _Config) -> bool:
    offered = _basic_credentials(request.headers.get("Authorization", ""))
    if offered is None:
        return False
    username, password = offered
    # Both compared, always: `and` would tell a prober whether the username was right.
    right_user = hmac.compare_digest(username.encode(), config.username)
    right_password = hmac.compare_digest(password.encode(), config.password)
    return right_user & right_password


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(username, password) from ``Basic base64(username:password)``; None if not that."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except ValueError:  # not base64, or not UTF-8
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


async def _requested_nik(request: web.Request) -> str | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    nik = body.get(HOLDER_KEY) if isinstance(body, dict) else None
    return nik if is_nik(nik) else None


def _parcel_body(nik: str, parcel: Parcel) -> dict[str, object]:
    # The holder is echoed on each parcel, as a land register lists it, so the connector can
    # check that every parcel it sums is this person's.
    return {
        "nib": parcel.nib,
        HOLDER_KEY: nik,
        "luas_m2": parcel.luas_m2,
        "njop": parcel.njop,
        "jenis_hak": parcel.jenis_hak,
    }
