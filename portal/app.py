"""The portal's aiohttp application: its pages (``portal.pages``), their templates and
catalogue, the headers every answer carries, and an access log without NIKs.

A NIK is only ever POSTed, never put in a URL, a page (beyond the citizen's own, masked),
or a log line.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from jembatan.subject import may_hold_nik
from portal import i18n
from portal.pages import applications, cases, data, signin, staff
from portal.pages.base import (
    PORTAL,
    Portal,
    csrf_checked,
    errors_as_pages,
    with_language,
    with_session,
)

__all__ = ["AccessLog", "Portal", "make_app"]

HERE = Path(__file__).parent

_HEADERS = {
    # No scripts at all; styles only from the portal's own file; forms post only back here.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class AccessLog(AbstractAccessLogger):
    """aiohttp's access log line, but a path that could hold a NIK (someone typed one into
    the address bar) is logged as ``[may hold a NIK]``: no NIK in any log line."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.path_qs
        shown = "[may hold a NIK]" if may_hold_nik(path) else path[:200]
        self.logger.info(
            '%s "%s %s" %d %.3fs', request.remote, request.method, shown, response.status, time
        )


async def secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_HEADERS)


def make_app(portal: Portal, *, watch_every_s: int = 0) -> web.Application:
    app = web.Application(middlewares=[with_language, with_session, errors_as_pages, csrf_checked])
    app[PORTAL] = portal
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    app.on_response_prepare.append(secure_headers)
    app.router.add_static("/static/", HERE / "static")
    app.router.add_routes(
        [*signin.ROUTES, *applications.ROUTES, *cases.ROUTES, *staff.ROUTES, *data.ROUTES]
    )
    data.setup(app, portal, watch_every_s)
    return app
