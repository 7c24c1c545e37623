"""The portal's aiohttp application: sign-in, daftar mandiri, the consent screen and the
decision, for a citizen on a cheap phone.

Every visitor has a session from the first page (it carries the CSRF token that every form
posts back); signing in replaces it with a new one bound to the citizen's account. Every
POST is refused unless it comes from this site with the session's token. Pages name an
application by an opaque id, and find it only among the signed-in citizen's own: another
citizen's id is answered as an id that does not exist. A NIK is only ever POSTed, never
put in a URL, a page (beyond the citizen's own, masked), or a log line.
"""

from __future__ import annotations

import datetime
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from jembatan.client import HubCallFailed, HubClient, QueryRefused
from jembatan.subject import may_hold_nik
from portal import explain, i18n
from portal.civil_registry import CivilRegistry
from portal.keys import PortalSecrets
from portal.members import ConsentManager, EligibilityDesk
from portal.offer import ConsentOffer
from portal.signin import CodeCheck, SendCode, SignIn
from portal.store import Application, InboxMessage, PortalStore, Session, opaque_id

log = logging.getLogger("jembatan.portal")

COOKIE = "perlinsos_session"
LANGUAGE_COOKIE = "perlinsos_bahasa"
HERE = Path(__file__).parent

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Application states: the consent screen is waiting; the decision is being made; decided;
# consent refused, so an officer checks on the ground instead.
WAITING, DECIDING, DECIDED, GROUND_CHECK = "consent_pending", "deciding", "decided", "ground_check"
# A decision takes seconds; one "being decided" for longer was cut off (the process stopped
# mid-way), and since the artefact was never kept, an officer checks it on the ground.
DECIDING_AT_MOST_S = 120


@dataclass
class Portal:
    store: PortalStore
    keys: PortalSecrets
    signin: SignIn
    registry: CivilRegistry
    manager: ConsentManager
    desk: EligibilityDesk
    secure_cookies: bool
    clients: tuple[HubClient, ...] = ()


PORTAL = web.AppKey("portal", Portal)
_SESSION = "session"
_NEW_TOKEN = "new_token"

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


# --- middlewares ------------------------------------------------------------------------


@web.middleware
async def _language(request: web.Request, handler: Handler) -> web.StreamResponse:
    i18n.use(request.cookies.get(LANGUAGE_COOKIE, i18n.DEFAULT))
    return await handler(request)


@web.middleware
async def _sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/static/"):
        return await handler(request)
    portal = request.app[PORTAL]
    session = await portal.store.run(portal.signin.session, request.cookies.get(COOKIE))
    if session is None:
        fresh = await portal.store.run(portal.signin.new_session)
        session = fresh.session
        request[_NEW_TOKEN] = fresh.token
    request[_SESSION] = session
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _set_session_cookie(request, exc)
        raise
    _set_session_cookie(request, response)
    return response


def _set_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    token = request.get(_NEW_TOKEN)
    if token:
        response.set_cookie(
            COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=request.app[PORTAL].secure_cookies,
            path="/",
        )


@web.middleware
async def _csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST: from this site, with the session's own token."""
    if request.method != "POST":
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin not in (None, f"{request.scheme}://{request.host}"):
        log.warning("refused a cross-site POST to %s", request.path)
        raise web.HTTPForbidden(text="cross-site request refused")
    form = await request.post()
    offered = form.get("csrf")
    session: Session = request[_SESSION]
    if (
        request.get(_NEW_TOKEN)
        or not isinstance(offered, str)
        or not hmac.compare_digest(offered.encode(), session.csrf.encode())
    ):
        log.warning("refused a POST to %s without its form token", request.path)
        return _page(request, "refused.html", {"why": "csrf"}, status=403)
    return await handler(request)


