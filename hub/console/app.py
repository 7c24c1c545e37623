"""The console's aiohttp application: login, the pages, and the headers that keep them in
the officer's browser only.

Every path except the login form, the language switch and the static files needs a live
session; without one the answer is a redirect to the login page and nothing else, whether or
not the path exists.

It serves HTTPS itself (``tls``) or plain HTTP behind a TLS-terminating proxy named as
trusted: only from that peer are ``Forwarded`` / ``X-Forwarded-*`` believed, so the scheme
(and so the same-origin check and the cookies' ``Secure``) is the one the officer's browser
used, and anyone else's forged header is ignored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from hub.console import casework, render
from hub.console.dashboard import DEFAULT_REFRESH_S, Dashboard
from hub.console.dashboard_pages import DASHBOARD, anomalies_page, dashboard_page, witness_rows
from hub.console.officers import check_password
from hub.console.reader import LogReader
from hub.console.searches import (
    DECISIONS,
    N_,
    REFUSALS,
    SEARCH,
    TEXT_FILTERS,
    TIME_FILTERS,
    TOKEN,
    BadSearch,
    SearchTokens,
    View,
    parse,
)
from hub.console.sessions import COOKIE, LoginThrottle, Session, Sessions
from hub.console.trail import OfficerTrail
from hub.console.witnesses import Witnesses
from hub.home import HubHome
from jembatan.audit.checkpoint import CheckpointError
from jembatan.client import HubCallFailed, QueryRefused
from jembatan.insights.thresholds import Thresholds, load_thresholds
from jembatan.subject import is_nik

log = logging.getLogger(__name__)

_MAX_INDEX = 2**63
_LOGIN_FAILED = N_("Wrong officer name or password.")
_LOGIN_THROTTLED = N_("Too many failed logins: try again in 15 minutes.")
_LOGIN_UNRECORDED = N_("The hub cannot record your login right now: try again later.")

HOME = web.AppKey("home", HubHome)
READER = web.AppKey("reader", LogReader)
SESSIONS = web.AppKey("sessions", Sessions)
THROTTLE = web.AppKey("throttle", LoginThrottle)
TOKENS = web.AppKey("tokens", SearchTokens)
PROXIES = web.AppKey("proxies", frozenset)
TRAIL = web.AppKey("trail", OfficerTrail)
_SESSION = "officer_session"
# Open without a session: the login form's language switch and stylesheet.
_OPEN_PREFIXES = ("/lang/", "/static/")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HEADERS = {
    # Scripts and styles only from the console's own static files: nothing inline, nothing
    # from elsewhere; forms post only back here.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self';"
        " connect-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Not no-referrer: with it Chromium sends "Origin: null" on our own form posts, which
    # the same-origin check below would refuse. Other sites still get no referrer.
    "Referrer-Policy": "same-origin",
    # Records must not linger in shared caches or the back-button cache after logout.
    "Cache-Control": "no-store",
    "Vary": "Cookie, Accept-Language",
}


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_HEADERS)
    if request.secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def _forwarded_proto(request: web.Request) -> tuple[str | None, str | None, str | None]:
    """(scheme, host, client address) the proxy says the officer's browser used."""
    proto = host = client = None
    for element in request.forwarded[-1:]:  # RFC 7239: the proxy nearest us is the last
        proto, host, client = element.get("proto"), element.get("host"), element.get("for")
    if proto is None and (xproto := request.headers.get("X-Forwarded-Proto")):
        proto = xproto.split(",")[-1].strip()
    if host is None and (xhost := request.headers.get("X-Forwarded-Host")):
        host = xhost.split(",")[-1].strip()
    if client is None and (xfor := request.headers.get("X-Forwarded-For")):
        client = xfor.split(",")[-1].strip()
    return proto, host, client


