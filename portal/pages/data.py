"""The citizen's data: who saw it ("Siapa melihat data saya"), their consents with the
hub's receipts, withdrawing one; and telling them, by inbox and SMS, when their data was read.

Everything here is asked of the hub as the consent manager, for the signed-in citizen, with
a subject token made for the one call (``ConsentManager``): the timeline from
``Audit.CitizenAccesses`` in the hub's pages (newest first, by log index: the URL holds an
index, never a NIK), the consents from ``ConsentRegistry.ListMine``, one consent from its
signed ``Receipt`` (the hub refuses another citizen's consent id, and so the portal answers
404), a withdrawal by ``Revoke`` once the receipt showed the consent is the citizen's.

When the portal learns of new accesses (``look_for_news``): after each decision it makes
(its own fan-out was just recorded), whenever the citizen opens their page, and every
``--watch-every`` seconds for the citizens asked about longest ago (``watch``), so an access
the citizen did not cause (an officer's lookup, an emergency query) reaches them even if
they never sign in again. A cursor per account (the newest log index told) makes each access
news once; its conditional write makes two looks racing tell once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiohttp import web

from jembatan.client import HubCallFailed, QueryRefused
from jembatan.v1 import consent_pb2
from portal import i18n, timeline
from portal.offer import ConsentOffer
from portal.pages.base import PORTAL, Portal, account, log, now, page, tell_account
from portal.timeline import DATA_READ, Directory

__all__ = ["ROUTES", "look_for_news", "setup"]

DIRECTORY = web.AppKey("directory", Directory)
WATCH_EVERY = web.AppKey("watch_every_s", int)
PAGE_SIZE = 20  # events on one timeline page, a fan-out's legs counted each
_TRAIL_MAX = 30  # newer pages remembered for "newer"; beyond, "newer" is the newest page
_NEWS_PAGE = 100
_NEWS_PAGES = 10  # at most this many pages of accesses told in one look
WATCH_BATCH = 200  # citizens asked about in one round of the watch
_INDEX = re.compile(r"\d{1,12}")
_CONSENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STATES = {
    consent_pb2.ACTIVE: "active",
    consent_pb2.REVOKED: "withdrawn",
    consent_pb2.EXPIRED: "expired",
    consent_pb2.REJECTED: "refused",
}


def setup(app: web.Application, portal: Portal, watch_every_s: int) -> None:
    app[DIRECTORY] = Directory(portal.manager.services)
    app[WATCH_EVERY] = watch_every_s
    app.cleanup_ctx.append(watch)


# --- the timeline ------------------------------------------------------------------------


def _paging(request: web.Request) -> tuple[int | None, list[int]]:
    """The page asked for: accesses before ``sebelum`` (none: the newest), and ``jejak``,
    the ``sebelum`` of each newer page seen on the way (for "newer")."""
    before = request.query.get("sebelum")
    trail = request.query.get("jejak", "")
    if before is not None and not _INDEX.fullmatch(before):
        raise web.HTTPNotFound(text="no such page")
    steps = trail.split(",") if trail else []
    if not all(_INDEX.fullmatch(s) for s in steps):
        raise web.HTTPNotFound(text="no such page")
    return (int(before) if before is not None else None), [int(s) for s in steps][-_TRAIL_MAX:]


def _link(before: int | None, trail: list[int]) -> str:
    if before is None:
        return "/data-saya"
    query = f"?sebelum={before}"
    if trail:
        query += "&jejak=" + ",".join(str(t) for t in trail)
    return "/data-saya" + query


async def _purposes(portal: Portal, account_id: str) -> dict[str, str]:
    """Each purpose's sentence, as the hub recorded it with the citizen's consent requests."""
    applications = await portal.store.run(portal.store.applications_of, account_id)
    found = {}
    for application in applications:
        if application.offer:
            offer = ConsentOffer.from_json(application.offer)
            found[offer.purpose] = offer.purpose_text
    return found


async def timeline_page(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    before, trail = _paging(request)
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    directory = request.app[DIRECTORY]
    await directory.refresh()
    try:
        answer = await portal.manager.accesses(nik, limit=PAGE_SIZE, before_index=before)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("account %s: timeline failed: %s", account_id, exc)
        raise web.HTTPServiceUnavailable(text="busy") from None
    if before is None and answer.accesses:
        # They are looking at the newest accesses now: nothing in them is news any more.
        seen = await portal.store.run(portal.store.data_seen, account_id)
        newest = answer.accesses[0].log_index
        if seen is None or newest > seen:
            await portal.store.run(portal.store.advance_data_seen, account_id, seen, newest, now())
    entries = timeline.groups(answer.accesses, directory, await _purposes(portal, account_id))
    older = None
    if answer.more:
        older = _link(answer.next_before_index, [*trail, before] if before is not None else [])
    newer = None
    if before is not None:
        newer = _link(trail[-1], trail[:-1]) if trail else _link(None, [])
    return page(
        request,
        "data_timeline.html",
        {"entries": entries, "older": older, "newer": newer, "first_page": before is None},
    )


# --- consents ----------------------------------------------------------------------------


def _services_view(
    directory: Directory, granted: Iterable[consent_pb2.ServiceFields]
) -> list[dict[str, Any]]:
    return [
        {
            "agency": directory.agency(s.service_id),
            "fields": [directory.field(s.service_id, f) for f in s.fields],
        }
        for s in granted
    ]


async def consents_page(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    directory = request.app[DIRECTORY]
    await directory.refresh()
    try:
        records = await portal.manager.consents(nik)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("account %s: consents failed: %s", account_id, exc)
        raise web.HTTPServiceUnavailable(text="busy") from None
    consents = []
    # Consents given (and what became of them), and requests the citizen turned down; not
    # a request still waiting (its application asks) nor one that lapsed unanswered.
    for record in sorted(records, key=lambda r: r.decided_at or r.requested_at, reverse=True):
        state = _STATES.get(record.state)
        if state is None or not record.decided_at:
            continue
        consents.append(
            {
                "id": record.consent_id,
                "state": state,
                "who": directory.member(record.grantee),
                "purpose": record.purpose_text,
                "services": _services_view(directory, record.granted or record.requested),
                "given": i18n.wib(record.decided_at),
                "until": i18n.wib(record.expires_at) if record.expires_at else "",
                "withdrawn": i18n.wib(record.revoked_at) if record.revoked_at else "",
                "uses": record.uses,
            }
        )
    return page(request, "data_consents.html", {"consents": consents})


async def _own_receipt(request: web.Request) -> tuple[str, str, dict[str, Any]]:
    """(consent id, the hub's signed receipt, its document) of the consent named in the
    URL, only if it is the signed-in citizen's: the hub gives a receipt only to the citizen
    whose consent it is, so another's id (or a made-up one) is no consent here (404)."""
    account_id = account(request)
    portal = request.app[PORTAL]
    consent_id = request.match_info["consent"]
    if not _CONSENT_ID.fullmatch(consent_id):
        log.warning("account %s: no such consent of theirs", account_id)
        raise web.HTTPNotFound(text="not found")
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    try:
        token, document = await portal.manager.receipt(nik, consent_id)
    except QueryRefused as exc:
        if exc.reason == "CONSENT_REQUEST_UNKNOWN":
            log.warning("account %s: no such consent of theirs", account_id)
            raise web.HTTPNotFound(text="not found") from None
        log.warning("account %s: receipt of consent %s refused: %s", account_id, consent_id, exc)
        raise web.HTTPServiceUnavailable(text="busy") from None
    except HubCallFailed as exc:
        log.warning("account %s: receipt of consent %s failed: %s", account_id, consent_id, exc)
        raise web.HTTPServiceUnavailable(text="busy") from None
    return consent_id, token, document


def _receipt_view(directory: Directory, document: dict[str, Any]) -> dict[str, Any]:
    purposes = document.get("purposes") or [{}]
    purpose = purposes[0]
    services = [
        {
            "agency": directory.agency(s["service_id"]),
            "fields": [directory.field(s["service_id"], f) for f in s["fields"]],
        }
        for s in purpose.get("services", [])
    ]
    events = {e["event"]: i18n.wib(e["time"]) for e in document.get("events", [])}
    digest = document.get("artefact_sha256", "")
    return {
        "id": document["record_id"],
        "state": {"ACTIVE": "active", "REVOKED": "withdrawn", "EXPIRED": "expired"}.get(
            document.get("state", ""), "refused"
        ),
        "who": directory.member(document.get("controller", "")),
        "purpose": purpose.get("purpose_text", ""),
        "services": services,
        "given": events.get("given", ""),
        "withdrawn": events.get("withdrawn", ""),
        "until": i18n.wib(document["valid_until"]) if document.get("valid_until") else "",
        # Grouped in fours so it can be read out and compared over the phone.
        "digest": " ".join(digest[i : i + 4] for i in range(0, len(digest), 4)),
        "uses": document.get("uses", 0),
    }


async def consent_page(request: web.Request) -> web.Response:
    _id, _token, document = await _own_receipt(request)
    directory = request.app[DIRECTORY]
    await directory.refresh()
    return page(
        request,
        "data_consent.html",
        {
            "consent": _receipt_view(directory, document),
            "just_withdrawn": request.query.get("ditarik") == "1",
        },
    )


async def receipt_download(request: web.Request) -> web.Response:
    consent_id, token, document = await _own_receipt(request)
    body = {
        "about": "Bukti persetujuan dari hub Jembatan (ISO/IEC TS 27560). The 'receipt' is"
        " signed by the hub's log key (EdDSA, JWS); 'document' is what it says.",
        "receipt": token,
        "document": document,
    }
    log.info("account %s: receipt of consent %s downloaded", account(request), consent_id)
    return web.Response(
        text=json.dumps(body, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="bukti-persetujuan-{consent_id}.json"'
        },
    )


async def withdraw_form(request: web.Request) -> web.Response:
    consent_id, _token, document = await _own_receipt(request)
    if document.get("state") != "ACTIVE":
        raise web.HTTPSeeOther(f"/data-saya/persetujuan/{consent_id}")
    directory = request.app[DIRECTORY]
    await directory.refresh()
    return page(request, "data_withdraw.html", {"consent": _receipt_view(directory, document)})


async def withdraw_posted(request: web.Request) -> web.Response:
    consent_id, _token, document = await _own_receipt(request)
    account_id = account(request)
    target = f"/data-saya/persetujuan/{consent_id}"
    if document.get("state") != "ACTIVE":
        raise web.HTTPSeeOther(target)
    portal = request.app[PORTAL]
    try:
        revoked = await portal.manager.revoke(consent_id)
    except QueryRefused as exc:
        # Withdrawn, or ended, meanwhile: the consent's page says what it is now.
        log.warning("account %s: withdrawing consent %s refused: %s", account_id, consent_id, exc)
        raise web.HTTPSeeOther(target) from None
    except HubCallFailed as exc:
        log.warning("account %s: withdrawing consent %s failed: %s", account_id, consent_id, exc)
        raise web.HTTPServiceUnavailable(text="busy") from None
    log.info("account %s: consent %s withdrawn at %s", account_id, consent_id, revoked.revoked_at)
    raise web.HTTPSeeOther(f"{target}?ditarik=1")


# --- telling the citizen -------------------------------------------------------------------


async def look_for_news(
    portal: Portal, account_id: str, *, sms: bool, nik: str | None = None
) -> int:
    """Ask the hub for the citizen's accesses newer than the last told, and if an agency
    released their data or an officer looked them up, put one message in their inbox (and
    an SMS, if ``sms``: it says only that there is news). The number of such accesses."""
    store = portal.store
    seen = await store.run(store.data_seen, account_id)
    if nik is None:
        nik = await store.run(portal.signin.nik_of, account_id)
    news, newest, before = 0, seen if seen is not None else -1, None
    for _ in range(_NEWS_PAGES):
        answer = await portal.manager.accesses(nik, limit=_NEWS_PAGE, before_index=before)
        fresh = [a for a in answer.accesses if seen is None or a.log_index > seen]
        news += sum(1 for a in fresh if timeline.is_news(a))
        newest = max([newest, *(a.log_index for a in fresh)])
        if not answer.more or len(fresh) < len(answer.accesses):
            break
        before = answer.next_before_index
    if await store.run(store.advance_data_seen, account_id, seen, newest, now()) and news:
        await tell_account(portal, account_id, DATA_READ, sms=sms)
        log.info("account %s: told of %d new accesses to their data", account_id, news)
    return news


async def look_for_news_quietly(portal: Portal, account_id: str, *, sms: bool) -> None:
    """``look_for_news``, where a page must not fail for it (the hub busy, say)."""
    try:
        await look_for_news(portal, account_id, sms=sms)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("account %s: could not look for accesses: %s", account_id, exc)


async def watch(app: web.Application) -> AsyncIterator[None]:
    """Every ``--watch-every`` seconds, look for news for the citizens asked about longest
    ago (a round of at most ``WATCH_BATCH``), one after another so the hub sees one call at
    a time from it."""
    every = app[WATCH_EVERY]
    if every <= 0:
        yield
        return
    portal = app[PORTAL]

    async def rounds() -> None:
        while True:
            accounts = await portal.store.run(portal.store.accounts_by_last_check, WATCH_BATCH)
            for account_id in accounts:
                try:
                    await look_for_news_quietly(portal, account_id, sms=True)
                except Exception as exc:  # one citizen's trouble must not stop the others'
                    log.warning("account %s: looking for accesses: %r", account_id, exc)
            await asyncio.sleep(every)

    task = asyncio.create_task(rounds())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


ROUTES = [
    web.get("/data-saya", timeline_page),
    web.get("/data-saya/persetujuan", consents_page),
    web.get("/data-saya/persetujuan/{consent}", consent_page),
    web.get("/data-saya/persetujuan/{consent}/bukti", receipt_download),
    web.get("/data-saya/persetujuan/{consent}/tarik", withdraw_form),
    web.post("/data-saya/persetujuan/{consent}/tarik", withdraw_posted),
]
