"""Whom a call is made for, when the certificate on the channel is shared by several people.

The officers' console reads the log with one member certificate for all officers; with each
call it names the officer it acts for in the ``jembatan-on-behalf-of`` metadata, and the hub
records that name beside the certificate (``AuditRecord.on_behalf_of``). Only a caller whose
certificate carries the console role may name anyone (an ordinary auditor client cannot put
its calls on somebody else's name), and the name is kept verbatim in the append-only log, so
it must be short, printable and unable to carry a NIK.
"""

from __future__ import annotations

from jembatan.subject import is_printable, may_hold_nik

ON_BEHALF_OF_METADATA_KEY = "jembatan-on-behalf-of"
MAX_NAME = 64


def name_problem(name: str) -> str | None:
    """Why ``name`` may not be recorded as whom a call is for; None if it may."""
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME:
        return f"the name is longer than {MAX_NAME} characters"
    if not is_printable(name) or name != name.strip():
        return "the name holds control characters or surrounding spaces"
    if may_hold_nik(name):
        return "the name looks like it holds a NIK"
    return None
