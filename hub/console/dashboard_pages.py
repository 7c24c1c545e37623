"""The dashboard (the console's landing page) and the anomalies page.

Both show one look at the log (``hub.console.dashboard``); every figure links to the
records behind it: a reason to the refusals with that reason, break-glass attempts to the
break-glass list, each anomaly flag to its records one by one and to a search for them. The
flags are explained with ``jembatan.insights.messages`` (Indonesian or English, as the
officer chose), so the console, ``jembatan audit anomalies`` and anyone recomputing them
from the log say the same thing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from markupsafe import Markup

from hub.console import charts, reasons, render
from hub.console.dashboard import CHART_HOURS, Dashboard, Picture
from hub.console.searches import BREAK_GLASS, N_, REFUSALS, SEARCH
from jembatan.audit.checkpoint import CheckpointError
from jembatan.audit.witness import WitnessFreshness
from jembatan.client import HubCallFailed, QueryRefused
from jembatan.insights import messages
from jembatan.insights.anomalies import (
    CONSENT_OVERUSE,
    OFFICER_REPEATED,
    REFUSAL_BURST,
    SUBJECT_MANY_CLIENTS,
    SUBJECT_REPEATED,
    Flag,
)
from jembatan.insights.summary import DENIED, REFUSED, RELEASED

DASHBOARD = web.AppKey("dashboard", Dashboard)
# Record links listed under a flag; the search link leads to all of them.
SHOWN_RECORDS = 20
_TOP = 8
_SERIES = {
    RELEASED: N_("Released"),
    DENIED: N_("Denied by the rules"),
    REFUSED: N_("Refused, other reasons"),
}


@dataclass(frozen=True, slots=True)
class FlagView:
    code: str
    title: str
    explanation: str
    about: str
    about_url: str
    records: tuple[int, ...]
    more: int
    search: str
    first: str
    last: str


def _wib_local(rfc3339: str, plus_s: int = 0) -> str:
    """A record's time as the search form's WIB bound (``datetime-local`` style)."""
    moment = datetime.fromisoformat(rfc3339).astimezone(render.WIB) + timedelta(seconds=plus_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _search(flag: Flag) -> tuple[str, str]:
    """(a search for the records behind ``flag``, a search for what it is about)."""
    when = {"time_from": _wib_local(flag.first), "time_to": _wib_local(flag.last, plus_s=1)}
    about: dict[str, str]
    extra: dict[str, str] = {}
    if flag.code in (SUBJECT_MANY_CLIENTS, SUBJECT_REPEATED):
        about = {"pseudonym": flag.about}
        if flag.code == SUBJECT_REPEATED:
            extra = {"client_id": str(flag.params["client"])}
    elif flag.code == OFFICER_REPEATED:
        about = {"on_behalf_of": flag.about}
        extra = {"pseudonym": str(flag.params["subject"])}
    elif flag.code == CONSENT_OVERUSE:
        about = {"consent_id": flag.about}
        extra = {"decision": "RELEASED"}
    else:  # about a client
        about = {"client_id": flag.about}
        if flag.code == REFUSAL_BURST:
            extra = {"decision": "REFUSED"}
    return render.search_url(**about, **extra, **when), render.search_url(**about)


def _plain(flag: Flag, language: str) -> Flag:
    """The flag with its reason code in plain words, for the explanation."""
    code = flag.params.get("top_reason")
    explained = reasons.explain(str(code), language) if code else None
    if explained is None:
        return flag
    words = explained.happened.rstrip(".")
    words = f"“{words[:1].lower()}{words[1:]}” ({code})"
    return dataclasses.replace(flag, params={**flag.params, "top_reason": words})


def flag_views(flags: Sequence[Flag], language: str) -> list[FlagView]:
    views = []
    for flag in flags:
        search, about_url = _search(flag)
        views.append(
            FlagView(
                code=flag.code,
                title=messages.title(flag, language),
                explanation=messages.explain(_plain(flag, language), language),
                about=flag.about,
                about_url=about_url,
                records=flag.records[:SHOWN_RECORDS],
                more=max(0, len(flag.records) - SHOWN_RECORDS),
                search=search,
                first=flag.first,
                last=flag.last,
            )
        )
    return views


async def _picture(request: web.Request) -> Picture | web.Response:
    try:
        return await request.app[DASHBOARD].picture()
    except CheckpointError as exc:
        message = N_("The hub's checkpoint does not verify with its key.")
        return _error(request, message, str(exc))
    except QueryRefused as exc:
        return _error(request, N_("The hub refused."), exc.message)
    except HubCallFailed as exc:
        return _error(request, N_("The hub did not answer."), str(exc))


def _error(request: web.Request, message: str, detail: str) -> web.Response:
    context = {"record": None, "message": message, "detail": detail}
    return render.render(request, "error.html", context, 502)


def witness_rows(statuses: Sequence[WitnessFreshness]) -> list[dict[str, object]]:
    """Each witness's freshness as the pages show it (the time as RFC 3339, for WIB)."""
    return [
        {
            "name": s.name,
            "stale": s.stale,
            "size": s.size,
            "time": datetime.fromtimestamp(s.cosigned_at, UTC).isoformat()
            if s.cosigned_at is not None
            else "",
        }
        for s in statuses
    ]


