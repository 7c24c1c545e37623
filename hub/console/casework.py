"""The investigation pages that act on the log or keep an officer's work: break-glass review
(the list by review state, the review form on a break-glass record's page), the officers'
trail, exports of a result set or a case (CSV, and JSON Lines with inclusion proofs), and
case files.

Kept apart from ``hub.console.app`` (login, search, records, integrity), which calls
``setup`` to add these routes and ``record_extras`` for what a record's page shows of them.
Every change is a POST (checked same-origin by the app's middleware), answered with a
redirect to a GET page (so Back and reload never resubmit it); what went wrong travels in
that redirect as a short code, never as the officer's text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from babel.dates import format_timedelta

from hub.console import render
from hub.console.cases import CaseFiles, CaseProblem, cases_file
from hub.console.exports import (
    FORMATS,
    Export,
    ExportRefused,
    csv_export,
    jsonl_export,
    record_entries,
    search_entries,
)
from hub.console.reader import LogReader
from hub.console.reviews import cases as break_glass_cases
from hub.console.reviews import review, review_problem, reviewer
from hub.console.searches import (
    BREAK_GLASS,
    N_,
    REFUSALS,
    SEARCH,
    BadSearch,
    SearchTokens,
    parse,
)
from hub.console.trail import OfficerTrail
from hub.home import HubHome
from jembatan.audit.record import (
    ESCALATED,
    EXPORT,
    JUSTIFIED,
    LOCKOUT,
    LOGIN,
    LOGIN_FAILED,
    LOGOUT,
    OFFICER_EVENTS,
    REVIEW_KIND,
    REVIEW_OUTCOMES,
    UNJUSTIFIED,
)
from jembatan.client import HubCallFailed, QueryRefused
from jembatan.v1 import audit_pb2

log = logging.getLogger(__name__)

CASES = web.AppKey("cases", CaseFiles)
_READER = web.AppKey("casework-reader", LogReader)
_TRAIL = web.AppKey("casework-trail", OfficerTrail)
_TOKENS = web.AppKey("casework-tokens", SearchTokens)

UNREVIEWED = "unreviewed"
REVIEW_STATES = (UNREVIEWED, ESCALATED, JUSTIFIED, UNJUSTIFIED)
# The list's order: what needs a reviewer first.
_RANK = {UNREVIEWED: 0, ESCALATED: 1}
_PAGE = 50
# Break-glass records are few (each needed a second person's approval): the list reads them
# all to order them, up to this many.
_MAX_CASES = 5000
STATE_LABELS = {
    UNREVIEWED: N_("Not reviewed"),
    ESCALATED: N_("Escalated"),
    JUSTIFIED: N_("Justified"),
    UNJUSTIFIED: N_("Unjustified"),
}
OUTCOME_HELP = {
    JUSTIFIED: N_("The justification explains this query and the approval is sound."),
    UNJUSTIFIED: N_("The query was not warranted, or the approval does not hold up."),
    ESCALATED: N_("Needs someone with more authority: the record stays open for them."),
}
EVENT_LABELS = {
    LOGIN: N_("Logged in"),
    LOGIN_FAILED: N_("Failed login"),
    LOGOUT: N_("Logged out"),
    LOCKOUT: N_("Locked out"),
    EXPORT: N_("Export"),
}
# What a refused review or case change says, by the short code the redirect carries.
PROBLEMS = {
    "outcome": N_("Choose one of the three outcomes."),
    "note": N_("The note must be 1 to 1000 printable characters and hold no NIK."),
    "decided": N_(
        "This record already has a final review (justified or unjustified): it cannot be"
        " reviewed again. A wrong verdict is corrected by a finding outside the log."
    ),
    "not-break-glass": N_("That record is not a break-glass exchange."),
    "malformed": N_("The hub refused the review as malformed: check the outcome and the note."),
    "refused": N_("The hub refused the review."),
    "no-answer": N_("The hub did not answer: nothing was recorded. Try again."),
    "case": N_("Choose a case to pin the record to."),
    "case-name": N_("A case name is 1 to 100 printable characters and holds no NIK."),
    "case-exists": N_("A case with that name already exists."),
    "no-case": N_("There is no such case."),
    "case-note": N_("A note is 1 to 1000 printable characters and holds no NIK."),
}
_CASE_PROBLEMS = {
    "A case name is 1 to 100 printable characters and holds no NIK.": "case-name",
    "A case with that name already exists.": "case-exists",
    "There is no such case.": "no-case",
    "A note is 1 to 1000 printable characters and holds no NIK.": "case-note",
}
_EXPORT_VIEWS = {view.path: view for view in (SEARCH, REFUSALS, BREAK_GLASS)}
_UNRECORDED = N_("The hub cannot record this export right now, so nothing is exported.")


def setup(
    app: web.Application,
    home: HubHome,
    reader: LogReader,
    trail: OfficerTrail,
    tokens: SearchTokens,
) -> None:
    """Add the break-glass, trail, export and case pages to the console ``app``."""
    app[CASES] = CaseFiles(cases_file(home))
    app[_READER] = reader
    app[_TRAIL] = trail
    app[_TOKENS] = tokens
    app.router.add_get(BREAK_GLASS.path, break_glass_page)
    app.router.add_post(r"/record/{index:\d{1,19}}/review", review_post)
    app.router.add_post(r"/record/{index:\d{1,19}}/pin", pin_post)
    app.router.add_get("/trail", trail_page)
    app.router.add_post("/export", export_post)
    app.router.add_get("/cases", cases_page)
    app.router.add_post("/cases", case_create)
    app.router.add_get(r"/cases/{case:\d{1,9}}", case_page)
    app.router.add_post(r"/cases/{case:\d{1,9}}/notes", case_note)
    app.router.add_post(r"/cases/{case:\d{1,9}}/unpin", case_unpin)
    app.router.add_post(r"/cases/{case:\d{1,9}}/export", case_export)


def _officer(request: web.Request) -> str:
    officer = request.get(render.OFFICER)
    if not isinstance(officer, str):  # the app's middleware lets no one here without it
        raise web.HTTPSeeOther("/login")
    return officer


def waited(seconds: float, language: str) -> str:
    """How long, in words an officer reads ("3 hari", "5 hours")."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=language)


