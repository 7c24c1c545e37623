"""The officers' own trail: what the console reports of its officers, appended to the log.

Logins, failed logins, logouts, lockouts and exports happen in the console, not the hub;
the console reports each with ``Audit.RecordOfficerEvent`` over its own certificate (the
console role: nobody else may put words in an officer's mouth), and the answered call is the
record (``AuditRecord.officer_event``), in the same Merkle log as everything the officer
then reads. What is kept is checked like every text the hub keeps verbatim: the officer's
name (for a failed login, the name tried) must be a short printable name that cannot hold a
NIK, the address an IP address, the note free text without a NIK. A password never reaches
the hub: the request has no field for one.
"""

from __future__ import annotations

import ipaddress

from jembatan.audit.record import LOCKOUT, LOGIN_FAILED, OFFICER_EVENTS, OfficerEvent
from jembatan.errors import Refusal
from jembatan.on_behalf import name_problem
from jembatan.subject import free_text_problem
from jembatan.v1 import audit_pb2

MAX_NOTE = 1000
_MAX_ADDRESS = 64
# Events whose name may be withheld: the name tried at a failed login may be anything the
# person typed, and the console sends it only if it could be recorded.
_NAME_OPTIONAL = frozenset({LOGIN_FAILED, LOCKOUT})


def officer_event(request: audit_pb2.OfficerEventRequest) -> OfficerEvent:
    """The event to record, or the ``Refusal`` (MALFORMED_REQUEST) saying what is wrong."""
    if request.event not in OFFICER_EVENTS:
        raise Refusal("MALFORMED_REQUEST", f"event must be one of {', '.join(OFFICER_EVENTS)}")
    if request.officer or request.event not in _NAME_OPTIONAL:
        problem = name_problem(request.officer)
        if problem:
            raise Refusal("MALFORMED_REQUEST", f"officer: {problem}")
    if request.address:
        try:
            if len(request.address) > _MAX_ADDRESS:
                raise ValueError(request.address)
            ipaddress.ip_address(request.address)
        except ValueError:
            raise Refusal("MALFORMED_REQUEST", "address must be an IP address") from None
    if request.note:
        problem = free_text_problem(request.note, MAX_NOTE)
        if problem:
            raise Refusal("MALFORMED_REQUEST", f"the note {problem}")
    return OfficerEvent(request.event, request.officer, request.address, request.note)
