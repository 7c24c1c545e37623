"""The citizen's own pages: my page, daftar mandiri (the family card), the consent screen,
the decision and the inbox.

An application is named in URLs by an opaque id and found only among the signed-in
citizen's own (``own_application``). Its states: the consent screen is waiting; the
decision is being made; decided; or, consent refused (or no decision could be made), an
officer checks it on the ground instead.
"""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

from aiohttp import web

from jembatan.client import HubCallFailed, QueryRefused
from portal import explain, ground, i18n
from portal.offer import ConsentOffer
from portal.pages import data
from portal.pages.base import (
    PORTAL,
    Portal,
    account,
    form_value,
    log,
    now,
    own_application,
    page,
    tell,
)
from portal.store import Application, opaque_id

WAITING, DECIDING, DECIDED, GROUND_CHECK = "consent_pending", "deciding", "decided", "ground_check"
# A decision takes seconds; one "being decided" for longer was cut off (the process stopped
# mid-way), and since the artefact was never kept, an officer checks it on the ground.
DECIDING_AT_MOST_S = 120


async def home_page(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    # Who read their data since they were last told: in the inbox below (no SMS: they are
    # looking at the portal now).
    await data.look_for_news_quietly(portal, account_id, sms=False)
    applications = await portal.store.run(portal.store.applications_of, account_id)
    messages = await portal.store.run(portal.store.inbox, account_id)
    return page(
        request,
        "home.html",
        {"applications": applications, "messages": len(messages), "wib": i18n.wib},
    )


async def apply_form(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    card = await portal.store.run(portal.registry.family_card, nik)
    if card is None:
        return page(request, "apply.html", {"card": None})
    members = [
        {"name": m.name, "relationship": m.relationship, "birth_year": m.birth_year}
        for m in card.members
    ]
    return page(request, "apply.html", {"card": card, "members": members, "nik": _mask_nik(nik)})


async def apply_posted(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    nik = await portal.store.run(portal.signin.nik_of, account_id)
    card = await portal.store.run(portal.registry.family_card, nik)
    if card is None:
        return page(request, "apply.html", {"card": None}, status=404)
    try:
        offer = await portal.desk.ask_consent(nik)
    except (QueryRefused, HubCallFailed) as exc:
        log.warning("consent request failed: %s", getattr(exc, "reason", type(exc).__name__))
        return page(request, "busy.html", {}, status=503)
    household = {
        "village": card.village,
        "members": [
            {"name": m.name, "relationship": m.relationship, "birth_year": m.birth_year}
            for m in card.members
        ],
    }
    moment = now()
    application = Application(
        id=opaque_id(),
        account_id=account_id,
        status=WAITING,
        household=json.dumps(household),
        offer=offer.to_json(),
        consent_id="",
        decision_sealed=None,
        created_at=moment,
        updated_at=moment,
    )
    await portal.store.run(portal.store.add_application, application)
    log.info("application %s: consent requested (%s)", application.id, offer.request_id)
    raise web.HTTPSeeOther(f"/permohonan/{application.id}/persetujuan")


def _mask_nik(nik: str) -> str:
    return nik[:4] + "•" * 8 + nik[-4:]


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
    application = await own_application(request)
    if application.status != WAITING:
        raise web.HTTPSeeOther(f"/permohonan/{application.id}")
    offer = ConsentOffer.from_json(application.offer)
    if _answer_too_late(offer):
        offer = await _ask_again(request, application)
    return page(
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
            application.id, was=WAITING, status=WAITING, now=now(), offer=offer.to_json()
        )
    )
    log.info("application %s: consent asked again (%s)", application.id, offer.request_id)
    return offer


def _grantee(member_id: str) -> str:
    return explain.member_name(member_id)


async def consent_posted(request: web.Request) -> web.Response:
    application = await own_application(request)
    portal = request.app[PORTAL]
    choice = await form_value(request, "choice")
    if choice not in ("grant", "refuse"):
        raise web.HTTPBadRequest(text="choose grant or refuse")
    offer = ConsentOffer.from_json(application.offer) if application.offer else None
    target = f"/permohonan/{application.id}"
    if offer is None:
        raise web.HTTPSeeOther(target)
    if application.status == WAITING and _answer_too_late(offer):
        # The request lapsed while the page was open: show it again, asked afresh.
        raise web.HTTPSeeOther(f"{target}/persetujuan")
    moment = now()
    if choice == "refuse":
        if not await portal.store.run(
            lambda: portal.store.move_application(
                application.id, was=WAITING, status=GROUND_CHECK, now=moment
            )
        ):
            raise web.HTTPSeeOther(target)
        try:
            await portal.manager.refuse(offer)
        except (QueryRefused, HubCallFailed) as exc:
            # The citizen said no: nothing is asked under a request that was never granted,
            # and the hub lets the request expire by itself.
            log.warning("application %s: rejecting at the hub failed: %s", application.id, exc)
        await _to_ground_check(portal, application, "consent_refused")
        log.info("application %s: consent refused, to a ground check", application.id)
        raise web.HTTPSeeOther(target)
    if not await portal.store.run(
        lambda: portal.store.move_application(
            application.id, was=WAITING, status=DECIDING, now=moment
        )
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
                application.id, was=DECIDING, status=GROUND_CHECK, now=now()
            )
        )
        await _to_ground_check(portal, application, "hub_unavailable", why="no_decision")
        raise web.HTTPSeeOther(target) from None
    sealed = portal.keys.seal(json.dumps(decision).encode())
    await portal.store.run(
        lambda: portal.store.move_application(
            application.id,
            was=DECIDING,
            status=DECIDED,
            now=now(),
            consent_id=consent_id,
            decision_sealed=sealed,
        )
    )
    await tell(portal, application, "decided")
    log.info("application %s: decided (%s)", application.id, decision["outcome"])
    if decision["outcome"] == "needs_review":
        # The formula's borderline band: decided "to be checked", and an officer checks it.
        reviews = sorted({r["code"] for r in decision["reasons"] if r["kind"] == "review"})
        await portal.store.run(
            lambda: ground.open_for(
                portal.store, portal.keys, application, "needs_review", reasons=reviews
            )
        )
        log.info("application %s: needs review, to a ground check", application.id)
    # The fan-out just read their data: the inbox says so too (the decision's SMS was news
    # enough for their phone).
    await data.look_for_news_quietly(portal, application.account_id, sms=False)
    raise web.HTTPSeeOther(target)


async def _to_ground_check(portal: Portal, application: Application, kind: str, **why: str) -> None:
    """The application is checked on the ground: a case for it, and the citizen told."""
    await portal.store.run(
        lambda: ground.open_for(portal.store, portal.keys, application, kind, **why)
    )
    await tell(portal, application, "ground_check")


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
    field_check = decision.get("field_check")
    if field_check:
        # The officer decided: what the automated check found is kept, but decides nothing.
        deciding, other = [], reasons
        field_check = {**field_check, "at": i18n.wib(field_check["at"])}
    else:
        deciding = [r for r in reasons if r["kind"] != "info"]
        other = [r for r in reasons if r["kind"] == "info"]
    return {
        "outcome": decision["outcome"],
        "emergency": decision["emergency"],
        "formula_version": decision["formula_version"],
        "decided_at": i18n.wib(decision["decided_at"]),
        "deciding": by_agency(deciding),
        "other": by_agency(other),
        "field_check": field_check,
    }


async def application_page(request: web.Request) -> web.Response:
    application = await own_application(request)
    portal = request.app[PORTAL]
    if application.status == WAITING:
        raise web.HTTPSeeOther(f"/permohonan/{application.id}/persetujuan")
    if application.status == DECIDING and application.updated_at < now() - DECIDING_AT_MOST_S:
        moved = await portal.store.run(
            lambda: portal.store.move_application(
                application.id, was=DECIDING, status=GROUND_CHECK, now=now()
            )
        )
        if moved:
            log.warning("application %s: decision cut off, to a ground check", application.id)
            await _to_ground_check(portal, application, "hub_unavailable", why="cut_off")
        raise web.HTTPSeeOther(f"/permohonan/{application.id}")
    cases = await portal.store.run(portal.store.cases_of_application, application.id)
    context: dict[str, Any] = {
        "application": application,
        "decision": None,
        "case": cases[-1] if cases else None,
    }
    if application.status == DECIDED and application.decision_sealed:
        decision = json.loads(portal.keys.open(application.decision_sealed))
        offer = ConsentOffer.from_json(application.offer)
        context["decision"] = _decision_view(decision, offer)
    return page(request, "application.html", context)


async def inbox_page(request: web.Request) -> web.Response:
    account_id = account(request)
    portal = request.app[PORTAL]
    messages = await portal.store.run(portal.store.inbox, account_id)
    return page(request, "inbox.html", {"messages": messages, "wib": i18n.wib})


ROUTES = [
    web.get("/beranda", home_page),
    web.get("/daftar", apply_form),
    web.post("/daftar", apply_posted),
    web.get("/permohonan/{application}", application_page),
    web.get("/permohonan/{application}/persetujuan", consent_page),
    web.post("/permohonan/{application}/persetujuan", consent_posted),
    web.get("/pesan", inbox_page),
]