class AccessLog(AbstractAccessLogger):
    """aiohttp's access log line, but a path that could hold a NIK (someone typed one into
    the address bar) is logged as ``[may hold a NIK]``: no NIK in any log line."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = request.path_qs
        shown = "[may hold a NIK]" if may_hold_nik(path) else path[:200]
        self.logger.info(
            '%s "%s %s" %d %.3fs', request.remote, request.method, shown, response.status, time
        )


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_HEADERS)


# --- helpers ----------------------------------------------------------------------------


def _page(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    session: Session | None = request.get(_SESSION)
    base = {
        "csrf": session.csrf if session else "",
        "signed_in": bool(session and session.account_id),
        "lang": i18n.language(),
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context})
    response.set_status(status)
    return response


def _account(request: web.Request) -> str:
    session: Session = request[_SESSION]
    if not session.account_id:
        raise web.HTTPSeeOther("/masuk")
    return session.account_id


async def _own_application(request: web.Request) -> Application:
    account_id = _account(request)
    portal = request.app[PORTAL]
    application = await portal.store.run(
        portal.store.application, request.match_info["application"], account_id
    )
    if application is None:
        # Another citizen's id, a guessed one, a typo: all the same, nothing here. Logged
        # (without the id: it is the caller's text) for whoever watches for probing.
        log.warning("account %s: no such application of theirs", account_id)
        raise web.HTTPNotFound(text="not found")
    return application


async def _form(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name)
    return value if isinstance(value, str) else ""


def _now() -> int:
    return int(time.time())


def _code_minutes(request: web.Request) -> dict[str, int]:
    return {"code_minutes": max(1, request.app[PORTAL].signin.policy.code_ttl_s // 60)}


def _mask_nik(nik: str) -> str:
    return nik[:4] + "•" * 8 + nik[-4:]


# --- pages: welcome and sign-in ---------------------------------------------------------


async def start_page(request: web.Request) -> web.Response:
    if request[_SESSION].account_id:
        raise web.HTTPSeeOther("/beranda")
    return _page(request, "start.html", {})


async def nik_form(request: web.Request) -> web.Response:
    return _page(request, "signin_nik.html", {"error": ""})


async def nik_posted(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    nik = "".join((await _form(request, "nik")).split())
    outcome = await portal.store.run(portal.signin.send_code, request[_SESSION], nik)
    if outcome is SendCode.INVALID:
        return _page(request, "signin_nik.html", {"error": "invalid"}, status=400)
    if outcome is SendCode.THROTTLED:
        log.info("sign-in code refused: too many codes for one NIK")
        return _page(request, "signin_nik.html", {"error": "throttled"}, status=429)
    log.info("sign-in code requested")
    raise web.HTTPSeeOther("/masuk/kode")


async def code_form(request: web.Request) -> web.Response:
    if not request[_SESSION].challenge_id:
        raise web.HTTPSeeOther("/masuk")
    return _page(request, "signin_code.html", {"error": "", **_code_minutes(request)})


async def code_posted(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    code = await _form(request, "code")
    check, signed_in = await portal.store.run(portal.signin.check_code, request[_SESSION], code)
    if check is CodeCheck.OK and signed_in is not None:
        log.info("citizen signed in: account %s", signed_in.session.account_id)
        request[_NEW_TOKEN] = signed_in.token
        raise web.HTTPSeeOther("/beranda")
    log.info("sign-in code refused: %s", check.value)
    status = 400 if check is CodeCheck.WRONG else 429 if check is CodeCheck.LOCKED else 410
    context = {"error": check.value, **_code_minutes(request)}
    return _page(request, "signin_code.html", context, status=status)


async def sign_out(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    await portal.store.run(portal.signin.end, request[_SESSION])
    fresh = await portal.store.run(portal.signin.new_session)
    request[_NEW_TOKEN] = fresh.token
    raise web.HTTPSeeOther("/")


async def set_language(request: web.Request) -> web.Response:
    chosen = await _form(request, "lang")
    back = await _form(request, "back")
    target = back if back.startswith("/") and not back.startswith("//") else "/"
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT,
        httponly=True,
        samesite="Strict",
        secure=request.app[PORTAL].secure_cookies,
        max_age=365 * 86400,
        path="/",
    )
    raise response


# --- pages: the citizen's own -----------------------------------------------------------


async def home_page(request: web.Request) -> web.Response:
    account_id = _account(request)
    portal = request.app[PORTAL]
    applications = await portal.store.run(portal.store.applications_of, account_id)
    messages = await portal.store.run(portal.store.inbox, account_id)
    return _page(
        request,
        "home.html",
        {"applications": applications, "messages": len(messages), "wib": i18n.wib},
    )


async def apply_form(request: web.Request) -> web.Response:
    account_id = _account(request)
    portal = request.app[PORTAL]
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    card = await portal.store.run(portal.registry.family_card, nik)
    if card is None:
        return _page(request, "apply.html", {"card": None})
    members = [
        {"name": m.name, "relationship": m.relationship, "birth_year": m.birth_year}
        for m in card.members
    ]
    return _page(request, "apply.html", {"card": card, "members": members, "nik": _mask_nik(nik)})


async def apply_posted(request: web.Request) -> web.Response:
    account_id = _account(request)
    portal = request.app[PORTAL]
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    card = await portal.store.run(portal.registry.family_card, nik)
    if card is None:
        return _page(request, "apply.html", {"card": None}, status=404)
    try:
        offer = await portal.desk.ask_consent(nik)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("consent request failed: %s", getattr(exc, "reason", type(exc).__name__))
        return _page(request, "busy.html", {}, status=503)
    household = {
        "village": card.village,
        "members": [
            {"name": m.name, "relationship": m.relationship, "birth_year": m.birth_year}
            for m in card.members
        ],
    }
    now = _now()
    application = Application(
        id=opaque_id(),
        account_id=account_id,
        status=WAITING,
        household=json.dumps(household),
        offer=offer.to_json(),
        consent_id="",
        decision_sealed=None,
        created_at=now,
        updated_at=now,
    )
    await portal.store.run(portal.store.add_application, application)
    log.info("application %s: consent requested (%s)", application.id, offer.request_id)
    raise web.HTTPSeeOther(f"/permohonan/{application.id}/persetujuan")


def _offer_view(offer: ConsentOffer) -> list[dict[str, Any]]:
    return [
        {
            "agency": explain.agency(service.service_id),
            "fields": [
                {
                    "label": explain.field_label(f.description, f.name),
                    "form": explain.form_of(f.treatment, f.detail, f.description),
                }
                for f in service.fields
            ],
        }
        for service in offer.services
    ]


async def consent_page(request: web.Request) -> web.Response:
    application = await _own_application(request)
    if application.status != WAITING:
        raise web.HTTPSeeOther(f"/permohonan/{application.id}")
    offer = ConsentOffer.from_json(application.offer)
    if _answer_too_late(offer):
        offer = await _ask_again(request, application)
    return _page(
        request,
        "consent.html",
        {
            "application": application,
            "offer": offer,
            "services": _offer_view(offer),
            "grantee": _grantee(offer.grantee),
            "valid_days": offer.valid_for_s // 86400,
            "data_days": offer.data_life_s // 86400,
        },
    )


def _answer_too_late(offer: ConsentOffer) -> bool:
    respond_by = datetime.datetime.fromisoformat(offer.respond_by).timestamp()
    return time.time() >= respond_by


async def _ask_again(request: web.Request, application: Application) -> ConsentOffer:
    """The hub lets a consent request lapse after a day; a citizen who comes back later is
    asked afresh (a new request, under the same application)."""
    portal = request.app[PORTAL]
    nik = await portal.store.run(portal.signin.nik_of, application.account_id)
    try:
        offer = await portal.desk.ask_consent(nik)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("application %s: consent asked again, failed: %s", application.id, exc)
        raise web.HTTPServiceUnavailable(text="busy") from None
    await portal.store.run(
        lambda: portal.store.move_application(
            application.id, was=WAITING, status=WAITING, now=_now(), offer=offer.to_json()
        )
    )
    log.info("application %s: consent asked again (%s)", application.id, offer.request_id)
    return offer


def _grantee(member_id: str) -> str:
    if member_id == "ID/GOV/KEMENSOS/eligibility":
        return i18n.gettext("Kemensos eligibility service")
    return member_id


async def consent_posted(request: web.Request) -> web.Response:
    application = await _own_application(request)
    portal = request.app[PORTAL]
    choice = await _form(request, "choice")
    if choice not in ("grant", "refuse"):
        raise web.HTTPBadRequest(text="choose grant or refuse")
    offer = ConsentOffer.from_json(application.offer) if application.offer else None
    target = f"/permohonan/{application.id}"
    if offer is None:
        raise web.HTTPSeeOther(target)
    if application.status == WAITING and _answer_too_late(offer):
        # The request lapsed while the page was open: show it again, asked afresh.
        raise web.HTTPSeeOther(f"{target}/persetujuan")
    now = _now()
    if choice == "refuse":
        if not await portal.store.run(
            lambda: portal.store.move_application(
                application.id, was=WAITING, status=GROUND_CHECK, now=now
            )
        ):
            raise web.HTTPSeeOther(target)
        try:
            await portal.manager.refuse(offer)
        except (QueryRefused, HubCallFailed) as exc:
            # The citizen said no: nothing is asked under a request that was never granted,
            # and the hub lets the request expire by itself.
            log.warning("application %s: rejecting at the hub failed: %s", application.id, exc)
        await _tell(portal, application, "ground_check")
        log.info("application %s: consent refused, to a ground check", application.id)
        raise web.HTTPSeeOther(target)
    if not await portal.store.run(
        lambda: portal.store.move_application(application.id, was=WAITING, status=DECIDING, now=now)
    ):
        raise web.HTTPSeeOther(target)
    nik = await portal.store.run(portal.signin.nik_of, application.account_id)
    try:
        consent_id, artefact = await portal.manager.grant(nik, offer)
        log.info("application %s: consent %s granted", application.id, consent_id)
        decision = await portal.desk.decide(nik, artefact, offer)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("application %s: no decision: %s", application.id, exc)
        await portal.store.run(
            lambda: portal.store.move_application(
                application.id, was=DECIDING, status=GROUND_CHECK, now=_now()
            )
        )
        await _tell(portal, application, "ground_check")
        raise web.HTTPSeeOther(target) from None
    sealed = portal.keys.seal(json.dumps(decision).encode())
    await portal.store.run(
        lambda: portal.store.move_application(
            application.id,
            was=DECIDING,
            status=DECIDED,
            now=_now(),
            consent_id=consent_id,
            decision_sealed=sealed,
        )
    )
    await _tell(portal, application, "decided")
    log.info("application %s: decided (%s)", application.id, decision["outcome"])
    raise web.HTTPSeeOther(target)


async def _tell(portal: Portal, application: Application, kind: str) -> None:
    message = InboxMessage(opaque_id(), application.account_id, _now(), kind, application.id)
    await portal.store.run(portal.store.add_message, message)


def _decision_view(decision: dict[str, Any], offer: ConsentOffer) -> dict[str, Any]:
    descriptions = {(s.service_id, f.name): f.description for s in offer.services for f in s.fields}
    thresholds = decision["thresholds"]

    def data(service_id: str) -> list[str]:
        evidence = decision["evidence"].get(service_id, {"state": "unavailable", "fields": []})
        if evidence["state"] == "no_record":
            return [i18n.gettext("No record of you.")]
        if evidence["state"] == "unavailable":
            return [i18n.gettext("No answer.")]
        lines = []
        for f in evidence["fields"]:
            description = descriptions.get((service_id, f["name"]), "")
            label = explain.field_label(description, f["name"])
            value = explain.value_text(f["value"], f["treatment"], f["detail"], description)
            lines.append(f"{label}: {value}")
        return lines

    def by_agency(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # One card per agency: its reasons, then what it released, once.
        groups: dict[str, dict[str, Any]] = {}
        for r in reasons:
            group = groups.setdefault(
                r["service"],
                {"agency": explain.agency(r["service"]), "reasons": [], "data": data(r["service"])},
            )
            group["reasons"].append(explain.reason_text(r["code"], r["service"], thresholds))
        return list(groups.values())

    reasons = decision["reasons"]
    return {
        "outcome": decision["outcome"],
        "emergency": decision["emergency"],
        "formula_version": decision["formula_version"],
        "decided_at": i18n.wib(decision["decided_at"]),
        "deciding": by_agency([r for r in reasons if r["kind"] != "info"]),
        "other": by_agency([r for r in reasons if r["kind"] == "info"]),
    }


async def application_page(request: web.Request) -> web.Response:
    application = await _own_application(request)
    portal = request.app[PORTAL]
    if application.status == WAITING:
        raise web.HTTPSeeOther(f"/permohonan/{application.id}/persetujuan")
    if application.status == DECIDING and application.updated_at < _now() - DECIDING_AT_MOST_S:
        moved = await portal.store.run(
            lambda: portal.store.move_application(
                application.id, was=DECIDING, status=GROUND_CHECK, now=_now()
            )
        )
        if moved:
            log.warning("application %s: decision cut off, to a ground check", application.id)
            await _tell(portal, application, "ground_check")
        raise web.HTTPSeeOther(f"/permohonan/{application.id}")
    context: dict[str, Any] = {"application": application, "decision": None}
    if application.status == DECIDED and application.decision_sealed:
        decision = json.loads(portal.keys.open(application.decision_sealed))
        offer = ConsentOffer.from_json(application.offer)
        context["decision"] = _decision_view(decision, offer)
    return _page(request, "application.html", context)


async def inbox_page(request: web.Request) -> web.Response:
    account_id = _account(request)
    portal = request.app[PORTAL]
    messages = await portal.store.run(portal.store.inbox, account_id)
    return _page(request, "inbox.html", {"messages": messages, "wib": i18n.wib})


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return _page(request, "refused.html", {"why": "not_found"}, status=404)
    except web.HTTPServiceUnavailable:
        return _page(request, "busy.html", {}, status=503)


# --- the application --------------------------------------------------------------------


def make_app(portal: Portal) -> web.Application:
    app = web.Application(middlewares=[_language, _sessions, _errors, _csrf])
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
    app.on_response_prepare.append(_secure_headers)
    app.router.add_static("/static/", HERE / "static")
    routes = [
        web.get("/", start_page),
        web.get("/masuk", nik_form),
        web.post("/masuk", nik_posted),
        web.get("/masuk/kode", code_form),
        web.post("/masuk/kode", code_posted),
        web.post("/keluar", sign_out),
        web.post("/bahasa", set_language),
        web.get("/beranda", home_page),
        web.get("/daftar", apply_form),
        web.post("/daftar", apply_posted),
        web.get("/permohonan/{application}", application_page),
        web.get("/permohonan/{application}/persetujuan", consent_page),
        web.post("/permohonan/{application}/persetujuan", consent_posted),
        web.get("/pesan", inbox_page),
    ]
    app.router.add_routes(routes)
    return app
