"""A simulated Korlantas Polri vehicle-registration API (ranmor: kendaraan bermotor).

Legacy style, as many older government APIs still are: one GET with the NIK and the API key
in the query string, ``GET /korlantas/ranmor?nik=<nik>&apikey=<key>``. A key in the URL is
worse than one in a header: URLs are written to proxy, gateway and server access logs and
kept in client histories, so the key leaks wherever the URL does (and so does the NIK). The
simulator keeps no access log, and the adapter never logs a URL (``AgencyHttpClient`` drops
it from every error); a real deployment would ask Korlantas for a header-based key.

The register holds individual vehicles; ``PolriRecord`` only summarises them. The vehicles
are derived from that record with a generator seeded by the NIK, so every run lists the same
ones and their counts and newest year add back up to the record exactly.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Literal

from aiohttp import web

from connectors.population import PolriRecord, Population
from connectors.simulation.apps import POPULATION, api_key_app, is_api_key, new_api_key
from jembatan.subject import is_nik

PATH = "/korlantas/ranmor"
NIK_PARAM = "nik"
KEY_PARAM = "apikey"

Jenis = Literal["R2", "R4"]  # roda dua (motorcycle), roda empat (car)

# "P" is the plate prefix of the Besuki residency, Banyuwangi included.
_PLATE_PREFIX = "P"
_CAR_MAKES = ("Toyota Avanza", "Daihatsu Xenia", "Suzuki Ertiga", "Mitsubishi L300", "Honda Brio")
_MOTORCYCLE_MAKES = ("Honda Beat", "Honda Supra X", "Yamaha Mio", "Yamaha NMAX", "Suzuki Smash")
# Older vehicles of the same owner are at most this many years older than the newest.
_MAX_AGE_SPREAD = 15
_OLDEST_YEAR = 1980

# The agency issues its own connector one API key.
new_credentials = new_api_key


def make_app(population: Population, credentials: Mapping[str, str]) -> web.Application:
    app = api_key_app(population, credentials)
    app.router.add_get(PATH, _ranmor)
    return app


def vehicles(nik: str, record: PolriRecord | None) -> list[dict[str, object]]:
    """The vehicles registered to ``nik``, as the API lists them (empty when none)."""
    if record is None:
        return []
    rng = random.Random(nik)
    car: Jenis = "R4"
    motorcycle: Jenis = "R2"
    kinds = [car] * record.car_count + [motorcycle] * record.motorcycle_count
    rng.shuffle(kinds)
    years = _build_years(rng, len(kinds), record.newest_vehicle_year)
    return [_vehicle(rng, kind, year) for kind, year in zip(kinds, years, strict=True)]


async def _ranmor(request: web.Request) -> web.Response:
    if not _key_ok(request):
        return _pesan(403, "apikey tidak valid")
    nik = request.query.get(NIK_PARAM, "")
    if not is_nik(nik):
        return _pesan(400, "nik harus 16 digit angka")
    listed = vehicles(nik, request.app[POPULATION].polri.get(nik))
    # The legacy API does not tell "no such person" from "no vehicles": both are an empty list.
    return web.json_response({"nik": nik, "jumlah": len(listed), "kendaraan": listed})


def _key_ok(request: web.Request) -> bool:
    return is_api_key(request, request.query.get(KEY_PARAM, ""))


def _pesan(status: int, pesan: str) -> web.Response:
    return web.json_response({"pesan": pesan}, status=status)


def _build_years(rng: random.Random, count: int, newest: int | None) -> list[int | None]:
    """``count`` build years whose maximum is ``newest`` (all unknown when it is None)."""
    if count == 0 or newest is None:
        return [None] * count
    older = [max(_OLDEST_YEAR, newest - rng.randint(0, _MAX_AGE_SPREAD)) for _ in range(count - 1)]
    years: list[int | None] = [newest, *older]
    rng.shuffle(years)
    return years


def _vehicle(rng: random.Random, kind: Jenis, year: int | None) -> dict[str, object]:
    makes = _CAR_MAKES if kind == "R4" else _MOTORCYCLE_MAKES
    return {
        "nopol": _plate(rng),
        "jenis": kind,
        "merk": rng.choice(makes),
        "tahun_pembuatan": year,
    }


def _plate(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
    return f"{_PLATE_PREFIX} {rng.randint(1, 9999)} {letters}"
