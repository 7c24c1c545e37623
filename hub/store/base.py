"""Storage interfaces, narrow on purpose: the pipeline reads, the sequencer appends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from jembatan.errors import JembatanError


class StoreError(JembatanError):
    """The store cannot be opened or used as configured; the message says why."""


@dataclass(frozen=True, slots=True)
class MemberCertificate:
    serial: str  # hex
    member_id: str
    cert_pem: bytes
    not_after: str
    revoked_at: str | None
    # The serial of the certificate this one renewed, if it came from Admin.Renew: revoking
    # that one revokes this one too, so a stolen key cannot renew its way past revocation.
    renewed_from: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def usable_at(self, when: float) -> bool:
        """Not revoked and not expired at ``when`` (Unix seconds)."""
        return not self.revoked and datetime.fromisoformat(self.not_after).timestamp() > when


@dataclass(frozen=True, slots=True)
class ServiceRoute:
    service_id: str
    agency_id: str
    endpoint: str
    # JSON of the field catalogue: [{"name", "type", "description", "sensitivity"}, ...]
    catalogue_json: str
    enabled: bool = True


# States of an enrolment or a connector registration: PENDING until an administrator decides.
PENDING, APPROVED, REJECTED = "PENDING", "APPROVED", "REJECTED"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A member's CSR waiting for, or decided by, an administrator."""

    request_id: str
    member_id: str
    roles: tuple[str, ...]
    csr_pem: bytes
    submitter: str
    submitted_at: str
    state: str = PENDING
    decided_by: str = ""
    decided_at: str = ""
    reason: str = ""
    # The issued certificate's serial (hex), once approved.
    serial: str = ""


@dataclass(frozen=True, slots=True)
class ConnectorRegistration:
    """An agency's connector and the catalogues of its services, as submitted."""

    registration_id: str
    agency_id: str
    endpoint: str
    # JSON {service_id: [{"name", "type", "description", "sensitivity"}, ...]}
    services_json: str
    submitted_at: str
    state: str = PENDING
    decided_by: str = ""
    decided_at: str = ""
    reason: str = ""
    # JSON {service_id: catalogue version}, once approved.
    versions_json: str = "{}"


@dataclass(frozen=True, slots=True)
class CatalogueVersion:
    service_id: str
    version: int
    catalogue_json: str
    approved_at: str


