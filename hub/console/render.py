"""How the console's pages are made: Jinja2 templates (``templates/``, autoescaped: record
fields come from agencies' and clients' requests, so none of them is trusted markup), Babel
message catalogues (``translations/``: Indonesian by default, English selectable), and times
in WIB.

The templates are written in English; ``translations/id/LC_MESSAGES/messages.po`` gives the
Indonesian of every message, compiled in memory when the console starts (no compiled ``.mo``
is committed, so the catalogue cannot go stale beside its source).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_datetime
from babel.support import NullTranslations, Translations
from markupsafe import Markup, escape

from hub.console import reasons
from hub.console.searches import N_
from jembatan.locale import WIB, compiled_catalogue

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
TRANSLATIONS = HERE / "translations"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANGUAGE_COOKIE = "jembatan_console_lang"

_ENVIRONMENTS = {
    language: web.AppKey(f"jinja2-{language}", jinja2.Environment) for language in LANGUAGES
}
_LANGUAGE = "console_language"
# Where the login check leaves the officer's name, for the pages' header.
OFFICER = "console_officer"


def catalogue(language: str) -> Translations | NullTranslations:
    """The compiled message catalogue of ``language`` (English is the templates' own)."""
    return compiled_catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)


def setup(app: web.Application) -> None:
    """One Jinja2 environment per language, each with its catalogue installed (new-style
    gettext: translated text is escaped like any other value)."""
    for language in LANGUAGES:
        environment = aiohttp_jinja2.setup(
            app,
            loader=jinja2.FileSystemLoader(TEMPLATES),
            app_key=_ENVIRONMENTS[language],
            autoescape=jinja2.select_autoescape(("html", "svg", "xml"), default=True),
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        environment.install_gettext_translations(catalogue(language), newstyle=True)  # type: ignore[attr-defined]
        environment.filters["wib"] = lambda value, language=language: wib(value, language)
        environment.filters["breakable"] = breakable
        environment.globals["language"] = language
        environment.globals["search_url"] = search_url
        environment.globals["field_labels"] = FIELD_LABELS
        environment.globals["pivots"] = PIVOTS
        environment.globals["filter_labels"] = FILTER_LABELS
        environment.globals["explain"] = lambda code, language=language: reasons.explain(
            code, language
        )


def language_of(request: web.Request) -> str:
    """The officer's language: the one they chose (a cookie), else the first of ours their
    browser asks for (Accept-Language), else Indonesian."""
    cached = request.get(_LANGUAGE)
    if isinstance(cached, str):
        return cached
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    language = chosen if chosen in LANGUAGES else _accepted(request.headers.get("Accept-Language"))
    request[_LANGUAGE] = language
    return language


def _accepted(header: str | None) -> str:
    if not header:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


def render(
    request: web.Request, template: str, context: Mapping[str, Any], status: int = 200
) -> web.Response:
    language = language_of(request)
    response = aiohttp_jinja2.render_template(
        template,
        request,
        {**context, "path": request.path_qs, "officer": request.get(OFFICER)},
        app_key=_ENVIRONMENTS[language],
        status=status,
    )
    response.headers["Content-Language"] = language
    return response


def environment(request: web.Request) -> jinja2.Environment:
    """The Jinja2 environment of the officer's language (for charts made outside a page)."""
    return request.app[_ENVIRONMENTS[language_of(request)]]


def gettext(request: web.Request, message: str) -> str:
    """``message`` in the officer's language (for text made outside a template)."""
    return catalogue(language_of(request)).gettext(message)


def breakable(value: object) -> Markup:
    """A member or service id that may wrap after its slashes and dots, not mid-word."""
    return Markup("<wbr>").join(escape(part) for part in re.split(r"(?<=[/.])", str(value)))


def wib(value: object, language: str) -> str:
    """An RFC 3339 time as officers read it: in WIB, the zone named."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    pattern = "d MMM y, HH.mm.ss" if language == "id" else "d MMM y, HH:mm:ss"
    return f"{format_datetime(moment.astimezone(WIB), pattern, tzinfo=WIB, locale=language)} WIB"


def fields(record_json: bytes) -> dict[str, object]:
    """A record's fields, as the hub sent its bytes."""
    try:
        doc = json.loads(record_json)
    except ValueError:
        return {"error": "record is not JSON"}
    return doc if isinstance(doc, dict) else {"error": "record is not a JSON object"}


def search_url(**filters: object) -> str:
    """A pivot: the search for records sharing one value with this one."""
    return "/search?" + urlencode({name: str(value) for name, value in filters.items()})


# What each record field is, in words (the field's own name is shown beside it).
FIELD_LABELS = {
    "time": N_("Time"),
    "decision": N_("Decision"),
    "reason": N_("Reason"),
    "client_id": N_("Client"),
    "on_behalf_of": N_("Officer"),
    "service_id": N_("Service"),
    "purpose": N_("Purpose"),
    "subject": N_("Subject (pseudonym)"),
    "consent_id": N_("Consent"),
    "fields_requested": N_("Fields requested"),
    "fields_released": N_("Fields released"),
    "fields_dropped": N_("Fields dropped"),
    "break_glass": N_("Break-glass"),
    "legal_basis": N_("Legal basis"),
    "legal_reference": N_("Law"),
    "justification": N_("Justification"),
    "approved_by": N_("Approved by"),
    "stage": N_("Stage"),
    "status": N_("gRPC status"),
    "count": N_("Calls recorded"),
    "request_id": N_("Request id"),
    "request_digest": N_("Request digest"),
    "response_digest": N_("Response digest"),
    "client_certificate": N_("Client certificate (serial)"),
    "policy_version": N_("Policy version"),
    "version": N_("Record version"),
    "review": N_("Break-glass review"),
    "officer_event": N_("Officer event"),
}
# A record's fields that lead to a search for the records sharing them: (search filter).
PIVOTS = {
    "subject": "pseudonym",
    "consent_id": "consent_id",
    "client_id": "client_id",
    "service_id": "service_id",
    "request_digest": "request_digest",
    "on_behalf_of": "on_behalf_of",
}
# The search form's fields, in words.
FILTER_LABELS = {
    "client_id": N_("Client (member id)"),
    "service_id": N_("Service"),
    "purpose": N_("Purpose"),
    "reason": N_("Reason code"),
    "on_behalf_of": N_("Officer (calls made for them)"),
    "pseudonym": N_("Subject pseudonym"),
    "consent_id": N_("Consent id"),
    "request_digest": N_("Request digest"),
}
