"""The console's aiohttp application: login, the pages, and the headers that keep them in
the officer's browser only.

Every path except the login form needs a live session; without one the answer is a redirect
to the login page and nothing else, whether or not the path exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from hub.console import pages
from hub.console.officers import check_password
from hub.console.reader import LogReader
from hub.console.sessions import COOKIE, LoginThrottle, Session, Sessions
from hub.console.trail import OfficerTrail
from hub.home import HubHome
from jembatan.audit.checkpoint import CheckpointError
from jembatan.client import HubCallFailed, QueryRefused
from jembatan.v1 import audit_pb2

log = logging.getLogger(__name__)

PAGE = 50
_MAX_INDEX = 2**63
_SEARCH = "Search the exchange log"
_LOGIN_FAILED = "Wrong officer name or password."
_LOGIN_THROTTLED = "Too many failed logins: try again in 15 minutes."
_LOGIN_UNRECORDED = "The hub cannot record your login right now: try again later."

HOME = web.AppKey("home", HubHome)
READER = web.AppKey("reader", LogReader)
SESSIONS = web.AppKey("sessions", Sessions)
THROTTLE = web.AppKey("throttle", LoginThrottle)
TRAIL = web.AppKey("trail", OfficerTrail)
_SESSION = "officer_session"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HEADERS = {
    # No scripts at all; the one stylesheet by hash; forms post only back here.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src '{pages.STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not no-referrer: with it Chromium sends "Origin: null" on our own form posts, which
    # the same-origin check below would refuse. Other sites still get no referrer.
    "Referrer-Policy": "same-origin",
    # Records must not linger in shared caches or the back-button cache after logout.
    "Cache-Control": "no-store",
}


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_HEADERS)


@web.middleware
async def _same_origin_posts(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a POST another site's page sent (SameSite=Strict already keeps the session
    cookie off it; this also covers the login form, which has no session yet)."""
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin not in (None, f"{request.scheme}://{request.host}"):
        raise web.HTTPForbidden(text="cross-site request refused")
    return await handler(request)


@web.middleware
async def _officers_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path == "/login":
        return await handler(request)
    session = request.app[SESSIONS].get(request.cookies.get(COOKIE))
    if session is None:
        raise web.HTTPSeeOther("/login")
    request[_SESSION] = session
    return await handler(request)


def _session(request: web.Request) -> Session:
    session: Session = request[_SESSION]
    return session


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


async def login_form(request: web.Request) -> web.Response:
    return _html(pages.login_page())


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, password = form.get("name"), form.get("password")
    name = name if isinstance(name, str) else ""
    address = request.remote or ""
    throttle = request.app[THROTTLE]
    if not throttle.allowed(name, address):
        log.warning("console login refused from %s: too many failures", address)
        return _html(pages.login_page(_LOGIN_THROTTLED), status=429)
    ok = False
    if name and isinstance(password, str) and password:
        # scrypt takes tens of milliseconds: off the event loop, so other pages stay live.
        ok = await asyncio.to_thread(check_password, request.app[HOME], name, password)
    trail = request.app[TRAIL]
    if not ok:
        limits = throttle.failed(name, address)
        # One message for every failure, so it tells nobody which officers exist.
        log.warning("console login failed from %s", address)
        await trail.login_failed(name, address)
        if limits:
            await trail.lockout(name, address, limits)
        return _html(pages.login_page(_LOGIN_FAILED), status=401)
    if not await trail.login(name, address):  # nothing is done unless it is recorded
        return _html(pages.login_page(_LOGIN_UNRECORDED), status=503)
    throttle.succeeded(name)
    token = request.app[SESSIONS].start(name)
    log.info("officer %s logged in", name)
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Strict", secure=request.secure, path="/"
    )
    raise response


async def logout(request: web.Request) -> web.Response:
    request.app[SESSIONS].end(request.cookies.get(COOKIE))
    await request.app[TRAIL].logout(_session(request).officer, request.remote or "")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def search_page(request: web.Request) -> web.Response:
    officer = _session(request).officer
    return _html(pages.layout(_SEARCH, pages.search_form({}, False), officer))


async def search(request: web.Request) -> web.Response:
    session = _session(request)
    form = await request.post()
    values = {
        name: value.strip()
        for name in (*(n for n, _ in pages.SEARCH_FIELDS), "decision", "subject")
        if isinstance(value := form.get(name), str) and value.strip()
    }
    # Which filters, never their values: the subject filter is a NIK.
    log.info("officer %s searched by %s", session.officer, ",".join(sorted(values)) or "nothing")
    query = audit_pb2.SearchRequest(limit=PAGE)
    for name, value in values.items():  # every search field is a string
        setattr(query, name, value)
    return await _results(request, query, pages.search_form(values, "subject" in values))