@dataclass(frozen=True, slots=True)
class Nonce:
    """A request nonce, scoped to its issuer, kept until it can no longer be fresh."""

    issuer: str
    value: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An audit record on its way into the log, with the columns officers search by."""

    record_json: bytes
    leaf_hash: bytes
    time: str
    client_id: str
    service_id: str
    decision: str
    reason: str
    subject: str
    # The nonces the exchange claimed (the request's, and an approval's where one was
    # needed): durable with its record, so a restart cannot reopen their replay window.
    nonces: tuple[Nonce, ...] = ()
    # The consent the exchange used, if any: a RELEASED entry counts as one use of it.
    consent_id: str = ""


# A consent's stored states (and REJECTED, shared with requests above); EXPIRED is never
# stored, it is derived from time (``ConsentRecord.state_at``).
REQUESTED, ACTIVE, REVOKED, EXPIRED = "REQUESTED", "ACTIVE", "REVOKED", "EXPIRED"

# service id -> field names, sorted: what a consent asks for or covers.
ServiceFieldMap = dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """What the hub knows of one consent, from request to its end. Never the NIK or the
    artefact itself (it carries the NIK): the subject's pseudonym and the artefact's digest.

    Times are RFC 3339 UTC strings, empty when not (yet) applicable.
    """

    consent_id: str
    subject: str  # keyed pseudonym
    grantee: str
    purpose: str
    purpose_text: str
    requested: ServiceFieldMap
    valid_for_s: int
    data_life_s: int
    requested_at: str
    respond_by: str
    status: str  # REQUESTED, ACTIVE, REJECTED or REVOKED
    granted: ServiceFieldMap = field(default_factory=dict)
    artefact_digest: str = ""
    decided_at: str = ""
    not_before: str = ""
    expires_at: str = ""
    revoked_at: str = ""
    rejection_reason: str = ""
    uses: int = 0
    last_used: str = ""

    def state_at(self, now: datetime) -> str:
        """The state as of ``now``: a pending request or an active consent whose time has
        run out is EXPIRED, whatever was stored."""
        deadline = {REQUESTED: self.respond_by, ACTIVE: self.expires_at}.get(self.status)
        if deadline and now >= datetime.fromisoformat(deadline):
            return EXPIRED
        return self.status


@dataclass(frozen=True, slots=True)
class ConsentGrant:
    """The parts of a verified artefact the hub keeps when it is granted."""

    consent_id: str
    artefact_digest: str  # SHA-256 hex of the compact JWS
    granted: ServiceFieldMap
    not_before: str
    expires_at: str
    decided_at: str


class RegistryStore(Protocol):
    """What the pipeline reads on every query, and the administrative writes beside it."""

    def member_certificate(self, serial: str) -> MemberCertificate | None: ...

    def add_member_certificate(self, cert: MemberCertificate) -> None: ...

    def add_renewal(self, cert: MemberCertificate) -> bool:
        """Register ``cert``, the renewal of ``cert.renewed_from``, if that certificate is
        registered, unrevoked and not yet renewed (one successor each); False otherwise."""
        ...

    def renewal_of(self, serial: str) -> MemberCertificate | None:
        """The certificate renewed from ``serial``, if any."""
        ...

    def revoke_certificate(self, serial: str, at: str, reason: str) -> list[str]:
        """Revoke ``serial`` and, in the same transaction and with the same reason, every
        certificate renewed from it, transitively. The serials revoked, ``serial`` first;
        empty if it is unknown or already revoked."""
        ...

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]: ...

    def service(self, service_id: str) -> ServiceRoute | None: ...

    def put_service(self, route: ServiceRoute) -> None: ...

    def services(self) -> list[ServiceRoute]: ...

    def consent(self, consent_id: str) -> ConsentRecord | None: ...

    def consents_of(self, subject: str) -> list[ConsentRecord]:
        """Every consent of the subject (a pseudonym), oldest first."""
        ...

    def add_consent(self, record: ConsentRecord) -> bool:
        """Insert a new record (a request, or a direct grant); False if the id is taken."""
        ...

    def grant_consent(self, grant: ConsentGrant, *, now: str) -> bool:
        """REQUESTED and not past its respond_by at ``now`` -> ACTIVE; False otherwise."""
        ...

    def reject_consent(self, consent_id: str, reason: str, *, now: str) -> bool:
        """REQUESTED and not past its respond_by -> REJECTED; False otherwise."""
        ...

    def revoke_consent(self, consent_id: str, *, now: str) -> bool:
        """ACTIVE and not past its expiry -> REVOKED; False otherwise."""
        ...

    def live_nonces(self, now: int) -> Iterable[Nonce]: ...

    def claim(self, target: str, token: str, *, now: int, hold_s: int) -> bool:
        """Take ``target`` (e.g. ``enrolment:enr-…``) for ``hold_s`` seconds under
        ``token``, unless someone else holds it; False if they do. Visible to every
        process on the store once it returns."""
        ...

    def release_claim(self, target: str, token: str) -> None:
        """Let ``target`` go, if ``token`` still holds it."""
        ...

    def set_service_enabled(self, service_id: str, enabled: bool) -> bool: ...

    def add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int: ...

    def next_catalogue_version(self, service_id: str, catalogue_json: str) -> int: ...

    def catalogue(self, service_id: str, version: int | None = None) -> CatalogueVersion | None: ...

    def current_catalogue_versions(self) -> dict[str, int]: ...


class AdministrationStore(Protocol):
    """Requests that wait for an administrator, and the decisions that take effect at once."""

    def add_enrolment(self, enrolment: Enrolment) -> None: ...

    def enrolment(self, request_id: str) -> Enrolment | None: ...

    def enrolments(self, state: str | None = None) -> list[Enrolment]: ...

    def approve_enrolment(
        self, request_id: str, decided_by: str, at: str, cert: MemberCertificate
    ) -> bool:
        """Mark it approved and register ``cert`` together; False if no longer pending."""
        ...

    def reject_enrolment(self, request_id: str, decided_by: str, at: str, reason: str) -> bool: ...

    def add_connector_registration(self, registration: ConnectorRegistration) -> None: ...

    def connector_registration(self, registration_id: str) -> ConnectorRegistration | None: ...

    def connector_registrations(self, state: str | None = None) -> list[ConnectorRegistration]: ...

    def approve_connector_registration(
        self, registration_id: str, decided_by: str, at: str
    ) -> dict[str, int] | None:
        """Route its services and version their catalogues together; the version of each,
        or None if no longer pending."""
        ...

    def reject_connector_registration(
        self, registration_id: str, decided_by: str, at: str, reason: str
    ) -> bool: ...


class AuditWriter(Protocol):
    """The log's writer: appends a batch in one durable transaction.

    The writer, not its caller, decides where the batch goes: it reads the log's size inside
    the batch's transaction, under the engine's sequencing lock, so when several hub
    replicas append to one store each batch gets the next indices and none is skipped,
    reused or lost.
    """

    def append(self, entries: Sequence[PendingEntry]) -> int:
        """Append ``entries`` durably; the index of the first."""
        ...

    def probe(self) -> None:
        """Write a record and roll it back: raises if the log cannot take one now (health
        checks after a failed append)."""
        ...

    def close(self) -> None: ...


class AuditReader(Protocol):
    """The log's read side: records, the Merkle tree over them, and officers' search."""

    def size(self) -> int: ...

    def entry(self, index: int) -> tuple[bytes, bytes] | None:
        """(leaf_hash, record_json) at ``index``."""
        ...

    def entries(self) -> Iterable[tuple[int, bytes, bytes]]: ...

    def tree_size(self) -> int: ...

    def tree_root(self, size: int) -> bytes: ...

    def committed_leaf(self, index: int) -> bytes: ...

    def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...

    def inclusion_proofs(self, start: int, end: int, size: int) -> Iterator[list[bytes]]: ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...

    def committed_entries(
        self, size: int, start: int = 0
    ) -> Iterator[tuple[int, bytes, bytes | None]]: ...

    def search(
        self,
        filters: Mapping[str, str],
        *,
        after_index: int | None,
        limit: int,
        before_index: int | None = None,
        newest_first: bool = False,
    ) -> list[tuple[int, bytes, bytes]]:
        """(index, leaf hash, record) matching every filter, in log order or newest first
        (the filters: ``hub.store.audit_log.AuditTables.search``)."""
        ...


class CheckpointStore(Protocol):
    """Signed checkpoints, kept beside the log; the tree they sign is read from it too."""

    def tree_size(self) -> int: ...

    def tree_root(self, size: int) -> bytes: ...

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: str) -> None: ...

    def latest_checkpoint(self) -> tuple[int, str] | None: ...

    def latest_checkpoint_signed(self) -> tuple[int, str] | None:
        """(size, signed_at) of the largest checkpoint."""
        ...

    def checkpoints(self) -> list[tuple[int, str]]: ...

    def add_cosignature(self, size: int, witness: str, line: str, cosigned_at: int) -> None: ...

    def cosignatures(self, size: int) -> list[str]:
        """The witnesses' cosignature lines of the checkpoint of ``size``."""
        ...

    def latest_cosignatures(self) -> dict[str, tuple[int, int]]:
        """Witness name → (size, unix time) of the largest checkpoint it cosigned."""
        ...

    def first_checkpoint_after(self, size: int) -> str | None:
        """When (ISO 8601) the smallest checkpoint larger than ``size`` was signed."""
        ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]: ...


