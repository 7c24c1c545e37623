"""Fault injection for simulated agency APIs, one aiohttp middleware shared by all of them.

Real registers are slow, fail, time out and send garbage; the hub must give a partial
answer, never a stalled or failed whole. Faults are drawn from a seeded generator so a
run is repeatable.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from jembatan.errors import JembatanError

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Sent with extra_fields on: values an honest connector must never pass on.
EXTRA_FIELDS = {"nama_ibu_kandung": "FAULT-EXTRA-1", "alamat_lengkap": "FAULT-EXTRA-2"}


class FaultSpecError(JembatanError, ValueError):
    pass


@dataclass(frozen=True)
class FaultSettings:
    latency_ms: float = 0.0  # added to every answer
    error_rate: float = 0.0  # share answered HTTP 503
    timeout_rate: float = 0.0  # share never answered (held open for a minute)
    malformed_rate: float = 0.0  # share answered with a body that is not JSON
    extra_fields: bool = False  # JSON records carry fields nobody asked for
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "timeout_rate", "malformed_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise FaultSpecError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0:
            raise FaultSpecError("latency_ms must not be negative")
        self._rng.seed(self.seed)

    @property
    def active(self) -> bool:
        return bool(
            self.latency_ms
            or self.error_rate
            or self.timeout_rate
            or self.malformed_rate
            or self.extra_fields
        )

    @classmethod
    def parse(cls, spec: str) -> FaultSettings:
        """From ``latency=50,error=0.1,timeout=0.05,malformed=0.02,extra,seed=7``."""
        names = {
            "latency": "latency_ms",
            "error": "error_rate",
            "timeout": "timeout_rate",
            "malformed": "malformed_rate",
            "seed": "seed",
        }
        values: dict[str, object] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, _, value = item.partition("=")
            if key == "extra" and not value:
                values["extra_fields"] = True
            elif key in names and value:
                try:
                    values[names[key]] = int(value) if key == "seed" else float(value)
                except ValueError:
                    raise FaultSpecError(f"fault {key!r} needs a number, not {value!r}") from None
            else:
                raise FaultSpecError(
                    f"unknown fault {item!r} (latency=MS, error=P, timeout=P, malformed=P, "
                    "extra, seed=N)"
                )
        return cls(**values)  # type: ignore[arg-type]

    def middleware(self) -> Middleware:
        @web.middleware
        async def inject(request: web.Request, handler: _Handler) -> web.StreamResponse:
            if self.latency_ms:
                await asyncio.sleep(self.latency_ms / 1000)
            draw = self._rng.random()
            if draw < self.timeout_rate:
                await asyncio.sleep(60)
            draw -= self.timeout_rate
            if draw < self.error_rate:
                return web.json_response({"error": "service unavailable"}, status=503)
            draw -= self.error_rate
            if draw < self.malformed_rate:
                return web.Response(text="<html>502 Bad Gateway</html>", status=200)
            response = await handler(request)
            if self.extra_fields and isinstance(response, web.Response) and response.body:
                return _with_extra_fields(response)
            return response

        return inject


def _with_extra_fields(response: web.Response) -> web.Response:
    try:
        body = json.loads(response.body)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return response
    if not isinstance(body, dict):
        return response
    return web.json_response({**body, **EXTRA_FIELDS}, status=response.status)
