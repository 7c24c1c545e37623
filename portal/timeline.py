"""Who accessed a citizen's data, as the hub's audit log says (``Audit.CitizenAccesses``),
in words; and telling the citizen when there is something new.

The log records each call about the citizen: every exchange (one per agency asked, released
or refused), officers' searches for them, and the consent calls (the eligibility service's
request, the portal's grant or refusal, the portal reading their consents for them). The
timeline shows all of it, newest first, in groups a person reads as one event: one
fan-out over seven agencies is one entry with seven agencies in it.

Names come from the hub's discovery (``Registry.ListServices``: each service's agency, and
each field's catalogue description) where it has them (``Directory``); the forms of release
are ``portal.explain``'s words.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from examples.eligibility.evidence import AGENCY_NAMES
from jembatan.client import HubCallFailed, QueryRefused
from jembatan.v1 import audit_pb2, registry_pb2
from portal import explain, i18n
from portal.i18n import gettext as _

__all__ = [
    "DATA_READ",
    "Directory",
    "TimelineGroup",
    "groups",
    "is_news",
]

log = logging.getLogger("jembatan.portal")

DATA_READ = "data_read"  # the inbox message's kind
_HUB_CALLS = "jembatan.v1."
_OFFICERS_LOOKUPS = ("jembatan.v1.Audit/Search", "jembatan.v1.Audit/StreamRecords")
# The portal's own calls for the citizen, made when the citizen opened a page.
_OWN_VIEWS = ("jembatan.v1.ConsentRegistry/ListMine", "jembatan.v1.ConsentRegistry/Receipt")
_EMERGENCY = "bansos-emergency"
# Accesses within this many seconds of a group's first, by the same caller for the same
# purpose, are one event (a fan-out's legs are recorded within milliseconds).
_SAME_EVENT_S = 120
_DIRECTORY_FRESH_S = 600


@dataclass
class Directory:
    """What the hub's discovery says of services: their agency and their fields'
    descriptions; asked again after ten minutes."""

    list_services: Callable[[], Awaitable[Sequence[registry_pb2.ServiceDescriptor]]]
    agency_of_service: dict[str, str] = field(default_factory=dict)
    agency_names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    _fetched_at: float = -1e9
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        if time.monotonic() - self._fetched_at < _DIRECTORY_FRESH_S:
            return
        async with self._lock:
            if time.monotonic() - self._fetched_at < _DIRECTORY_FRESH_S:
                return
            try:
                services = await self.list_services()
            except (QueryRefused, HubCallFailed) as exc:
                # Names then fall back to ids: the timeline is still the truth.
                log.warning("discovery failed, naming members by id: %s", exc)
                return
            for s in services:
                self.agency_of_service[s.service_id] = s.agency_id
                name = AGENCY_NAMES.get(s.service_id)
                if name:
                    self.agency_names[s.agency_id] = name
                for f in s.fields:
                    self.descriptions[(s.service_id, f.name)] = f.description
            self._fetched_at = time.monotonic()

    def agency(self, service_id: str) -> str:
        if service_id in AGENCY_NAMES:
            return AGENCY_NAMES[service_id]
        agency_id = self.agency_of_service.get(service_id, "")
        return self.agency_names.get(agency_id) or explain.member_name(agency_id or service_id)

    def member(self, member_id: str) -> str:
        return explain.member_name(member_id, self.agency_names)

    def field(self, service_id: str, name: str) -> str:
        return explain.field_label(self.descriptions.get((service_id, name), ""), name)


def kind_of(access: audit_pb2.CitizenAccess) -> str:
    """What an access was: an agency's ``exchange``, an ``officer``'s lookup, the
    citizen's ``own`` view through the portal, or a ``consent`` call."""
    if not access.service_id.startswith(_HUB_CALLS):
        return "exchange"
    if access.service_id in _OFFICERS_LOOKUPS:
        return "officer"
    if access.service_id in _OWN_VIEWS:
        return "own"
    if access.service_id.startswith("jembatan.v1.ConsentRegistry/"):
        return "consent"
    return "other"


