"""The welcome page and signing in: NIK, one-time code, signing out; the language."""

from __future__ import annotations

from aiohttp import web

from portal import i18n
from portal.pages.base import (
    LANGUAGE_COOKIE,
    NEW_TOKEN,
    PORTAL,
    SESSION,
    form_value,
    log,
    page,
)
from portal.signin import CodeCheck, SendCode


async def start_page(request: web.Request) -> web.Response:
    if request[SESSION].account_id:
        raise web.HTTPSeeOther("/beranda")
    if request[SESSION].staff_id:
        raise web.HTTPSeeOther("/petugas/tugas")
    return page(request, "start.html", {})


async def nik_form(request: web.Request) -> web.Response:
    return page(request, "signin_nik.html", {"error": ""})


async def nik_posted(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    nik = "".join((await form_value(request, "nik")).split())
    outcome = await portal.store.run(portal.signin.send_code, request[SESSION], nik)
    if outcome is SendCode.INVALID:
        return page(request, "signin_nik.html", {"error": "invalid"}, status=400)
    if outcome is SendCode.THROTTLED:
        log.info("sign-in code refused: too many codes for one NIK")
        return page(request, "signin_nik.html", {"error": "throttled"}, status=429)
    log.info("sign-in code requested")
    raise web.HTTPSeeOther("/masuk/kode")


async def code_form(request: web.Request) -> web.Response:
    if not request[SESSION].challenge_id:
        raise web.HTTPSeeOther("/masuk")
    return page(request, "signin_code.html", {"error": "", **code_minutes(request)})


async def code_posted(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    code = await form_value(request, "code")
    check, signed_in = await portal.store.run(portal.signin.check_code, request[SESSION], code)
    if check is CodeCheck.OK and signed_in is not None:
        log.info("citizen signed in: account %s", signed_in.session.account_id)
        request[NEW_TOKEN] = signed_in.token
        raise web.HTTPSeeOther("/beranda")
    log.info("sign-in code refused: %s", check.value)
    status = 400 if check is CodeCheck.WRONG else 429 if check is CodeCheck.LOCKED else 410
    context = {"error": check.value, **code_minutes(request)}
    return page(request, "signin_code.html", context, status=status)


async def sign_out(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    await portal.store.run(portal.signin.end, request[SESSION])
    fresh = await portal.store.run(portal.signin.new_session)
    request[NEW_TOKEN] = fresh.token
    raise web.HTTPSeeOther("/")


async def set_language(request: web.Request) -> web.Response:
    chosen = await form_value(request, "lang")
    back = await form_value(request, "back")
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


def code_minutes(request: web.Request) -> dict[str, int]:
    return {"code_minutes": max(1, request.app[PORTAL].signin.policy.code_ttl_s // 60)}


ROUTES = [
    web.get("/", start_page),
    web.get("/masuk", nik_form),
    web.post("/masuk", nik_posted),
    web.get("/masuk/kode", code_form),
    web.post("/masuk/kode", code_posted),
    web.post("/keluar", sign_out),
    web.post("/bahasa", set_language),
]
