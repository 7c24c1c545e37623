"""The staff's pages: signing in with a login id and a code sent to the phone the operator
registered (``/petugas/masuk``); the queue of ground checks of their village
(``/petugas/tugas``); a task (``/petugas/tugas/ID``): taking it, the visit form, and
signing the outcome with a fresh code to the officer's phone (``…/konfirmasi``).

A staff member sees only the cases of their own village (another village's is a case that
does not exist: 404); a Dinsos officer sees every village's queue with its counts and takes
no task; a task taken by one officer is theirs alone to fill and sign."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from portal import cases, ground, i18n
from portal.cases import ASSIGNED, CLOSED, OPEN, VISITED
from portal.pages.applications import DECIDED
from portal.pages.base import (
    NEW_TOKEN,
    PORTAL,
    SESSION,
    Portal,
    form_value,
    log,
    now,
    page,
    staff,
    tell,
)
from portal.pages.cases import history_view, intact
from portal.pages.signin import code_minutes
from portal.signin import CodeCheck, SendCode
from portal.staff import (
    ALL_VILLAGES,
    VILLAGES,
    check_staff_code,
    may_see,
    pending_confirmation,
    redeem_confirmation,
    send_confirmation,
    send_staff_code,
)
from portal.store import Case, StaffMember

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


# --- the queue ---------------------------------------------------------------------


def _household(portal: Portal, case: Case) -> dict[str, Any]:
    """The household the case concerns, as its family card was shown (names, no NIK)."""
    application = portal.store.application(case.application_id, case.account_id)
    if application is None:
        return {"village": case.village, "members": []}
    household: dict[str, Any] = json.loads(application.household)
    return household


def _head(household: dict[str, Any]) -> str:
    heads = [m["name"] for m in household.get("members", []) if m["relationship"] == "head"]
    return heads[0] if heads else ""


def _age(seconds: int) -> str:
    minutes = max(0, seconds) // 60
    if minutes == 0:
        return i18n.gettext("just now")
    if minutes < 60:
        return i18n.ngettext("%(num)d minute ago", "%(num)d minutes ago", minutes)
    if minutes < 48 * 60:
        return i18n.ngettext("%(num)d hour ago", "%(num)d hours ago", minutes // 60)
    return i18n.ngettext("%(num)d day ago", "%(num)d days ago", minutes // 1440)


def _queue(portal: Portal, member: StaffMember, newest_first: bool) -> dict[str, Any]:
    villages = list(VILLAGES) if member.village == ALL_VILLAGES else [member.village]
    moment = int(time.time())
    per_village = []
    for village in villages:
        found = portal.store.cases(village)
        counts = {status: 0 for status in cases.STATUSES}
        for case in found:
            counts[case.status] = counts.get(case.status, 0) + 1
        waiting = [c for c in found if c.status != CLOSED]
        waiting.sort(key=lambda c: (c.created_at, c.id), reverse=newest_first)
        per_village.append(
            {
                "village": village,
                "counts": counts,
                "tasks": [
                    {
                        "case": c,
                        "head": _head(_household(portal, c)),
                        "age": _age(moment - c.created_at),
                        "mine": c.assigned_to == member.id,
                    }
                    for c in waiting
                ],
            }
        )
    return {"villages": per_village}


async def tasks_page(request: web.Request) -> web.Response:
    member = await staff(request)
    portal = request.app[PORTAL]
    newest_first = request.query.get("urut") == "baru"
    queue = await portal.store.run(_queue, portal, member, newest_first)
    context = {"member": member, "newest_first": newest_first, **queue}
    return page(request, "staff_tasks.html", context)


# --- a task -------------------------------------------------------------------------


async def _visible_case(request: web.Request, member: StaffMember) -> Case:
    portal = request.app[PORTAL]
    case = await portal.store.run(portal.store.case, request.match_info["case"])
    if case is None or not may_see(member, case.village):
        # Another village's case, a guessed id: all the same, nothing here.
        log.warning("staff %s: no such case in their village", member.id)
        raise web.HTTPNotFound(text="not found")
    return case


def _criteria(portal: Portal) -> list[ground.Criterion]:
    return ground.criteria_checked(portal.desk.formula.criteria)


async def _task(
    request: web.Request,
    member: StaffMember,
    case: Case,
    *,
    error: str = "",
    problems: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    portal = request.app[PORTAL]
    entries = await portal.store.run(portal.store.case_entries, case.id)
    household = await portal.store.run(_household, portal, case)
    context = {
        "member": member,
        "case": case,
        "household": household,
        "head": _head(household),
        "history": history_view(entries),
        "intact": await intact(portal, case, entries),
        "criteria": _criteria(portal),
        "error": error,
        "problems": problems or {},
        "form": form or {},
        "today": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600)),
        "may_take": case.status == OPEN and member.role != "dinsos",
        "mine": case.status == ASSIGNED and case.assigned_to == member.id,
    }
    return page(request, "staff_task.html", context, status=status)


async def task_page(request: web.Request) -> web.Response:
    member = await staff(request)
    return await _task(request, member, await _visible_case(request, member))


async def take_posted(request: web.Request) -> web.Response:
    member = await staff(request)
    case = await _visible_case(request, member)
    portal = request.app[PORTAL]
    if member.role == "dinsos":
        log.warning("staff %s: a dinsos officer takes no task", member.id)
        return await _task(request, member, case, error="dinsos", status=403)
    taken = await portal.store.run(
        lambda: cases.append(
            portal.store,
            portal.keys.case_key,
            case.id,
            actor=member.id,
            action="taken",
            details={"role": member.role},
            was_status=[OPEN],
            status=ASSIGNED,
            assigned_to=member.id,
        )
    )
    if taken is None:
        log.info("case %s: already taken, not by %s", case.id, member.id)
        fresh = await portal.store.run(portal.store.case, case.id)
        return await _task(request, member, fresh or case, error="taken", status=409)
    log.info("case %s: taken by %s", case.id, member.id)
    raise web.HTTPSeeOther(f"/petugas/tugas/{case.id}")


def _own_task(member: StaffMember, case: Case) -> bool:
    return case.status == ASSIGNED and case.assigned_to == member.id


async def visit_posted(request: web.Request) -> web.Response:
    member = await staff(request)
    case = await _visible_case(request, member)
    portal = request.app[PORTAL]
    if not _own_task(member, case):
        log.warning("case %s: a visit posted by %s, whose task it is not", case.id, member.id)
        return await _task(request, member, case, error="not_yours", status=403)
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str) and k != "csrf"}
    visit, problems = ground.parse_visit(form, _criteria(portal), case.created_at)
    if visit is None:
        return await _task(request, member, case, problems=problems, form=form, status=400)
    what = {"case_id": case.id, "visit": visit.details(), "outcome": visit.outcome}
    sent = await portal.store.run(send_confirmation, portal.signin, request[SESSION], member, what)
    if sent is SendCode.THROTTLED:
        return await _task(request, member, case, error="throttled", form=form, status=429)
    log.info("case %s: visit filled by %s, confirmation code sent", case.id, member.id)
    raise web.HTTPSeeOther(f"/petugas/tugas/{case.id}/konfirmasi")


async def _confirm_page(
    request: web.Request, member: StaffMember, case: Case, error: str = "", status: int = 200
) -> web.Response:
    portal = request.app[PORTAL]
    what = await portal.store.run(pending_confirmation, portal.signin, request[SESSION], member)
    summary = None
    if what is not None and what.get("case_id") == case.id:
        criteria = {c.code: c.text for c in _criteria(portal)}
        visit = what["visit"]
        summary = {
            "outcome": what["outcome"],
            "met": visit["met"],
            "day": i18n.date(visit["visited_on"]),
            "checks": [
                {**check, "text": criteria.get(check["criterion"], check["criterion"])}
                for check in visit["checks"]
            ],
        }
    context = {"case": case, "error": error, "summary": summary, **code_minutes(request)}
    return page(request, "staff_confirm.html", context, status=status)


async def confirm_form(request: web.Request) -> web.Response:
    member = await staff(request)
    case = await _visible_case(request, member)
    if not _own_task(member, case) or not request[SESSION].challenge_id:
        raise web.HTTPSeeOther(f"/petugas/tugas/{case.id}")
    return await _confirm_page(request, member, case)


async def confirm_posted(request: web.Request) -> web.Response:
    member = await staff(request)
    case = await _visible_case(request, member)
    portal = request.app[PORTAL]
    if not _own_task(member, case):
        log.warning("case %s: a confirmation by %s, whose task it is not", case.id, member.id)
        return await _task(request, member, case, error="not_yours", status=403)
    code = await form_value(request, "code")
    check, what = await portal.store.run(
        redeem_confirmation, portal.signin, request[SESSION], member, code
    )
    if check is CodeCheck.OK and what.get("case_id") != case.id:
        check = CodeCheck.EXPIRED  # a code sent for another task signs nothing here
    if check is not CodeCheck.OK:
        log.info("case %s: confirmation code refused: %s", case.id, check.value)
        status = 400 if check is CodeCheck.WRONG else 429 if check is CodeCheck.LOCKED else 410
        return await _confirm_page(request, member, case, check.value, status)
    closed = await portal.store.run(_close, portal, member, case, what)
    if not closed:
        return await _task(request, member, case, error="not_yours", status=409)
    application = await portal.store.run(
        portal.store.application, case.application_id, case.account_id
    )
    if application is not None:
        await tell(portal, application, "case_closed")
    log.info("case %s: closed by %s (%s)", case.id, member.id, what["outcome"])
    raise web.HTTPSeeOther(f"/petugas/tugas/{case.id}")


def _close(portal: Portal, member: StaffMember, case: Case, what: dict[str, Any]) -> bool:
    """The visit and the signed outcome, each an entry of the history; then the
    application's decision revised. False if the task was no longer this officer's."""
    key, store = portal.keys.case_key, portal.store
    visited = cases.append(
        store,
        key,
        case.id,
        actor=member.id,
        action="visited",
        details={"role": member.role, **what["visit"]},
        was_status=[ASSIGNED],
        status=VISITED,
    )
    if visited is None:
        return False
    outcome = what["outcome"]
    closed = cases.append(
        store,
        key,
        case.id,
        actor=member.id,
        action="closed",
        details={
            "role": member.role,
            "outcome": outcome,
            "signed_by": member.id,
            "signed_with": "sms_code",
        },
        was_status=[VISITED],
        status=CLOSED,
        outcome=outcome,
    )
    if closed is None:
        return False
    application = store.application(case.application_id, case.account_id)
    if application is not None:
        sealed = application.decision_sealed
        decision = json.loads(portal.keys.open(sealed)) if sealed else None
        revised = ground.revise(
            decision,
            outcome=outcome,
            role=member.role,
            case_id=case.id,
            formula_version=portal.desk.formula.version,
            at=closed.at,
        )
        store.move_application(
            application.id,
            was=application.status,
            status=DECIDED,
            now=now(),
            decision_sealed=portal.keys.seal(json.dumps(revised).encode()),
        )
    return True


ROUTES = [
    web.get("/petugas/masuk", login_form),
    web.post("/petugas/masuk", login_posted),
    web.get("/petugas/masuk/kode", code_form),
    web.post("/petugas/masuk/kode", code_posted),
    web.get(HOME, tasks_page),
    web.get("/petugas/tugas/{case}", task_page),
    web.post("/petugas/tugas/{case}/ambil", take_posted),
    web.post("/petugas/tugas/{case}/kunjungan", visit_posted),
    web.get("/petugas/tugas/{case}/konfirmasi", confirm_form),
    web.post("/petugas/tugas/{case}/konfirmasi", confirm_posted),
]
