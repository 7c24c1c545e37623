"""The citizen's case page (``/kasus/ID``): the status of the ground check of their own
application and its history in plain words, with whether that history is intact
(``verify_history`` at every render). Another citizen's case id is a case that does not
exist (404). ``history_view`` puts a history into words for the staff's pages too."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from portal import i18n
from portal.cases import HistoryBroken, details_of, signed_head, verify_history
from portal.pages.base import PORTAL, Portal, account, log, page
from portal.store import Case, CaseEntry

__all__ = ["ROUTES", "history_view", "intact"]


def history_view(entries: list[CaseEntry]) -> list[dict[str, Any]]:
    """Each entry as the page shows it: when, what (an action and its details, never an
    officer's id or name), and for the visit, what was found per criterion."""
    shown = []
    for entry in entries:
        details = details_of(entry)
        item: dict[str, Any] = {
            "at": i18n.wib(entry.at),
            "action": entry.action,
            "details": details,
            "on_behalf": bool(entry.on_behalf_of),
        }
        if entry.action == "visited" and "visited_on" in details:
            item["day"] = i18n.date(details["visited_on"])
        shown.append(item)
    return shown


async def intact(portal: Portal, case: Case, entries: list[CaseEntry]) -> bool:
    """Whether the history verifies against its signed head; a broken one is logged."""
    try:
        verify_history(entries, signed_head(case), portal.keys.case_key.public_key())
    except HistoryBroken as exc:
        log.error("case history broken: %s", exc)
        return False
    return True


async def case_page(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    case = await portal.store.run(portal.store.case, request.match_info["case"])
    if case is None or case.account_id != account_id:
        log.warning("account %s: no such case of theirs", account_id)
        raise web.HTTPNotFound(text="not found")
    entries = await portal.store.run(portal.store.case_entries, case.id)
    context = {
        "case": case,
        "history": history_view(entries),
        "intact": await intact(portal, case, entries),
    }
    return page(request, "case.html", context)


ROUTES = [web.get("/kasus/{case}", case_page)]