@web.middleware
async def _trusted_proxy(request: web.Request, handler: Handler) -> web.StreamResponse:
    """From a peer named as a trusted proxy, the scheme, host and client it forwards; from
    anyone else, such headers change nothing."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    proxies = request.app[PROXIES]
    if proxies and peer and _address(peer[0]) in proxies:
        proto, host, client = _forwarded_proto(request)
        changes: dict[str, str] = {}
        if proto in ("http", "https"):
            changes["scheme"] = proto
        if host:
            changes["host"] = host
        if client:
            changes["remote"] = client
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
    return await handler(request)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


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
    if request.path == "/login" or request.path.startswith(_OPEN_PREFIXES):
        return await handler(request)
    session = request.app[SESSIONS].get(request.cookies.get(COOKIE))
    if session is None:
        raise web.HTTPSeeOther("/login")
    request[_SESSION] = session
    request[render.OFFICER] = session.officer
    return await handler(request)


def _session(request: web.Request) -> Session:
    session: Session = request[_SESSION]
    return session


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", secure=request.secure, path="/"
    )


async def login_form(request: web.Request) -> web.Response:
    return render.render(request, "login.html", {"message": None})


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    name, password = form.get("name"), form.get("password")
    name = name if isinstance(name, str) else ""
    address = request.remote or ""
    throttle = request.app[THROTTLE]
    if not throttle.allowed(name, address):
        log.warning("console login refused from %s: too many failures", address)
        return render.render(request, "login.html", {"message": _LOGIN_THROTTLED}, 429)
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
        return render.render(request, "login.html", {"message": _LOGIN_FAILED}, 401)
    if not await trail.login(name, address):  # nothing is done unless it is recorded
        return render.render(request, "login.html", {"message": _LOGIN_UNRECORDED}, 503)
    throttle.succeeded(name)
    token = request.app[SESSIONS].start(name)
    log.info("officer %s logged in", name)
    response = web.HTTPSeeOther("/")
    _set_cookie(request, response, COOKIE, token)
    raise response


async def logout(request: web.Request) -> web.Response:
    request.app[SESSIONS].end(request.cookies.get(COOKIE))
    await request.app[TRAIL].logout(_session(request).officer, request.remote or "")
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def set_language(request: web.Request) -> web.Response:
    """The language switch: a cookie, then back to the page it was clicked on."""
    language = request.match_info["language"]
    back = request.query.get("next", "/")
    # Only a path on this console: never an open redirect to another site.
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    response = web.HTTPSeeOther(back)
    _set_cookie(request, response, render.LANGUAGE_COOKIE, language)
    raise response


async def search_post(request: web.Request) -> web.Response:
    """The search form, posted once: a NIK is exchanged for a token here, and the officer
    is sent to the search's own GET URL (so Back and Forward never resubmit anything)."""
    session = _session(request)
    form = await request.post()
    params = {
        name: value.strip()
        for name in (*TEXT_FILTERS, *TIME_FILTERS, "decision")
        if isinstance(value := form.get(name), str) and value.strip()
    }
    nik = form.get("subject")
    nik = nik.strip() if isinstance(nik, str) else ""
    if nik:
        if not is_nik(nik):
            # Not echoed: the field comes back empty, the message says why.
            context = _form_context(params, nik_searched=False)
            context.update(_page(SEARCH), error=N_("That is not a valid NIK (16 digits)."))
            return render.render(request, "results.html", context, 400)
        params[TOKEN] = request.app[TOKENS].issue(session.officer, nik)
    # Which filters, never their values: the subject filter is a NIK.
    log.info(
        "officer %s searched by %s",
        session.officer,
        ",".join(sorted(params)).replace(TOKEN, "subject") or "nothing",
    )
    try:
        search = parse(params)
    except BadSearch as exc:
        context = _form_context(params, nik_searched=bool(nik))
        context.update(_page(SEARCH), error=str(exc))
        return render.render(request, "results.html", context, 400)
    raise web.HTTPSeeOther(search.url(SEARCH.path))


def _page(view: View) -> dict[str, object]:
    return {"view": view, "entries": [], "error": None, "newer": None, "older": None}


def _form_context(filters: dict[str, str], nik_searched: bool) -> dict[str, object]:
    return {
        "filters": filters,
        "nik_searched": nik_searched,
        "text_filters": TEXT_FILTERS,
        "decisions": DECISIONS,
    }