class Lease(Protocol):
    """A role that one process at a time holds (signing the scheduled checkpoints)."""

    def held(self) -> bool:
        """Whether this process holds it now, taking it if it is free."""
        ...

    def close(self) -> None: ...


class SoleLease:
    """The lease of an engine only one hub process uses: always held."""

    def held(self) -> bool:
        return True

    def close(self) -> None:
        pass


class HubStore(RegistryStore, AdministrationStore, AuditReader, CheckpointStore, Protocol):
    """Everything one hub process reads and writes outside the sequencer: what
    ``hub.store.open_store`` returns for either engine."""

    # True when other hub processes may serve from the same store (PostgreSQL): replay
    # nonces must then be claimed in it, not only in memory.
    shared: bool
    # How many worker threads should call it, so that none of its calls waits on the event
    # loop (0: call it inline; hub.store.offloop.StoreCalls).
    threads: int

    def generation(self) -> int:
        """Changes whenever a certificate or a service changes, from any process."""
        ...

    def claim_nonce(self, nonce: Nonce, now: int) -> bool:
        """Record ``nonce`` unless a live one (expires_at >= ``now``) is already there;
        False for a replay. Visible to every process on the store once it returns."""
        ...

    def signer_lease(self) -> Lease:
        """The lease that elects the one process signing scheduled checkpoints."""
        ...

    def close(self) -> None: ...


def describe_error(exc: BaseException) -> str:
    """A storage error for logs and refusals: its class and first line only. Drivers add
    detail lines quoting the values of the offending row (PostgreSQL's ``DETAIL: Key (…)=(…)``),
    which must not reach a log."""
    first_line = str(exc).split("\n", 1)[0].strip()
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
