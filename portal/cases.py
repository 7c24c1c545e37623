"""Cases: what a person must look at because the system could not, or should not, decide
alone, each with a tamper-evident history.

A case has an opaque id, a kind (``KINDS``), a village, the application and the citizen
account it concerns (if any), a status (``baru`` → ``ditugaskan`` → ``dikunjungi`` →
``selesai``), and a history. Every step is an entry: the case id, its sequence number, the
time, the actor (a citizen account id, a staff id, or ``sistem``), on whose behalf (a
companion acting for a citizen), the action, and structured details — never a NIK, never
a value an agency released (the decision that holds those is sealed elsewhere).

**Tamper evidence.** Each entry's hash is the SHA-256 of the canonical JSON of the entry
(sorted keys, no spaces, UTF-8: the encoding of the hub's audit records,
``AuditRecord.canonical_json``) including the previous entry's hash, so an entry cannot be
changed, removed or moved without breaking every link after it. The head — case id, length,
last hash — is signed with the portal's case-history key (Ed25519, ``portal/keys.py``), so
the last entries cannot be cut off or the chain rewritten without the key.
``verify_history`` is a pure function over the entries, the signed head and the public key,
like the hub's audit proofs (``jembatan/audit/verify.py``): it names the first entry that is
not what the signed head committed to.

The public API other parts call: ``open_case``, ``append``, ``history``, ``verify_history``
and ``verify_case``; the rows are ``portal.store.Case``/``CaseEntry``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jembatan.errors import JembatanError
from jembatan.subject import may_hold_nik
from portal.store import Case, CaseEntry, PortalStore, opaque_id

__all__ = [
    "ASSIGNED",
    "CLOSED",
    "KINDS",
    "OPEN",
    "SYSTEM",
    "VISITED",
    "HistoryBroken",
    "SignedHead",
    "append",
    "canonical_json",
    "entry_hash",
    "history",
    "open_case",
    "signed_head",
    "verify_case",
    "verify_history",
]

KINDS = (
    "consent_refused",  # the citizen refused consent: checked on the ground instead
    "needs_review",  # the formula's borderline band: an agency did not answer, or unreadable
    "hub_unavailable",  # no decision could be made through the hub
    "objection_own",  # reserved: an objection against one's own decision or data
    "objection_recipient",  # reserved: a report against a recipient
    "proposal",  # reserved: a household proposed by another, without its consent
)
OPEN, ASSIGNED, VISITED, CLOSED = "baru", "ditugaskan", "dikunjungi", "selesai"
STATUSES = (OPEN, ASSIGNED, VISITED, CLOSED)
SYSTEM = "sistem"  # the actor of what the portal does by itself

_HEAD_CONTEXT = b"jembatan-portal-case-head/1\n"
_GENESIS = "0" * 64  # the "previous hash" of a first entry


class HistoryBroken(JembatanError):
    """A case's history is not what its signed head committed to; names the case and the
    first bad entry (``seq``; None when the head itself is bad)."""

    def __init__(self, case_id: str, seq: int | None, problem: str) -> None:
        where = f"case {case_id}" + (f" entry {seq}" if seq is not None else "")
        super().__init__(f"{where}: {problem}")
        self.case_id, self.seq, self.problem = case_id, seq, problem


@dataclass(frozen=True, slots=True)
class SignedHead:
    case_id: str
    length: int
    head_hash: str
    signature: bytes

    def message(self) -> bytes:
        return signed_message(self.case_id, self.length, self.head_hash)


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per document, as the audit log's."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(
    *,
    case_id: str,
    seq: int,
    at: int,
    actor: str,
    on_behalf_of: str,
    action: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    doc = {
        "case_id": case_id,
        "seq": seq,
        "at": at,
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "action": action,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(doc)).hexdigest()


def signed_message(case_id: str, length: int, head_hash: str) -> bytes:
    head = {"case_id": case_id, "length": length, "head_hash": head_hash}
    return _HEAD_CONTEXT + canonical_json(head)


def signed_head(case: Case) -> SignedHead:
    """The signed head as the case row holds it."""
    try:
        signature = base64.b64decode(case.head_signature, validate=True)
    except ValueError:
        signature = b""
    return SignedHead(case.id, case.head_length, case.head_hash, signature)


def _sign(key: Ed25519PrivateKey, case_id: str, length: int, head_hash: str) -> str:
    return base64.b64encode(key.sign(signed_message(case_id, length, head_hash))).decode()


def _no_nik(value: Any, path: str = "details") -> None:
    # A history is shown to the citizen and kept for long: no NIK in it, ever.
    if isinstance(value, str):
        if may_hold_nik(value):
            raise ValueError(f"{path} may hold a NIK: a case history never holds one")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _no_nik(str(k), path)
            _no_nik(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _no_nik(v, f"{path}[{i}]")
    elif isinstance(value, float):
        raise ValueError(f"{path}: no floats in a history (their JSON is not canonical)")


def _entry(
    case_id: str,
    seq: int,
    at: int,
    actor: str,
    on_behalf_of: str,
    action: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> CaseEntry:
    _no_nik(details)
    _no_nik([actor, on_behalf_of, action], "actor")
    digest = entry_hash(
        case_id=case_id,
        seq=seq,
        at=at,
        actor=actor,
        on_behalf_of=on_behalf_of,
        action=action,
        details=details,
        prev_hash=prev_hash,
    )
    text = canonical_json(details).decode()
    return CaseEntry(case_id, seq, at, actor, on_behalf_of, action, text, prev_hash, digest)


# --- the public API --------------------------------------------------------------------


def open_case(
    store: PortalStore,
    key: Ed25519PrivateKey,
    *,
    kind: str,
    village: str,
    application_id: str = "",
    account_id: str = "",
    actor: str = SYSTEM,
    on_behalf_of: str = "",
    details: Mapping[str, Any] | None = None,
    now: int | None = None,
) -> Case:
    """A new case, status ``baru``, its history's first entry ``opened``."""
    if kind not in KINDS:
        raise ValueError(f"unknown case kind {kind!r}")
    at = int(time.time()) if now is None else now
    case_id = opaque_id()
    first = _entry(
        case_id, 1, at, actor, on_behalf_of, "opened", {"kind": kind, **(details or {})}, _GENESIS
    )
    case = Case(
        id=case_id,
        kind=kind,
        village=village.strip().lower(),
        application_id=application_id,
        account_id=account_id,
        status=OPEN,
        assigned_to="",
        outcome="",
        created_at=at,
        updated_at=at,
        head_length=1,
        head_hash=first.hash,
        head_signature=_sign(key, case_id, 1, first.hash),
    )
    store.add_case(case, first)
    return case


