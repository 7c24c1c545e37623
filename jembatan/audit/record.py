"""The audit record: what the log says about one exchange, and how it is hashed.

Records hold identifiers, pseudonyms and digests only — never a field value or a NIK.
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
RECORD_VERSION = 4


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
    version: int = field(default=RECORD_VERSION)

    def canonical_json(self) -> bytes:
        # Not dataclasses.asdict: it deep-copies recursively and is the slow part here.
        doc: dict[str, object] = {f: getattr(self, f) for f in _FIELD_NAMES}
        doc["fields_released"] = [{"name": n, "treatment": t} for n, t in self.fields_released]
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> AuditRecord:
        doc = json.loads(data)
        doc["fields_requested"] = tuple(doc["fields_requested"])
        doc["fields_dropped"] = tuple(doc["fields_dropped"])
        doc["fields_released"] = tuple((f["name"], f["treatment"]) for f in doc["fields_released"])
        return cls(**doc)


_FIELD_NAMES = tuple(f.name for f in fields(AuditRecord))


def leaf_hash(record_json: bytes) -> bytes:
    """The record's RFC 6962 leaf hash: SHA-256(0x00 || canonical JSON)."""
    return hash_leaf(record_json)