def _error(request: web.Request, message: str, detail: str, status: int) -> web.Response:
    context = {"record": None, "message": message, "detail": detail, "title": N_("Not done")}
    return render.render(request, "error.html", context, status)


# --- break-glass review ------------------------------------------------------------------


async def break_glass_page(request: web.Request) -> web.Response:
    """Every break-glass record with its review state: those not reviewed first, then the
    escalated, then the closed; oldest first within each."""
    officer = _officer(request)
    state = request.query.get("state", "")
    if state not in ("", *REVIEW_STATES):
        state = ""
    page = _number(request.query.get("page"), 1)
    reader = request.app[_READER]
    found: list[audit_pb2.BreakGlassCase] = []
    after: int | None = None
    try:
        while len(found) < _MAX_CASES:
            listed = await break_glass_cases(
                reader, officer, state=state, after_index=after, limit=500
            )
            found.extend(listed.cases)
            if not listed.more or not listed.cases:
                break
            after = listed.cases[-1].entry.index
    except QueryRefused as exc:
        return _error(request, N_("The hub refused."), exc.message, 502)
    except HubCallFailed as exc:
        return _error(request, N_("The hub did not answer."), str(exc), 502)
    found.sort(key=lambda case: (_RANK.get(case.state, 2), case.entry.index))
    language = render.language_of(request)
    rows = []
    for case in found[(page - 1) * _PAGE : page * _PAGE]:
        rows.append(
            {
                "index": case.entry.index,
                "record": render.fields(case.entry.record_json),
                "state": case.state,
                "waited": waited(case.waiting_s, language)
                if case.state in (UNREVIEWED, ESCALATED)
                else "",
                "reviewer": reviewer(case),
                "review_index": case.review.index if case.HasField("review") else None,
            }
        )
    pages = max(1, -(-len(found) // _PAGE))
    counts = {s: sum(1 for case in found if case.state == s) for s in REVIEW_STATES}
    context = {
        "rows": rows,
        "state": state,
        "states": REVIEW_STATES,
        "state_labels": STATE_LABELS,
        "counts": counts,
        "total": len(found),
        "page": page,
        "newer": _page_url(state, page - 1) if page > 1 else None,
        "older": _page_url(state, page + 1) if page < pages else None,
    }
    return render.render(request, "break_glass.html", context)


def _page_url(state: str, page: int) -> str:
    params = {name: value for name, value in (("state", state), ("page", str(page))) if value}
    return f"{BREAK_GLASS.path}?{urlencode(params)}"


def _number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and 0 < int(value) < 10**6 else default


async def record_extras(
    request: web.Request, index: int, record: Mapping[str, Any]
) -> dict[str, object]:
    """What a record's page shows beyond the record: its reviews and the review form (for a
    break-glass record), the outcome of what the officer just did, and the pin form."""
    extras: dict[str, object] = {
        "reviews": [],
        "review_open": False,
        "outcomes": REVIEW_OUTCOMES,
        "outcome_help": OUTCOME_HELP,
        "state_labels": STATE_LABELS,
        "problem": PROBLEMS.get(request.query.get("problem", "")),
        "pin_problem": PROBLEMS.get(request.query.get("pin_problem", "")),
        "review_labels": STATE_LABELS,
        "event_labels": EVENT_LABELS,
        "reviewed": _number(request.query.get("reviewed"), 0) or None,
        "pinned": None,
        "cases": request.app[CASES].all(),
    }
    pinned = _number(request.query.get("pinned"), 0)
    if pinned:
        extras["pinned"] = request.app[CASES].get(pinned)
    if record.get("break_glass") is True:
        query = audit_pb2.SearchRequest(kind=REVIEW_KIND, reviewed_index=index, limit=100)
        try:
            found = await request.app[_READER].search(query, _officer(request))
        except (QueryRefused, HubCallFailed) as exc:
            extras["reviews_failure"] = str(exc)
            return extras
        reviews = []
        for entry in found.entries:
            fields = render.fields(entry.record_json)
            done = fields.get("review")
            if isinstance(done, dict):
                reviews.append(
                    {
                        "index": entry.index,
                        "time": fields.get("time", ""),
                        "outcome": done.get("outcome", ""),
                        "note": done.get("note", ""),
                        "officer": fields.get("on_behalf_of") or fields.get("client_id", ""),
                    }
                )
        extras["reviews"] = reviews
        final = {JUSTIFIED, UNJUSTIFIED}
        extras["review_open"] = not any(r["outcome"] in final for r in reviews)
    return extras


async def review_post(request: web.Request) -> web.Response:
    officer = _officer(request)
    index = int(request.match_info["index"])
    form = await request.post()
    outcome = form.get("outcome")
    outcome = outcome if isinstance(outcome, str) else ""
    note = form.get("note")
    # The hub keeps one line: a note typed over several lines is joined with spaces.
    note = " ".join(note.strip().splitlines()) if isinstance(note, str) else ""
    back = f"/record/{index}"
    problem = review_problem(outcome, note)
    if problem:
        code = "outcome" if outcome not in REVIEW_OUTCOMES else "note"
        raise web.HTTPSeeOther(f"{back}?problem={code}#review")
    try:
        done = await review(request.app[_READER], officer, index, outcome, note)
    except QueryRefused as exc:
        code = {
            "ALREADY_DECIDED": "decided",
            "UNKNOWN_TARGET": "not-break-glass",
            "MALFORMED_REQUEST": "malformed",
        }.get(exc.reason, "refused")
        log.info("officer %s's review of record %d refused: %s", officer, index, exc.reason)
        raise web.HTTPSeeOther(f"{back}?problem={code}#review") from None
    except HubCallFailed:
        raise web.HTTPSeeOther(f"{back}?problem=no-answer#review") from None
    log.info("officer %s reviewed record %d: %s (record %d)", officer, index, outcome, done.index)
    raise web.HTTPSeeOther(f"{back}?reviewed={done.index}#review")


# --- the officers' trail -------------------------------------------------------------------


async def trail_page(request: web.Request) -> web.Response:
    """Logins, failed logins, logouts, lockouts and exports, newest first, by officer and
    event, 50 a page."""
    officer = _officer(request)
    who = request.query.get("officer", "").strip()[:64]
    event = request.query.get("event", "")
    if event not in OFFICER_EVENTS:
        event = ""
    before = _number(request.query.get("before"), 0) or None
    after = _number(request.query.get("after"), 0) or None
    context: dict[str, object] = {
        "who": who,
        "event": event,
        "events": OFFICER_EVENTS,
        "event_labels": EVENT_LABELS,
        "rows": [],
        "error": None,
        "newer": None,
        "older": None,
    }
    try:
        found = await request.app[_TRAIL].events(
            officer,
            officer=who,
            event=event,
            newest_first=after is None,
            before_index=before,
            after_index=after,
        )
    except QueryRefused as exc:
        context["error"] = exc.message
        return render.render(request, "trail.html", context, 400)
    except HubCallFailed as exc:
        context["error"] = str(exc)
        return render.render(request, "trail.html", context, 502)
    entries = list(found.entries)
    if after is not None:
        entries.reverse()
    rows = []
    for entry in entries:
        fields = render.fields(entry.record_json)
        happened = fields.get("officer_event")
        happened = happened if isinstance(happened, dict) else {}
        rows.append({"index": entry.index, "time": fields.get("time", ""), **happened})
    context["rows"] = rows

    def url(**page: int) -> str:
        params = {k: v for k, v in (("officer", who), ("event", event)) if v}
        params.update({k: str(v) for k, v in page.items()})
        return "/trail?" + urlencode(params)

    if rows:
        first, last = rows[0]["index"], rows[-1]["index"]
        if before is not None or (after is not None and found.more):
            context["newer"] = url(after=int(str(first)))
        if after is not None or found.more:
            context["older"] = url(before=int(str(last)))
    return render.render(request, "trail.html", context)


# --- exports -------------------------------------------------------------------------------


async def export_post(request: web.Request) -> web.StreamResponse:
    """A search's results (the search the page showed, from its query string) as a file."""
    officer = _officer(request)
    form = await request.post()
    fmt, view_path, query = (
        str(form.get("format", "")),
        str(form.get("view", "")),
        str(form.get("query", "")),
    )
    view = _EXPORT_VIEWS.get(view_path)
    if fmt not in FORMATS or view is None:
        raise web.HTTPBadRequest(text="unknown export")
    try:
        search = parse(dict(parse_qsl(query)))
    except BadSearch as exc:
        return _error(request, str(exc), "", 400)
    nik = None
    if search.token:
        nik = request.app[_TOKENS].nik(search.token, officer)
        if nik is None:
            return _error(request, N_("This NIK search has expired: type the NIK again."), "", 410)
    # The filters' names, never their values (one of them may be a NIK).
    used = sorted(search.filters) + (["subject (NIK)"] if nik else [])
    description = f"{view.path.lstrip('/')} by {', '.join(used) or 'nothing'}"
    reader = request.app[_READER]
    try:
        entries = await search_entries(reader, officer, search.query(nik, view))
    except ExportRefused as exc:
        return _error(request, str(exc), exc.detail, 413)
    except QueryRefused as exc:
        return _error(request, N_("The hub refused the search."), exc.message, 502)
    except HubCallFailed as exc:
        return _error(request, N_("The hub did not answer."), str(exc), 502)
    name = f"jembatan-{view.path.lstrip('/')}-{_stamp()}"
    return await _send(request, officer, fmt, entries, name, description)


async def _send(
    request: web.Request,
    officer: str,
    fmt: str,
    entries: list[audit_pb2.AuditEntry],
    name: str,
    description: str,
) -> web.StreamResponse:
    """Make the export, record it in the officers' trail, and only then send it."""
    reader = request.app[_READER]
    try:
        made: Export = (
            csv_export(entries, name)
            if fmt == "csv"
            else await jsonl_export(reader, officer, entries, name, description)
        )
    except ExportRefused as exc:
        return _error(request, str(exc), exc.detail, 502)
    except QueryRefused as exc:
        return _error(request, N_("The hub refused."), exc.message, 502)
    except HubCallFailed as exc:
        return _error(request, N_("The hub did not answer."), str(exc), 502)
    what = f"{fmt} of {made.records} records: {description}"
    if not await request.app[_TRAIL].export(officer, request.remote or "", what):
        return _error(request, _UNRECORDED, "", 503)
    log.info("officer %s exported %s", officer, what)
    return web.Response(
        body=made.body,
        headers={
            "Content-Type": f"{made.content_type}; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{made.filename}"',
        },
    )


def _stamp() -> str:
    return datetime.now(UTC).astimezone(render.WIB).strftime("%Y%m%d-%H%M%S")


# --- case files ----------------------------------------------------------------------------


async def cases_page(request: web.Request) -> web.Response:
    _officer(request)
    context = {
        "cases": request.app[CASES].all(),
        "problem": PROBLEMS.get(request.query.get("problem", "")),
        "when": _iso,
    }
    return render.render(request, "cases.html", context)


async def case_create(request: web.Request) -> web.Response:
    officer = _officer(request)
    form = await request.post()
    try:
        case_id = request.app[CASES].create(
            str(form.get("name", "")), officer, str(form.get("note", ""))
        )
    except CaseProblem as exc:
        code = _CASE_PROBLEMS.get(str(exc), "no-case")
        raise web.HTTPSeeOther(f"/cases?problem={code}") from None
    log.info("officer %s opened case %d", officer, case_id)
    raise web.HTTPSeeOther(f"/cases/{case_id}")


async def case_page(request: web.Request) -> web.Response:
    _officer(request)
    files = request.app[CASES]
    case_id = int(request.match_info["case"])
    case = files.get(case_id)
    if case is None:
        return _error(request, PROBLEMS["no-case"], "", 404)
    context = {
        "case": case,
        "notes": files.notes(case_id),
        "pins": files.pins(case_id),
        "problem": PROBLEMS.get(request.query.get("problem", "")),
        "when": _iso,
    }
    return render.render(request, "case.html", context)


def _iso(moment: float) -> str:
    """A stored time (seconds since the epoch) as the RFC 3339 the ``wib`` filter reads."""
    return datetime.fromtimestamp(moment, UTC).isoformat()


async def case_note(request: web.Request) -> web.Response:
    officer = _officer(request)
    case_id = int(request.match_info["case"])
    form = await request.post()
    try:
        request.app[CASES].add_note(case_id, officer, str(form.get("note", "")))
    except CaseProblem as exc:
        code = _CASE_PROBLEMS.get(str(exc), "no-case")
        raise web.HTTPSeeOther(f"/cases/{case_id}?problem={code}#notes") from None
    raise web.HTTPSeeOther(f"/cases/{case_id}#notes")


async def case_unpin(request: web.Request) -> web.Response:
    _officer(request)
    case_id = int(request.match_info["case"])
    form = await request.post()
    index = str(form.get("index", ""))
    if index.isdigit():
        request.app[CASES].unpin(case_id, int(index))
    raise web.HTTPSeeOther(f"/cases/{case_id}#records")


async def pin_post(request: web.Request) -> web.Response:
    """Pin the record to a case: its summary is taken from the hub's copy, not the form."""
    officer = _officer(request)
    index = int(request.match_info["index"])
    form = await request.post()
    case = str(form.get("case", ""))
    back = f"/record/{index}"
    if not case.isdigit():
        raise web.HTTPSeeOther(f"{back}?pin_problem=case#pin")
    try:
        entry = await request.app[_READER].record(index, officer)
    except (QueryRefused, HubCallFailed):
        raise web.HTTPSeeOther(f"{back}?pin_problem=no-answer#pin") from None
    try:
        request.app[CASES].pin(
            int(case), index, officer, str(form.get("note", "")), render.fields(entry.record_json)
        )
    except CaseProblem as exc:
        code = _CASE_PROBLEMS.get(str(exc), "no-case")
        raise web.HTTPSeeOther(f"{back}?pin_problem={code}#pin") from None
    raise web.HTTPSeeOther(f"{back}?pinned={case}#pin")


async def case_export(request: web.Request) -> web.StreamResponse:
    officer = _officer(request)
    case_id = int(request.match_info["case"])
    form = await request.post()
    fmt = str(form.get("format", ""))
    files = request.app[CASES]
    case = files.get(case_id)
    if fmt not in FORMATS or case is None:
        raise web.HTTPBadRequest(text="unknown export")
    indexes = [pin.index for pin in files.pins(case_id)]
    try:
        entries = await record_entries(request.app[_READER], officer, indexes)
    except QueryRefused as exc:
        return _error(request, N_("The hub refused."), exc.message, 502)
    except HubCallFailed as exc:
        return _error(request, N_("The hub did not answer."), str(exc), 502)
    # The case's number, not its name: the name is the officers' words.
    return await _send(
        request, officer, fmt, entries, f"jembatan-case-{case_id}-{_stamp()}", f"case {case_id}"
    )