def append(
    store: PortalStore,
    key: Ed25519PrivateKey,
    case_id: str,
    *,
    actor: str,
    action: str,
    details: Mapping[str, Any] | None = None,
    on_behalf_of: str = "",
    was_status: Sequence[str] = (),
    status: str | None = None,
    assigned_to: str | None = None,
    outcome: str | None = None,
    now: int | None = None,
) -> CaseEntry | None:
    """Append an entry and, with it, move the case (``status``, ``assigned_to``,
    ``outcome``), only if its status is one of ``was_status`` (when given): None if it is
    not (someone else moved it first), or there is no such case."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown case status {status!r}")
    for _ in range(5):  # another append in between: build on the new head
        case = store.case(case_id)
        if case is None or (was_status and case.status not in was_status):
            return None
        at = int(time.time()) if now is None else now
        entry = _entry(
            case_id,
            case.head_length + 1,
            at,
            actor,
            on_behalf_of,
            action,
            details or {},
            case.head_hash,
        )
        if store.append_case_entry(
            entry,
            head_signature=_sign(key, case_id, entry.seq, entry.hash),
            was_length=case.head_length,
            was_status=was_status,
            status=status,
            assigned_to=assigned_to,
            outcome=outcome,
        ):
            return entry
    return None


def history(store: PortalStore, case_id: str) -> tuple[Case, list[CaseEntry]] | None:
    """The case and its history as stored (not yet verified: ``verify_history``)."""
    case = store.case(case_id)
    if case is None:
        return None
    return case, store.case_entries(case_id)


def details_of(entry: CaseEntry) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(entry.details)
    return loaded


def verify_history(
    entries: Sequence[CaseEntry], head: SignedHead, public_key: Ed25519PublicKey
) -> int:
    """Check a case's history against its signed head; the number of entries verified.
    Raises HistoryBroken naming the first entry that is not what the head committed to
    (changed, removed, inserted, reordered, or from another case)."""
    case_id = head.case_id
    try:
        public_key.verify(head.signature, head.message())
    except InvalidSignature:
        raise HistoryBroken(case_id, None, "the signed head does not verify") from None
    prev = _GENESIS
    for position, entry in enumerate(entries, start=1):
        if entry.case_id != case_id:
            raise HistoryBroken(case_id, position, "belongs to another case")
        if entry.seq != position:
            raise HistoryBroken(
                case_id, position, f"out of place (numbered {entry.seq}): removed or reordered"
            )
        if entry.prev_hash != prev:
            raise HistoryBroken(
                case_id,
                position,
                f"does not follow entry {position - 1}: an entry was changed, removed,"
                " inserted or reordered",
            )
        try:
            details = json.loads(entry.details)
        except ValueError:
            raise HistoryBroken(case_id, position, "its details are not JSON") from None
        computed = entry_hash(
            case_id=entry.case_id,
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            on_behalf_of=entry.on_behalf_of,
            action=entry.action,
            details=details,
            prev_hash=entry.prev_hash,
        )
        if computed != entry.hash:
            raise HistoryBroken(case_id, position, "changed after it was written")
        prev = entry.hash
    if len(entries) < head.length:
        raise HistoryBroken(
            case_id, len(entries) + 1, f"missing (the signed head covers {head.length} entries)"
        )
    if len(entries) > head.length:
        raise HistoryBroken(case_id, head.length + 1, "not covered by the signed head")
    if prev != head.head_hash:
        raise HistoryBroken(case_id, head.length, "not the entry the signed head names")
    return len(entries)


def verify_case(store: PortalStore, public_key: Ed25519PublicKey, case_id: str) -> int:
    """``verify_history`` over the case as stored; raises HistoryBroken (or LookupError)."""
    found = history(store, case_id)
    if found is None:
        raise LookupError(f"no case {case_id}")
    case, entries = found
    return verify_history(entries, signed_head(case), public_key)
