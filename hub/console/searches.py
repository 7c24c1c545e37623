"""Searches as bookmarkable URLs: the filters of a search live in its query string, and so
do its pages (newest first; ``before``/``after`` an index). The one filter that may not is a
NIK: it is exchanged, server-side, for a short-lived opaque token (``SearchTokens``) that
stands for it in the URL and is good only for the officer who typed it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from jembatan.subject import is_nik, may_hold_nik
from jembatan.v1 import audit_pb2

PAGE = 50
_MAX_INDEX = 2**63
TOKEN = "t"
# Filters an officer types or a pivot sets, in the order the form shows them. "pseudonym"
# is a subject as the records hold it (never a NIK).
TEXT_FILTERS = (
    "client_id",
    "service_id",
    "purpose",
    "reason",
    "on_behalf_of",
    "pseudonym",
    "consent_id",
    "request_digest",
)
TIME_FILTERS = ("time_from", "time_to")
DECISIONS = ("RELEASED", "REFUSED")
_MAX_VALUE = 512
# Hex digests and pseudonyms may hold long runs of digits by chance: for them only a value
# that is exactly a NIK is refused.
_HEX_FILTERS = frozenset({"pseudonym", "consent_id", "request_digest"})


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


class BadSearch(ValueError):
    """A filter the console cannot turn into a search; its message is a catalogue msgid."""


@dataclass(frozen=True, slots=True)
class View:
    """A page that is a search: the free search, or a preset list for review."""

    path: str
    title: str
    intro: str
    break_glass: bool = False
    decision: str = ""


SEARCH = View(
    "/search",
    N_("Search the exchange log"),
    N_("Newest first. A NIK never appears in the address."),
)
REFUSALS = View(
    "/refusals",
    N_("Refusals"),
    N_("Refused exchanges and refused audit calls, newest first, for review."),
    decision="REFUSED",
)
BREAK_GLASS = View(
    "/break-glass",
    N_("Break-glass"),
    N_(
        "Exchanges that rested on a legal obligation or vital interest instead of consent,"
        " released or refused, newest first: judge each justification and approval."
    ),
    break_glass=True,
)


@dataclass(frozen=True, slots=True)
class Search:
    """One page of a search, as its URL says."""

    filters: dict[str, str]
    token: str
    before: int | None
    after: int | None

    def query(self, nik: str | None, view: View) -> audit_pb2.SearchRequest:
        request = audit_pb2.SearchRequest(limit=PAGE, newest_first=True)
        for name in TEXT_FILTERS:
            if name in self.filters:
                field = "subject_pseudonym" if name == "pseudonym" else name
                setattr(request, field, self.filters[name])
        for name in TIME_FILTERS:
            if name in self.filters:
                setattr(request, name, wib_bound(self.filters[name]))
        request.decision = view.decision or self.filters.get("decision", "")
        request.break_glass = view.break_glass
        if nik:
            request.subject = nik
        if self.before is not None:
            request.before_index, request.has_before_index = self.before, True
        elif self.after is not None:
            # The page just newer than one seen: the oldest of those after it, shown reversed.
            request.after_index, request.has_after_index = self.after, True
            request.newest_first = False
        return request

    def url(self, path: str, **page: int) -> str:
        """This search's URL, at another page (before= or after= an index) or the first."""
        from urllib.parse import urlencode

        params = dict(self.filters)
        if self.token:
            params[TOKEN] = self.token
        params.update({name: str(value) for name, value in page.items()})
        return f"{path}?{urlencode(params)}" if params else path


def parse(params: Mapping[str, str]) -> Search:
    """The search a URL's query string describes; BadSearch for what cannot be one."""
    filters: dict[str, str] = {}
    for name in (*TEXT_FILTERS, *TIME_FILTERS, "decision"):
        value = params.get(name, "").strip()
        if not value:
            continue
        if len(value) > _MAX_VALUE:
            raise BadSearch(N_("A filter is too long."))
        # A NIK goes only in the NIK field, which never reaches a URL.
        if is_nik(value) or (name not in _HEX_FILTERS and may_hold_nik(value)):
            raise BadSearch(N_("A NIK goes in the NIK field only."))
        filters[name] = value
    if "decision" in filters and filters["decision"] not in DECISIONS:
        raise BadSearch(N_("Decision must be released or refused."))
    for name in TIME_FILTERS:
        if name in filters:
            wib_bound(filters[name])
    return Search(
        filters,
        params.get(TOKEN, "").strip(),
        _index(params.get("before")),
        _index(params.get("after")),
    )


def _index(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) >= _MAX_INDEX:
        raise BadSearch(N_("That page of results does not exist."))
    return int(value)


def wib_bound(value: str) -> str:
    """A time typed in the form (a ``datetime-local`` value, which officers read as WIB) as
    the RFC 3339 bound the hub takes."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadSearch(N_("Times are dates and times, e.g. 2026-05-01 08:00.")) from exc
    if moment.tzinfo is not None:
        return moment.isoformat()
    return moment.isoformat(timespec="seconds") + "+07:00"


class SearchTokens:
    """NIKs typed into the search form, each behind an opaque token for a while: the URL
    carries the token, the NIK stays here, for the officer who typed it only."""

    TTL_S = 15 * 60
    _MAX = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[str, tuple[str, str, float]] = {}

    def issue(self, officer: str, nik: str) -> str:
        now = self._clock()
        for token, (_, _, issued) in list(self._tokens.items()):
            if now - issued > self.TTL_S:
                del self._tokens[token]
        while len(self._tokens) >= self._MAX:  # bounded: the oldest go first
            del self._tokens[next(iter(self._tokens))]
        token = secrets.token_urlsafe(18)
        self._tokens[token] = (officer, nik, now)
        return token

    def nik(self, token: str, officer: str) -> str | None:
        """The NIK behind ``token`` if it is ``officer``'s and not expired."""
        found = self._tokens.get(token)
        if found is None or found[0] != officer or self._clock() - found[2] > self.TTL_S:
            return None
        return found[1]