def _results_view(view: View) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return await _results(request, view)

    return handler


async def _results(request: web.Request, view: View) -> web.Response:
    session = _session(request)
    try:
        search = parse(request.query)
    except BadSearch as exc:
        context = _form_context({}, nik_searched=False)
        context.update(_page(view), error=str(exc))
        return render.render(request, "results.html", context, 400)
    nik = None
    if search.token:
        nik = request.app[TOKENS].nik(search.token, session.officer)
        if nik is None:
            context = _form_context(search.filters, nik_searched=False)
            context.update(
                _page(view), error=N_("This NIK search has expired: type the NIK again.")
            )
            return render.render(request, "results.html", context, 410)
    context = _form_context(search.filters, nik_searched=nik is not None)
    context.update(_page(view))
    try:
        response = await request.app[READER].search(search.query(nik, view), session.officer)
    except QueryRefused as exc:
        status = 400 if exc.reason == "MALFORMED_REQUEST" else 502
        context.update(error=N_("The hub refused the search."), detail=exc.message)
        return render.render(request, "results.html", context, status)
    except HubCallFailed as exc:  # no answer is not a refusal
        context.update(error=N_("The hub did not answer."), detail=str(exc))
        return render.render(request, "results.html", context, 502)
    entries = [(e.index, render.fields(e.record_json)) for e in response.entries]
    if search.after is not None:  # fetched oldest first, shown newest first like the rest
        entries.reverse()
    newer = older = None
    if entries:
        first, last = entries[0][0], entries[-1][0]
        # Newer records exist past a page reached by "older", or when an "after" page is full.
        if search.before is not None or (search.after is not None and response.more):
            newer = search.url(view.path, after=first)
        # Older ones exist past an "after" page (it started after one), or when this is full.
        if search.after is not None or response.more:
            older = search.url(view.path, before=last)
    context.update(entries=entries, newer=newer, older=older)
    return render.render(request, "results.html", context)


async def record(request: web.Request) -> web.Response:
    officer = _session(request).officer
    index = int(request.match_info["index"])
    if index >= _MAX_INDEX:
        raise web.HTTPNotFound()
    reader = request.app[READER]
    title = {"index": index}
    try:
        entry = await reader.record(index, officer)
    except QueryRefused as exc:
        status = 404 if exc.reason == "UNKNOWN_TARGET" else 502
        return _error(request, title, N_("The hub has no such record."), exc.message, status)
    except HubCallFailed as exc:
        return _error(request, title, N_("The hub did not answer."), str(exc), 502)
    log.info("officer %s opened record %d", officer, index)
    inclusion = await reader.prove(index, entry.record_json, officer)
    fields = render.fields(entry.record_json)
    context = {"entry": entry, "record": fields, "inclusion": inclusion}
    context.update(await casework.record_extras(request, index, fields))
    return render.render(request, "record.html", context)


def _error(
    request: web.Request, record: dict[str, int] | None, message: str, detail: str, status: int
) -> web.Response:
    context = {"record": record, "message": message, "detail": detail}
    return render.render(request, "error.html", context, status)


async def integrity(request: web.Request) -> web.Response:
    officer = _session(request).officer
    try:
        consistency = await request.app[READER].checkpoint(officer=officer)
    except CheckpointError as exc:
        message = N_("The hub's checkpoint does not verify with its key.")
        return _error(request, None, message, str(exc), 502)
    except QueryRefused as exc:
        return _error(request, None, N_("The hub refused."), exc.message, 502)
    except HubCallFailed as exc:
        return _error(request, None, N_("The hub did not answer."), str(exc), 502)
    witnesses = request.app[READER].witnesses
    rows = witness_rows(witnesses.status(time.time())) if witnesses else []
    context = {"consistency": consistency, "witness_rows": rows, "watching": bool(witnesses)}
    return render.render(request, "integrity.html", context)


