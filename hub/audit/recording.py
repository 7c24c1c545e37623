"""The one way a call becomes an audit record, whichever way it came in.

Two kinds of call are recorded: a query through the pipeline (``hub.pipeline.chain``) and
the hub's services' own calls (``hub.calls``). Each says what the call was in a ``Call``
and hands it, with how the call ended, to ``audit_record``; so the outcome (decision,
reason, status), the time and the fields a kind of call leaves blank read the same in
every record, whoever made it. What only a query has (its consent, the policy, the legal
basis of a break-glass query, what was released) comes as ``QueryDetails``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from jembatan.audit.record import AuditRecord, OfficerEvent, Review
from jembatan.errors import Refusal


@dataclass(frozen=True, slots=True)
class Call:
    """What the record says of a call whatever its outcome: who made it, what it asked for
    and about whom. Identifiers, pseudonyms and digests only, never a NIK or a value."""

    client_id: str
    # Serial (hex) of the caller's certificate.
    client_certificate: str
    # The service a query asks, or the full gRPC method (``jembatan.v1.Audit/Search``).
    service_id: str
    purpose: str
    request_digest: str
    fields_requested: tuple[str, ...] = ()
    # The subject's pseudonym, or empty.
    subject: str = ""
    # A query's correlation id, as its client chose it.
    request_id: str = ""
    # The person a console-role caller vouched for (``hub.on_behalf``).
    on_behalf_of: str = ""


@dataclass(frozen=True, slots=True)
class QueryDetails:
    """What a query through the pipeline adds to its record, as far as it got: the consent
    or legal basis it rested on, the policy that judged it, who approved it, what it
    released and what the agency sent unasked."""

    consent_id: str = ""
    policy_version: str = ""
    fields_released: tuple[tuple[str, str], ...] = ()
    fields_dropped: tuple[str, ...] = ()
    break_glass: bool = False
    legal_basis: str = ""
    legal_reference: str = ""
    justification: str = ""
    approved_by: str = ""


_NOT_A_QUERY = QueryDetails()


def outcome(refusal: Refusal | None) -> tuple[str, str, str]:
    """(decision, reason, gRPC status name) of a call refused with ``refusal``, or answered
    if it is None."""
    if refusal is None:
        return "RELEASED", "", "OK"
    return "REFUSED", refusal.reason, refusal.status.name


def audit_record(
    call: Call,
    refusal: Refusal | None,
    *,
    at: float,
    stage: str,
    response_digest: str = "",
    query: QueryDetails = _NOT_A_QUERY,
    count: int = 1,
    review: Review | None = None,
    officer_event: OfficerEvent | None = None,
) -> AuditRecord:
    """The record of ``call``, refused with ``refusal`` (None: answered) in ``stage`` at
    ``at`` (Unix seconds); ``response_digest`` is that of what it was answered, if
    anything was; ``count`` is how many such calls the record stands for (``hub.admission``
    sums up a flood's refusals). ``review`` and ``officer_event`` make it a record of that
    kind: an answered ``Audit.ReviewBreakGlass`` or ``Audit.RecordOfficerEvent``."""
    decision, reason, status = outcome(refusal)
    return AuditRecord(
        time=datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="milliseconds"),
        request_id=call.request_id,
        client_id=call.client_id,
        client_certificate=call.client_certificate,
        service_id=call.service_id,
        purpose=call.purpose,
        consent_id=query.consent_id,
        subject=call.subject,
        decision=decision,
        reason=reason,
        stage=stage,
        status=status,
        policy_version=query.policy_version,
        request_digest=call.request_digest,
        response_digest=response_digest,
        fields_requested=call.fields_requested,
        fields_released=query.fields_released,
        fields_dropped=query.fields_dropped,
        break_glass=query.break_glass,
        legal_basis=query.legal_basis,
        legal_reference=query.legal_reference,
        justification=query.justification,
        approved_by=query.approved_by,
        on_behalf_of=call.on_behalf_of,
        count=count,
        review=review,
        officer_event=officer_event,
    )
