"""The pages' frame: every visitor's session, the CSRF check on every POST, the language,
rendering a page, and what the pages share.

Every visitor has a session from the first page (it carries the CSRF token that every form
posts back); signing in replaces it with a new one bound to the citizen's account. Every
POST is refused unless it comes from this site with the session's token. A page that needs
a signed-in citizen asks ``account(request)``; one that shows an application asks
``own_application(request)``, which finds it only among that citizen's own. A staff page
asks ``await staff(request)`` for the signed-in ``StaffMember``; a session is a citizen's or
a staff member's, never both, so neither reaches the other's pages.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from jembatan.client import HubClient
from portal import i18n
from portal.civil_registry import CivilRegistry
from portal.keys import PortalSecrets
from portal.members import ConsentManager, EligibilityDesk
from portal.signin import SignIn
from portal.store import (
    Application,
    InboxMessage,
    PortalStore,
    Session,
    Sms,
    StaffMember,
    opaque_id,
)

log = logging.getLogger("jembatan.portal")

COOKIE = "perlinsos_session"
LANGUAGE_COOKIE = "perlinsos_bahasa"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
SESSION = "session"
NEW_TOKEN = "new_token"


# --- middlewares ---------------------------------------------------------------------


@web.middleware
async def with_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    i18n.use(request.cookies.get(LANGUAGE_COOKIE, i18n.DEFAULT))
    return await handler(request)


@web.middleware
async def with_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/static/"):
        return await handler(request)
    portal = request.app[PORTAL]
    session = await portal.store.run(portal.signin.session, request.cookies.get(COOKIE))
    if session is None:
        fresh = await portal.store.run(portal.signin.new_session)
        session = fresh.session
        request[NEW_TOKEN] = fresh.token
    request[SESSION] = session
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _set_session_cookie(request, exc)
        raise
    _set_session_cookie(request, response)
    return response


def _set_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    token = request.get(NEW_TOKEN)
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
async def csrf_checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every POST: from this site, with the session's own token."""
    if request.method != "POST":
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin not in (None, f"{request.scheme}://{request.host}"):
        log.warning("refused a cross-site POST to %s", request.path)
        raise web.HTTPForbidden(text="cross-site request refused")
    form = await request.post()
    offered = form.get("csrf")
    session: Session = request[SESSION]
    if (
        request.get(NEW_TOKEN)
        or not isinstance(offered, str)
        or not hmac.compare_digest(offered.encode(), session.csrf.encode())
    ):
        log.warning("refused a POST to %s without its form token", request.path)
        return page(request, "refused.html", {"why": "csrf"}, status=403)
    return await handler(request)


@web.middleware
async def errors_as_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return page(request, "refused.html", {"why": "not_found"}, status=404)
    except web.HTTPServiceUnavailable:
        return page(request, "busy.html", {}, status=503)


# --- what pages share ------------------------------------------------------------------


def page(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    session: Session | None = request.get(SESSION)
    base = {
        "csrf": session.csrf if session else "",
        "signed_in": bool(session and session.account_id),
        "staff_signed_in": bool(session and session.staff_id),
        "lang": i18n.language(),
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(template, request, {**base, **context})
    response.set_status(status)
    return response


def account(request: web.Request) -> str:
    session: Session = request[SESSION]
    if not session.account_id:
        raise web.HTTPSeeOther("/masuk")
    return session.account_id


async def staff(request: web.Request) -> StaffMember:
    """The signed-in staff member (PKH companion, village staff, Dinsos officer): what every
    staff page asks first. A citizen's session, or none, is sent to the staff sign-in; a
    member disabled since signing in is signed out."""
    session: Session = request[SESSION]
    if not session.staff_id:
        raise web.HTTPSeeOther("/petugas/masuk")
    portal = request.app[PORTAL]
    member = await portal.store.run(portal.store.staff_member, session.staff_id)
    if member is None or not member.active:
        await portal.store.run(portal.signin.end, session)
        raise web.HTTPSeeOther("/petugas/masuk")
    return member


async def own_application(request: web.Request) -> Application:
    account_id = account(request)
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


async def form_value(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name)
    return value if isinstance(value, str) else ""


def now() -> int:
    return int(time.time())


# What the SMS says, per inbox message: that there is news, never the news itself (a phone
# is often shared in the family, and an SMS is not private).
_SMS = {
    "decided": "Portal Perlinsos: permohonan bansos Anda sudah diputuskan."
    " Buka Portal Perlinsos untuk melihat hasilnya.",
    "ground_check": "Portal Perlinsos: petugas desa atau pendamping PKH akan datang ke rumah"
    " Anda untuk memeriksa permohonan bansos Anda.",
    "case_closed": "Portal Perlinsos: ada kabar tentang permohonan bansos Anda."
    " Buka Portal Perlinsos untuk melihatnya.",
    "data_read": "Portal Perlinsos: ada kabar baru tentang data Anda."
    " Buka Portal Perlinsos untuk melihatnya.",
}


async def tell(portal: Portal, application: Application, kind: str) -> None:
    """Put a message in the citizen's inbox, and an SMS saying there is news."""
    await tell_account(portal, application.account_id, kind, application.id)


async def tell_account(
    portal: Portal, account_id: str, kind: str, application_id: str = "", *, sms: bool = True
) -> None:
    """Put a message in ``account_id``'s inbox and, if ``sms``, an SMS saying there is news."""
    message = InboxMessage(opaque_id(), account_id, now(), kind, application_id)
    await portal.store.run(portal.store.add_message, message)
    if sms and kind in _SMS:
        await portal.store.run(_text_citizen, portal, account_id, _SMS[kind])


def _text_citizen(portal: Portal, account_id: str, body: str) -> None:
    card = portal.registry.family_card(portal.signin.nik_of(account_id))
    if card is not None:
        portal.store.send_sms(Sms(opaque_id(), time.time_ns(), card.phone, body))