def is_news(access: audit_pb2.CitizenAccess) -> bool:
    """Worth telling the citizen: an agency released data about them, or an officer looked
    them up. Their own views, and the consent calls they took part in, are not news."""
    return access.decision == "RELEASED" and kind_of(access) in ("exchange", "officer")


@dataclass
class TimelineGroup:
    """One event as the citizen reads it."""

    kind: str
    when: str
    who: str
    first: audit_pb2.CitizenAccess
    accesses: list[audit_pb2.CitizenAccess]
    view: dict[str, Any] = field(default_factory=dict)


def _moment(access: audit_pb2.CitizenAccess) -> datetime.datetime:
    return datetime.datetime.fromisoformat(access.time)


def _same_event(group: TimelineGroup, access: audit_pb2.CitizenAccess) -> bool:
    first = group.first
    return (
        kind_of(access) == group.kind
        and access.client_id == first.client_id
        and access.purpose == first.purpose
        and access.on_behalf_of == first.on_behalf_of
        and (group.kind != "consent" or access.service_id == first.service_id)
        # One agency asked twice is two events (a fan-out asks each agency once).
        and (
            group.kind != "exchange"
            or all(a.service_id != access.service_id for a in group.accesses)
        )
        and abs((_moment(first) - _moment(access)).total_seconds()) <= _SAME_EVENT_S
    )


def groups(
    accesses: Sequence[audit_pb2.CitizenAccess],
    directory: Directory,
    purposes: Mapping[str, str],
) -> list[dict[str, Any]]:
    """A page of accesses (newest first) as the timeline's entries. ``purposes``: each
    purpose code's sentence, as the hub recorded it with the citizen's consent requests."""
    found: list[TimelineGroup] = []
    for access in accesses:
        if found and _same_event(found[-1], access):
            found[-1].accesses.append(access)
            continue
        found.append(
            TimelineGroup(
                kind=kind_of(access),
                when=i18n.wib(access.time),
                who=directory.member(access.client_id),
                first=access,
                accesses=[access],
            )
        )
    return [_view(g, directory, purposes) for g in found]


def _purpose(code: str, purposes: Mapping[str, str]) -> str:
    if code in purposes:
        return purposes[code]
    if code == _EMERGENCY:
        return _("An emergency: help for a family hit by a disaster, without waiting for consent")
    if code == "audit":
        return _("Checking that the data exchange follows the rules")
    if code == "consent":
        return _("Your consent")
    return code


def _view(
    group: TimelineGroup, directory: Directory, purposes: Mapping[str, str]
) -> dict[str, Any]:
    first = group.first
    view: dict[str, Any] = {
        "kind": group.kind,
        "when": group.when,
        "who": group.who,
        "officer": first.on_behalf_of,
        "purpose": _purpose(first.purpose, purposes),
        "emergency": first.purpose == _EMERGENCY,
        "method": first.service_id.rpartition("/")[2],
        "times": len(group.accesses),
        "refused": all(a.decision != "RELEASED" for a in group.accesses),
        "reason": explain.refusal_text(first.reason) if first.reason else "",
        "indices": [a.log_index for a in group.accesses],
    }
    if group.kind == "exchange":
        agencies = []
        # Oldest first within the event, each agency once, as it was asked.
        for access in sorted(group.accesses, key=lambda a: a.log_index):
            agencies.append(
                {
                    "agency": directory.agency(access.service_id),
                    "refused": access.decision != "RELEASED",
                    "reason": explain.refusal_text(access.reason) if access.reason else "",
                    "fields": [
                        {
                            "label": directory.field(access.service_id, f.name),
                            "form": explain.released_as(f.treatment),
                        }
                        for f in access.fields_released
                    ],
                }
            )
        view["agencies"] = agencies
    return view
