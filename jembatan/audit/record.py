"""The audit record: what the log says about one exchange or call (and, since version 5, an
officer's break-glass review or the console's report of an officer's login, logout,
lockout or export), and how it is hashed.

Records hold identifiers, pseudonyms and digests only — never a field value or a NIK; the
only free text (justifications, officers' notes) is checked to hold no NIK before it is
recorded.
They are stored and hashed as canonical JSON so that anyone can recompute a leaf hash
from an export without our code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

from jembatan.audit.merkle import hash_leaf

# 2: break-glass fields (legal basis, reference, justification, approver).
# 3: on_behalf_of (the person a console-role caller named as whom the call was for). Older
#    records lack the field and parse with it empty; their bytes, as hashed, are unchanged.
# 4: count (how many calls the record stands for: more than 1 only where admission control
#    summed up a member's refusals instead of recording each); older records parse with 1.
# 5: review and officer_event, the two record kinds that are not calls' outcomes alone: an
#    officer's review of a break-glass record, and an officer's login, failed login, logout,
#    lockout or export as the console reported it. Null in every other record; older
#    records lack them and parse with them None.
RECORD_VERSION = 5

# What a break-glass review may conclude (``Review.outcome``).
JUSTIFIED, UNJUSTIFIED, ESCALATED = "justified", "unjustified", "escalated"
REVIEW_OUTCOMES = (JUSTIFIED, UNJUSTIFIED, ESCALATED)
# What the console reports of its officers (``OfficerEvent.event``).
LOGIN, LOGIN_FAILED, LOGOUT, LOCKOUT, EXPORT = (
    "login",
    "login-failed",
    "logout",
    "lockout",
    "export",
)
OFFICER_EVENTS = (LOGIN, LOGIN_FAILED, LOGOUT, LOCKOUT, EXPORT)


@dataclass(frozen=True, slots=True)
class Review:
    """An officer's review of a break-glass record: the record's own ``review``."""

    # The log index of the break-glass record reviewed (always before the review's own).
    reviewed_index: int
    # One of REVIEW_OUTCOMES.
    outcome: str
    # The reviewing officer's note, verbatim (checked to hold no NIK and no control
    # character before it is recorded).
    note: str


@dataclass(frozen=True, slots=True)
class OfficerEvent:
    """What the console reported of one of its officers: the record's ``officer_event``."""

    # One of OFFICER_EVENTS.
    event: str
    # The officer's name; for a failed login or a lockout, the name that was tried (empty
    # if it could not be recorded: not a name, or NIK-like). Never a password.
    officer: str
    # The officer's browser's address as the console saw it (IPv4 or IPv6), or empty.
    address: str
    # What an export held, or which limit a lockout hit; empty otherwise.
    note: str = ""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    time: str
    request_id: str
    client_id: str
    # Serial (hex) of the client's mTLS certificate, so a refused certificate is named.
    client_certificate: str
    service_id: str
    purpose: str
    consent_id: str
    subject: str
    decision: str
    reason: str
    stage: str
    status: str
    policy_version: str
    request_digest: str
    response_digest: str
    fields_requested: tuple[str, ...] = ()
    fields_released: tuple[tuple[str, str], ...] = ()
    fields_dropped: tuple[str, ...] = ()
    # Break-glass: released on a legal obligation or vital interest instead of consent.
    break_glass: bool = False
    legal_basis: str = ""
    legal_reference: str = ""
    justification: str = ""
    approved_by: str = ""
    # The officer (or other person) a caller with the console role vouched for: its
    # certificate is shared by several people, so client_id alone does not say who asked.
    on_behalf_of: str = ""
    # How many calls this record stands for: 1, except for admission control's summary of
    # the RATE_LIMITED refusals of one member it did not record one by one (a flood must
    # not fill the log, nor go uncounted).
    count: int = 1
    # Set only in a break-glass review's record (kind "break-glass-review").
    review: Review | None = None
    # Set only in the record of an officer's login, logout, lockout or export (kind
    # "officer-event").
    officer_event: OfficerEvent | None = None
    version: int = field(default=RECORD_VERSION)

    @property
    def kind(self) -> str:
        """What the record is of: ``REVIEW_KIND``, ``OFFICER_EVENT_KIND``, or ``CALL_KIND``
        (an exchange or a service call, as every record before version 5 is)."""
        if self.review is not None:
            return REVIEW_KIND
        if self.officer_event is not None:
            return OFFICER_EVENT_KIND
        return CALL_KIND

    def canonical_json(self) -> bytes:
        # Not dataclasses.asdict: it deep-copies recursively and is the slow part here.
        doc: dict[str, object] = {f: getattr(self, f) for f in _FIELD_NAMES}
        doc["fields_released"] = [{"name": n, "treatment": t} for n, t in self.fields_released]
        doc["review"] = _object(self.review, _REVIEW_NAMES)
        doc["officer_event"] = _object(self.officer_event, _EVENT_NAMES)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> AuditRecord:
        doc = json.loads(data)
        doc["fields_requested"] = tuple(doc["fields_requested"])
        doc["fields_dropped"] = tuple(doc["fields_dropped"])
        doc["fields_released"] = tuple((f["name"], f["treatment"]) for f in doc["fields_released"])
        if doc.get("review") is not None:
            doc["review"] = Review(**doc["review"])
        if doc.get("officer_event") is not None:
            doc["officer_event"] = OfficerEvent(**doc["officer_event"])
        return cls(**doc)


CALL_KIND, REVIEW_KIND, OFFICER_EVENT_KIND = "call", "break-glass-review", "officer-event"
KINDS = (CALL_KIND, REVIEW_KIND, OFFICER_EVENT_KIND)
_FIELD_NAMES = tuple(f.name for f in fields(AuditRecord))
_REVIEW_NAMES = tuple(f.name for f in fields(Review))
_EVENT_NAMES = tuple(f.name for f in fields(OfficerEvent))


def _object(value: Review | OfficerEvent | None, names: tuple[str, ...]) -> object:
    return None if value is None else {name: getattr(value, name) for name in names}


def leaf_hash(record_json: bytes) -> bytes:
    """The record's RFC 6962 leaf hash: SHA-256(0x00 || canonical JSON)."""
    return hash_leaf(record_json)
