"""The officers' own trail: the console reports every login, failed login, logout, lockout
and export to the hub's audit log (``Audit.RecordOfficerEvent``), not just to its stderr,
and reads it back for the officers' pages.

The console makes these calls as itself (its certificate carries the console role), not on
an officer's behalf: a failed login is nobody's yet. What is sent is the officer's name,
the browser's address and, for an export or a lockout, a short note; never a password. The
name tried at a failed login is sent only if it has the form of an officer's name — what
someone types into the name box may be their password, typed into the wrong box, or a NIK;
anything else is recorded with the name withheld.

A login the hub cannot record is refused (the officers' rule: nothing is done unless it is
recorded). A failed login, a lockout or a logout that cannot be recorded still happens —
refusing it would help nobody — and is logged as an error on the console's stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.console.officers import officer_name_problem
from hub.console.reader import LogReader
from jembatan.audit.record import EXPORT, LOCKOUT, LOGIN, LOGIN_FAILED, LOGOUT, OFFICER_EVENT_KIND
from jembatan.client import HubCallFailed, QueryRefused
from jembatan.v1 import audit_pb2

log = logging.getLogger(__name__)

_LIMITS = {
    "name": "too many failed logins for this name",
    "address": "too many failed logins from this address",
}


class OfficerTrail:
    """The officers' events, recorded through ``reader``'s channel to the hub."""

    def __init__(self, reader: LogReader) -> None:
        self._reader = reader

    async def login(self, officer: str, address: str) -> bool:
        """Record ``officer``'s login; False if it could not be (refuse the login)."""
        return await self._record(LOGIN, officer, address)

    async def login_failed(self, name_tried: str, address: str) -> bool:
        return await self._record(LOGIN_FAILED, recordable(name_tried), address)

    async def lockout(self, name_tried: str, address: str, limits: Sequence[str]) -> bool:
        """Record that failed logins for ``name_tried`` or from ``address`` reached
        ``limits`` (``LoginThrottle.failed``): further attempts are refused unchecked."""
        note = "; ".join(_LIMITS[limit] for limit in limits)
        return await self._record(LOCKOUT, recordable(name_tried), address, note)

    async def logout(self, officer: str, address: str) -> bool:
        return await self._record(LOGOUT, officer, address)

    async def export(self, officer: str, address: str, what: str) -> bool:
        """Record that ``officer`` exported ``what`` (a short description without a NIK:
        the format and how many records, say); False if it could not be (do not export)."""
        return await self._record(EXPORT, officer, address, what)

    async def events(
        self,
        viewer: str,
        *,
        officer: str = "",
        event: str = "",
        after_index: int | None = None,
        newest_first: bool = False,
        before_index: int | None = None,
        limit: int = 50,
    ) -> audit_pb2.SearchResponse:
        """Officers' events, of ``officer`` and of kind ``event`` if given, searched for
        ``viewer`` (an officer: the search is recorded under their name): in log order
        (after ``after_index``), or ``newest_first`` (before ``before_index``).
        Raises QueryRefused or HubCallFailed."""
        query = audit_pb2.SearchRequest(
            kind=OFFICER_EVENT_KIND, officer=officer, officer_event=event, limit=limit
        )
        if after_index is not None:
            query.after_index, query.has_after_index = after_index, True
        elif newest_first:
            query.newest_first = True
            if before_index is not None:
                query.before_index, query.has_before_index = before_index, True
        return await self._reader.search(query, viewer)

    async def _record(self, event: str, officer: str, address: str, note: str = "") -> bool:
        request = audit_pb2.OfficerEventRequest(
            event=event, officer=officer, address=address, note=note
        )
        try:
            await self._reader.call(self._reader.audit.RecordOfficerEvent, request)
        except (QueryRefused, HubCallFailed) as exc:
            # Never the name: it may be anything typed into the login form.
            log.error(
                "officer event %s from %s not recorded in the audit log: %s", event, address, exc
            )
            return False
        return True


def recordable(name_tried: str) -> str:
    """The name tried at a login, if it may go into the log; "" otherwise."""
    return name_tried if officer_name_problem(name_tried) is None else ""
