"""What the simulators' aiohttp apps share: the population they serve, and an API key."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from aiohttp import web

from connectors.population import Population

# The population a simulator serves, as its handlers find it: ``request.app[POPULATION]``.
POPULATION = web.AppKey("population", Population)
# The one API key an API-key simulator accepts (``api_key_app``).
_API_KEY = web.AppKey("api_key", bytes)


def population_app(population: Population) -> web.Application:
    """A simulator's app, routes still to add, serving ``population``."""
    app = web.Application()
    app[POPULATION] = population
    return app


def new_api_key() -> dict[str, str]:
    """A fresh API key: the secret between the agency and its own connector."""
    return {"api_key": secrets.token_urlsafe(32)}


def api_key_app(population: Population, credentials: Mapping[str, str]) -> web.Application:
    """``population_app`` for an agency that accepts only the API key in ``credentials``."""
    app = population_app(population)
    app[_API_KEY] = credentials["api_key"].encode()
    return app


def is_api_key(request: web.Request, offered: str) -> bool:
    """Whether ``offered`` is the app's API key (compared in constant time)."""
    return hmac.compare_digest(offered.encode(), request.app[_API_KEY])
