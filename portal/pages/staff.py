"""The staff's pages: signing in with a login id and a code sent to the phone the operator
registered (``/petugas/masuk``), and the staff member's own page (``/petugas/tugas``)."""

from __future__ import annotations

from aiohttp import web

from portal.pages.base import NEW_TOKEN, PORTAL, SESSION, form_value, log, page, staff
from portal.pages.signin import code_minutes
from portal.signin import CodeCheck, SendCode
from portal.staff import check_staff_code, send_staff_code

HOME = "/petugas/tugas"


async def login_form(request: web.Request) -> web.Response:
    if request[SESSION].staff_id:
        raise web.HTTPSeeOther(HOME)
    return page(request, "staff_signin.html", {"error": ""})


async def login_posted(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    login = await form_value(request, "login")
    outcome = await portal.store.run(
        send_staff_code, portal.signin, portal.store, request[SESSION], login
    )
    if outcome is SendCode.INVALID:
        return page(request, "staff_signin.html", {"error": "invalid"}, status=400)
    if outcome is SendCode.THROTTLED:
        log.info("staff sign-in code refused: too many codes for one login")
        return page(request, "staff_signin.html", {"error": "throttled"}, status=429)
    log.info("staff sign-in code requested")
    raise web.HTTPSeeOther("/petugas/masuk/kode")


async def code_form(request: web.Request) -> web.Response:
    if not request[SESSION].challenge_id:
        raise web.HTTPSeeOther("/petugas/masuk")
    return page(request, "staff_code.html", {"error": "", **code_minutes(request)})


async def code_posted(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    code = await form_value(request, "code")
    check, signed_in = await portal.store.run(
        check_staff_code, portal.signin, portal.store, request[SESSION], code
    )
    if check is CodeCheck.OK and signed_in is not None:
        log.info("staff signed in: %s", signed_in.session.staff_id)
        request[NEW_TOKEN] = signed_in.token
        raise web.HTTPSeeOther(HOME)
    log.info("staff sign-in code refused: %s", check.value)
    status = 400 if check is CodeCheck.WRONG else 429 if check is CodeCheck.LOCKED else 410
    context = {"error": check.value, **code_minutes(request)}
    return page(request, "staff_code.html", context, status=status)


async def home_page(request: web.Request) -> web.Response:
    member = await staff(request)
    return page(request, "staff_home.html", {"member": member})


ROUTES = [
    web.get("/petugas/masuk", login_form),
    web.post("/petugas/masuk", login_posted),
    web.get("/petugas/masuk/kode", code_form),
    web.post("/petugas/masuk/kode", code_posted),
    web.get(HOME, home_page),
]