def _context(request: web.Request, picture: Picture, flags: list[FlagView]) -> dict[str, object]:
    language = render.language_of(request)
    return {
        "picture": picture,
        "witness_rows": witness_rows(picture.witnesses),
        "flags": flags,
        "window": messages.duration(request.app[DASHBOARD].thresholds.window_s, language),
        "at": datetime.fromtimestamp(picture.at, render.WIB).isoformat(),
        "window_start": datetime.fromtimestamp(picture.window_start, render.WIB).isoformat(),
        "took_ms": round(picture.took_s * 1000),
    }


async def dashboard_page(request: web.Request) -> web.Response:
    picture = await _picture(request)
    if isinstance(picture, web.Response):
        return picture
    flags = flag_views(picture.flags, render.language_of(request))
    context = _context(request, picture, flags)
    context.update(_charts(request, picture))
    summary = picture.summary
    peak = max((count for _, count in summary.refusals_by_reason), default=0)
    context.update(
        hours=CHART_HOURS,
        refusals=[
            (code, count, round(120 * count / peak, 1) if peak else 0.0, REFUSALS.path)
            for code, count in summary.refusals_by_reason
        ],
        break_glass_path=BREAK_GLASS.path,
        search_path=SEARCH.path,
    )
    return render.render(request, "dashboard.html", context)


def _charts(request: web.Request, picture: Picture) -> dict[str, Markup]:
    env = render.environment(request)
    summary = picture.summary
    series = {kind: render.gettext(request, label) for kind, label in _SERIES.items()}
    title = render.gettext(request, N_("Exchanges per hour, last 24 hours"))
    desc = render.gettext(
        request,
        N_(
            "Stacked bars, one per hour in WIB: released, denied by the rules, refused for"
            " other reasons."
        ),
    )

    def hourly(width: int, height: int, labels: int) -> Markup:
        return charts.hourly_chart(
            env,
            title=title,
            desc=desc,
            hours=summary.hours,
            series=series,
            zone=render.WIB,
            zone_name="WIB",
            width=width,
            height=height,
            labels=labels,
        )

    clients = render.gettext(request, N_("Top clients"))
    services = render.gettext(request, N_("Top services"))
    calls = render.gettext(request, N_("Exchanges in the last 24 hours, most first."))
    return {
        # Two drawings, one shown by the stylesheet: a phone's is narrower, not shrunk.
        "hourly_wide": hourly(1080, 260, 12),
        "hourly_narrow": hourly(360, 250, 4),
        "top_clients": charts.top_chart(
            env, title=clients, desc=calls, items=summary.top_clients[:_TOP]
        ),
        "top_services": charts.top_chart(
            env, title=services, desc=calls, items=summary.top_services[:_TOP]
        ),
    }


async def anomalies_page(request: web.Request) -> web.Response:
    picture = await _picture(request)
    if isinstance(picture, web.Response):
        return picture
    flags = flag_views(picture.flags, render.language_of(request))
    context = _context(request, picture, flags)
    groups: dict[str, list[FlagView]] = {}
    for flag in flags:
        groups.setdefault(flag.code, []).append(flag)
    context["groups"] = list(groups.items())  # in the flags' order: by kind, as CODES
    return render.render(request, "anomalies.html", context)
