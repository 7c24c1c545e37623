"""A simulated BPJS Ketenagakerjaan membership API, in the agency's own (Indonesian) shape.

The adapter talks to this over real HTTP so the connector path has a real network hop, real
status codes and real failure modes. The shape is ours, modelled on typical Indonesian
government REST APIs (``kode``/``pesan`` errors, an API key header), not BPJSTK's actual API.

Run it on its own with ``BPJSTK_API_KEY=... python -m connectors.bpjstk.sim --port 8081``;
the key comes from the environment so it does not show in the process list.

Privacy: access logging is off, because the request path carries the NIK.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiohttp import web

from connectors.bpjstk.population import Participant, generate_participants

API_KEY_HEADER = "X-BPJSTK-Key"
RECORD_PATH = "/api/v2/kepesertaan/{nik}"

_RECORDS = web.AppKey("records", dict[str, Participant])
_API_KEY = web.AppKey("api_key", bytes)
# [0-9], not \d: \d also matches non-ASCII digits, which are no NIK.
_NIK = re.compile(r"[0-9]{16}")
_STATUS = {"active": "AKTIF", "inactive": "NONAKTIF"}


def make_app(participants: Iterable[Participant], api_key: str) -> web.Application:
    """The API over ``participants``; those never registered are left out of its records."""
    app = web.Application()
    app[_RECORDS] = {p.nik: p for p in participants if p.employment is not None}
    app[_API_KEY] = api_key.encode()
    app.router.add_get(RECORD_PATH, _kepesertaan)
    return app


@dataclass
class SimHandle:
    url: str  # base URL, e.g. http://127.0.0.1:40123
    participants: list[Participant]
    _runner: web.AppRunner = field(repr=False)

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_sim(
    host: str, port: int, *, api_key: str, seed: int = 2026, count: int = 60
) -> SimHandle:
    """Serve the population for ``seed``/``count`` on ``host:port`` (port 0: any free port)."""
    participants = generate_participants(seed, count)
    runner = web.AppRunner(make_app(participants, api_key), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_port = runner.addresses[0][1]
    return SimHandle(url=_base_url(host, bound_port), participants=participants, _runner=runner)


async def _kepesertaan(request: web.Request) -> web.Response:
    # The key is checked first so a caller without it learns nothing, not even NIK rules.
    if not _authorised(request):
        return _error(401, "API key tidak valid")
    nik = request.match_info["nik"]
    if _NIK.fullmatch(nik) is None:
        return _error(400, "format NIK tidak valid")
    participant = request.app[_RECORDS].get(nik)
    if participant is None:
        return _error(404, "peserta tidak ditemukan")
    return web.json_response(_record_body(participant))


def _authorised(request: web.Request) -> bool:
    offered = request.headers.get(API_KEY_HEADER, "").encode()
    return hmac.compare_digest(offered, request.app[_API_KEY])


def _record_body(participant: Participant) -> dict[str, object]:
    employment = participant.employment
    assert employment is not None  # make_app keeps registered participants only
    ended = employment.termination_date
    return {
        "nik": participant.nik,
        "nama": participant.name,
        "status_kepesertaan": _STATUS[employment.status],
        "nama_perusahaan": employment.employer,
        "upah_bulanan": employment.monthly_wage,
        "tgl_berhenti": None if ended is None else ended.isoformat(),
    }


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"kode": str(status), "pesan": message}, status=status)


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _serve_forever(args: argparse.Namespace) -> None:
    api_key = os.environ.get("BPJSTK_API_KEY")
    if not api_key:
        raise SystemExit("set BPJSTK_API_KEY")
    handle = await start_sim(
        args.host, args.port, api_key=api_key, seed=args.seed, count=args.count
    )
    # One line on stdout so a parent process can wait for readiness and learn the port.
    print(f"bpjstk sim listening on {handle.url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await handle.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulated BPJS Ketenagakerjaan API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--count", type=int, default=60)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop it
        asyncio.run(_serve_forever(parser.parse_args()))


if __name__ == "__main__":
    main()