def build_app(
    home: HubHome,
    reader: LogReader,
    sessions: Sessions | None = None,
    trusted_proxies: Iterable[str] = (),
    dashboard: Dashboard | None = None,
) -> web.Application:
    app = web.Application(middlewares=[_trusted_proxy, _same_origin_posts, _officers_only])
    app[HOME] = home
    app[READER] = reader
    app[SESSIONS] = sessions or Sessions()
    app[THROTTLE] = LoginThrottle()
    app[TOKENS] = SearchTokens()
    app[PROXIES] = frozenset(ipaddress.ip_address(p) for p in trusted_proxies)
    render.setup(app)
    app[TRAIL] = OfficerTrail(reader)
    app[DASHBOARD] = dashboard or Dashboard(reader, load_thresholds(home.anomaly_thresholds))
    casework.setup(app, home, reader, app[TRAIL], app[TOKENS])
    app.on_response_prepare.append(_secure_headers)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/lang/{language:id|en}", set_language)
    app.router.add_get("/", dashboard_page)
    app.router.add_get("/anomalies", anomalies_page)
    app.router.add_get(SEARCH.path, _results_view(SEARCH))
    app.router.add_post(SEARCH.path, search_post)
    app.router.add_get(REFUSALS.path, _results_view(REFUSALS))
    app.router.add_get(r"/record/{index:\d{1,20}}", record)
    app.router.add_get("/integrity", integrity)
    app.router.add_static("/static/", render.STATIC, append_version=False)
    return app


@dataclass
class RunningConsole:
    runner: web.AppRunner
    reader: LogReader
    address: str
    # The dashboard's first look, taken while no officer waits for it.
    warming: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        if self.warming is not None:
            self.warming.cancel()
        await self.runner.cleanup()
        await self.reader.close()


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The console's own HTTPS: TLS 1.2 at least, the certificate and key given."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"--tls-cert {cert} / --tls-key {key}: {exc}") from exc
    return context


async def start(
    home: HubHome,
    listen: str,
    hub: str,
    member_dir: Path,
    *,
    tls: ssl.SSLContext | None = None,
    trusted_proxies: Iterable[str] = (),
    thresholds: Thresholds | None = None,
    witnesses: Witnesses | None = None,
    refresh_s: float = DEFAULT_REFRESH_S,
) -> RunningConsole:
    """Serve the console on ``listen`` (HOST:PORT, port 0 for any). ``thresholds``: the
    anomaly flags' (default: the home's file, else the shipped ones); ``witnesses``: those
    whose cosignatures it checks; ``refresh_s``: how long a look at the log is reused."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {listen!r}: expected HOST:PORT")
    proxies = tuple(trusted_proxies)
    for proxy in proxies:
        if _address(proxy) is None:
            raise ValueError(f"--trusted-proxy {proxy!r}: expected an IP address")
    # Before anything connects: a bad thresholds file is a one-line error at start.
    thresholds = thresholds or load_thresholds(home.anomaly_thresholds)
    reader = LogReader(home, hub, member_dir, witnesses)
    try:
        # Proven against the anchor kept from earlier runs (a rollback or fork while the
        # console was down is an alarm from the start); fetching it now also fails fast on
        # a wrong hub address, CA or verifier key.
        await reader.checkpoint()
        dashboard = Dashboard(reader, thresholds, refresh_s=refresh_s)
        app = build_app(home, reader, trusted_proxies=proxies, dashboard=dashboard)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, host, int(port), ssl_context=tls)
        await site.start()
    except BaseException:
        await reader.close()
        raise
    bound = runner.addresses[0]
    warming = asyncio.create_task(_warm(dashboard))
    return RunningConsole(runner, reader, f"{host}:{bound[1]}", warming)


async def _warm(dashboard: Dashboard) -> None:
    """Read the anomaly window once at start: the first look at a week of a busy log takes
    seconds, the later ones only what was appended since."""
    try:
        await dashboard.picture()
    except (CheckpointError, QueryRefused, HubCallFailed) as exc:  # the page will say so
        log.warning("console dashboard: first look at the log failed: %s", exc)
