"""A simulated DTKS (Data Terpadu Kesejahteraan Sosial) API of Kemensos, OAuth2-protected.

The shape is ours, in the style of a Kemensos SIKS-NG-like REST service behind an OAuth2
authorisation server (client-credentials grant), not Kemensos's actual API::

    POST /oauth/token   form grant_type=client_credentials, client_id, client_secret
    200 {"access_token", "token_type": "Bearer", "expires_in": 300}
    401 {"error": "invalid_client"}   400 {"error": "unsupported_grant_type"}

    GET /api/dtks/v1/individu/{nik}   Authorization: Bearer <token>
    200 {"nik", "status_dtks": "TERDAFTAR"|"TIDAK_TERDAFTAR", "desil", "tgl_verivali":
         "DD-MM-YYYY", "jumlah_art", "program": ["PKH", "BPNT", ...]}
    401 {"error": "invalid_token"} (missing, unknown or expired)
    400 / 404 {"error": {"kode", "pesan"}}

The register is kept per household head, so any other member's NIK is not found.
Privacy: nothing is logged (``start_sim`` turns the access log off: the path carries the NIK).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping

from aiohttp import web

from connectors.population import DtksRecord, Population
from connectors.simulation.apps import POPULATION, population_app
from jembatan.subject import is_nik

TOKEN_PATH = "/oauth/token"
RECORD_PATH = "/api/dtks/v1/individu/{nik}"
TOKEN_LIFETIME_S = 300

_CLIENT = web.AppKey("client", tuple[bytes, bytes])


class _TokenStore:
    """Issued access tokens by their SHA-256, with their expiry on ``clock``.

    Keyed by digest so that looking a token up leaks nothing through timing about the
    tokens held: an attacker cannot steer the digest of what they send."""

    def __init__(self, clock: Callable[[], float], lifetime_s: int) -> None:
        self._clock = clock
        self.lifetime_s = lifetime_s
        self._expiry: dict[bytes, float] = {}

    def issue(self) -> str:
        now = self._clock()
        # Expired tokens go when a new one is issued, so the store stays as small as the
        # number of live tokens.
        self._expiry = {key: end for key, end in self._expiry.items() if end > now}
        token = secrets.token_urlsafe(32)
        self._expiry[_digest(token)] = now + self.lifetime_s
        return token

    def valid(self, token: str) -> bool:
        end = self._expiry.get(_digest(token))
        return end is not None and self._clock() < end


_TOKENS = web.AppKey("tokens", _TokenStore)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_credentials() -> dict[str, str]:
    """A fresh OAuth2 client registration for the agency's own connector."""
    return {
        "client_id": f"jembatan-{secrets.token_hex(4)}",
        "client_secret": secrets.token_urlsafe(32),
    }


def make_app(
    population: Population,
    credentials: Mapping[str, str],
    *,
    clock: Callable[[], float] = time.monotonic,
    token_lifetime_s: int = TOKEN_LIFETIME_S,
) -> web.Application:
    """The API over ``population.dtks``; ``clock`` lets tests expire tokens without waiting."""
    app = population_app(population)
    app[_CLIENT] = (credentials["client_id"].encode(), credentials["client_secret"].encode())
    app[_TOKENS] = _TokenStore(clock, token_lifetime_s)
    app.router.add_post(TOKEN_PATH, _token)
    app.router.add_get(RECORD_PATH, _individu)
    return app


async def _token(request: web.Request) -> web.Response:
    form = await request.post()
    client_id, client_secret = request.app[_CLIENT]
    offered_id = str(form.get("client_id", "")).encode()
    offered_secret = str(form.get("client_secret", "")).encode()
    # Both compared, always: `and` would tell by timing whether the id alone was right.
    id_ok = hmac.compare_digest(offered_id, client_id)
    secret_ok = hmac.compare_digest(offered_secret, client_secret)
    if not (id_ok & secret_ok):
        return web.json_response({"error": "invalid_client"}, status=401)
    if form.get("grant_type") != "client_credentials":
        return web.json_response({"error": "unsupported_grant_type"}, status=400)
    tokens = request.app[_TOKENS]
    return web.json_response(
        {"access_token": tokens.issue(), "token_type": "Bearer", "expires_in": tokens.lifetime_s},
        headers={"Cache-Control": "no-store"},  # RFC 6749 5.1: tokens are not to be cached
    )


async def _individu(request: web.Request) -> web.Response:
    if not _bearer_valid(request):
        return web.json_response(
            {"error": "invalid_token"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    nik = request.match_info["nik"]
    if not is_nik(nik):
        return _error(400, "format NIK tidak valid")
    record = request.app[POPULATION].dtks.get(nik)
    if record is None:
        return _error(404, "NIK tidak terdaftar di DTKS")
    return web.json_response(_record_body(nik, record))


def _bearer_valid(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token) and request.app[_TOKENS].valid(token)


def _record_body(nik: str, record: DtksRecord) -> dict[str, object]:
    return {
        "nik": nik,
        "status_dtks": "TERDAFTAR" if record.in_dtks else "TIDAK_TERDAFTAR",
        "desil": record.decile,
        "tgl_verivali": record.last_verified.strftime("%d-%m-%Y"),
        "jumlah_art": record.household_size,
        "program": [p for p in record.programmes.split(",") if p],
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"kode": status, "pesan": message}}, status=status)