async def more(request: web.Request) -> web.Response:
    """The next page of a search this session ran, by its id: the filters (and any NIK)
    stay on the server."""
    session = _session(request)
    form = await request.post()
    saved = session.searches.get(str(form.get("search", "")))
    after = str(form.get("after", ""))
    if saved is None or not after.isdigit() or int(after) >= _MAX_INDEX:
        return _html(pages.error_page("Search expired", "Search again.", session.officer), 400)
    query = audit_pb2.SearchRequest()
    query.CopyFrom(saved)
    query.after_index, query.has_after_index = int(after), True
    if query.break_glass:
        intro = "<p>Break-glass exchanges, continued.</p>"
        return await _results(request, query, intro, "Break-glass", pages.BREAK_GLASS_COLUMNS)
    return await _results(request, query, pages.search_form({}, bool(saved.subject)))


async def _results(
    request: web.Request,
    query: audit_pb2.SearchRequest,
    above: str,
    title: str = _SEARCH,
    columns: pages.Columns = pages.RESULT_COLUMNS,
) -> web.Response:
    session = _session(request)
    try:
        response = await request.app[READER].search(query, session.officer)
    except QueryRefused as exc:
        status = 400 if exc.reason == "MALFORMED_REQUEST" else 502
        body = above + pages.failure(f"The hub refused: {exc.message}")
        return _html(pages.layout(title, body, session.officer), status)
    except HubCallFailed as exc:  # no answer is not a refusal
        body = above + pages.failure(str(exc))
        return _html(pages.layout(title, body, session.officer), 502)
    found = pages.results(response, session.save_search(query), columns)
    return _html(pages.layout(title, above + found, session.officer))


async def refusals(request: web.Request) -> web.Response:
    intro = "<p>Refused exchanges and refused audit calls, oldest first, for review.</p>"
    query = audit_pb2.SearchRequest(decision="REFUSED", limit=PAGE)
    return await _results(request, query, intro, "Refusals")


async def break_glass(request: web.Request) -> web.Response:
    intro = (
        "<p>Exchanges that rested on a legal obligation or vital interest instead of consent,"
        " released or refused, oldest first: judge each justification and approval.</p>"
    )
    query = audit_pb2.SearchRequest(break_glass=True, limit=PAGE)
    return await _results(request, query, intro, "Break-glass", pages.BREAK_GLASS_COLUMNS)


async def record(request: web.Request) -> web.Response:
    officer = _session(request).officer
    index = int(request.match_info["index"])
    if index >= _MAX_INDEX:
        raise web.HTTPNotFound()
    reader = request.app[READER]
    try:
        entry = await reader.record(index, officer)
    except QueryRefused as exc:
        status = 404 if exc.reason == "UNKNOWN_TARGET" else 502
        return _html(pages.error_page(f"Record {index}", exc.message, officer), status)
    except HubCallFailed as exc:
        return _html(pages.error_page(f"Record {index}", str(exc), officer), 502)
    log.info("officer %s opened record %d", officer, index)
    inclusion = await reader.prove(index, entry.record_json, officer)
    return _html(pages.record_page(entry, inclusion, officer))


async def integrity(request: web.Request) -> web.Response:
    officer = _session(request).officer
    try:
        consistency = await request.app[READER].checkpoint(officer=officer)
    except CheckpointError as exc:
        message = f"the hub's checkpoint does not verify: {exc}"
        return _html(pages.error_page("Log integrity", message, officer), 502)
    except QueryRefused as exc:
        return _html(pages.error_page("Log integrity", exc.message, officer), 502)
    except HubCallFailed as exc:
        return _html(pages.error_page("Log integrity", str(exc), officer), 502)
    return _html(pages.integrity_page(consistency, officer))


def build_app(
    home: HubHome, reader: LogReader, sessions: Sessions | None = None
) -> web.Application:
    app = web.Application(middlewares=[_same_origin_posts, _officers_only])
    app[HOME] = home
    app[READER] = reader
    app[SESSIONS] = sessions or Sessions()
    app[THROTTLE] = LoginThrottle()
    app[TRAIL] = OfficerTrail(reader)
    app.on_response_prepare.append(_secure_headers)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", search_page)
    app.router.add_post("/", search)
    app.router.add_post("/more", more)
    app.router.add_get("/refusals", refusals)
    app.router.add_get("/break-glass", break_glass)
    app.router.add_get(r"/record/{index:\d{1,20}}", record)
    app.router.add_get("/integrity", integrity)
    return app


@dataclass
class RunningConsole:
    runner: web.AppRunner
    reader: LogReader
    address: str

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.reader.close()


async def start(home: HubHome, listen: str, hub: str, member_dir: Path) -> RunningConsole:
    """Serve the console on ``listen`` (HOST:PORT, port 0 for any)."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT")
    reader = LogReader(home, hub, member_dir)
    try:
        # Proven against the anchor kept from earlier runs (a rollback or fork while the
        # console was down is an alarm from the start); fetching it now also fails fast on
        # a wrong hub address, CA or verifier key.
        await reader.checkpoint()
        runner = web.AppRunner(build_app(home, reader))
        await runner.setup()
        site = web.TCPSite(runner, host, int(port))
        await site.start()
    except BaseException:
        await reader.close()
        raise
    bound = runner.addresses[0]
    return RunningConsole(runner, reader, f"{host}:{bound[1]}")
