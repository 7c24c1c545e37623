"""The hub's storage logic, once for both engines.

Everything here is plain SQL that SQLite and PostgreSQL both accept (``?`` placeholders,
``ON CONFLICT``, ``TRUE``), run through a ``Database``: the engine's connection, its
transactions and its few differences (JSON search, sequencing lock, the signer lease). The
engines (``sqlite``, ``postgres``) own only their connection, schema and those differences.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from hub.audit import tree
from hub.store.base import (
    ACTIVE,
    APPROVED,
    PENDING,
    REJECTED,
    REQUESTED,
    REVOKED,
    CatalogueVersion,
    ConnectorRegistration,
    ConsentGrant,
    ConsentRecord,
    Enrolment,
    Lease,
    MemberCertificate,
    Nonce,
    PendingEntry,
    ServiceFieldMap,
    ServiceRoute,
)
from jembatan.audit.merkle import hash_leaf

# The officers' search filters (``SqlStore.search``). The JSON ones differ per engine.
SEARCH_COLUMNS = {
    "time_from": "time >= ?",
    "time_to": "time < ?",
    "client_id": "client_id = ?",
    "service_id": "service_id = ?",
    "decision": "decision = ?",
    "reason": "reason = ?",
    "subject": "subject = ?",
}

_EXPORT_PAGE = 4096
_NONCE_PRUNE_EVERY_S = 60


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """One engine connection as the shared logic uses it."""

    @property
    def json_clauses(self) -> Mapping[str, str]:
        """Clauses on the record's JSON: purpose, on_behalf_of and break_glass, each
        "… = ?"."""
        ...

    @property
    def count_uses_sql(self) -> str:
        """Upsert of (consent_id, uses, last_used) into consent_usage, keeping the later
        last use."""
        ...

    @property
    def shared(self) -> bool:
        """Other hub processes may use the same database."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction; committed on leaving, rolled back on an exception."""
        ...

    def sequencing(self) -> AbstractContextManager[None]:
        """A write transaction in which this process alone appends to the log."""
        ...

    def lease(self) -> Lease: ...

    def close(self) -> None: ...


# --- rows <-> records -------------------------------------------------------------------

ENROLMENT_COLUMNS = (
    "request_id, member_id, roles, csr_pem, submitter, submitted_at, state, decided_by,"
    " decided_at, reason, serial"
)
REGISTRATION_COLUMNS = (
    "registration_id, agency_id, endpoint, services, submitted_at, state, decided_by,"
    " decided_at, reason, versions"
)
CONSENT_SELECT = (
    "c.consent_id, c.subject, c.grantee, c.purpose, c.purpose_text, c.requested,"
    " c.valid_for_s, c.data_life_s, c.requested_at, c.respond_by, c.status, c.granted,"
    " c.artefact_digest, c.decided_at, c.not_before, c.expires_at, c.revoked_at,"
    " c.rejection_reason, COALESCE(u.uses, 0), COALESCE(u.last_used, '')"
    " FROM consents c LEFT JOIN consent_usage u ON u.consent_id = c.consent_id"
)
_CERT_SELECT = (
    "SELECT serial, member_id, cert_pem, not_after, revoked_at, renewed_from"
    " FROM member_certificates"
)
# The serials renewed from ``?``, transitively (the serial itself included).
_RENEWAL_CHAIN = (
    "WITH RECURSIVE chain (serial) AS"
    " (SELECT serial FROM member_certificates WHERE serial = ? UNION"
    " SELECT m.serial FROM member_certificates m JOIN chain c ON m.renewed_from = c.serial)"
    " SELECT serial FROM chain"
)
_SERVICE_SELECT = "SELECT service_id, agency_id, endpoint, catalogue, enabled FROM services"


def services_json(services: ServiceFieldMap) -> str:
    return json.dumps({s: list(f) for s, f in sorted(services.items())}, separators=(",", ":"))


def services_of(text: str) -> ServiceFieldMap:
    return {s: tuple(f) for s, f in json.loads(text).items()}


def enrolment_from_row(row: Sequence[Any]) -> Enrolment:
    return Enrolment(row[0], row[1], tuple(json.loads(row[2])), bytes(row[3]), *row[4:])


def registration_from_row(row: Sequence[Any]) -> ConnectorRegistration:
    return ConnectorRegistration(*row)


def consent_from_row(row: Sequence[Any]) -> ConsentRecord:
    return ConsentRecord(
        consent_id=row[0],
        subject=row[1],
        grantee=row[2],
        purpose=row[3],
        purpose_text=row[4],
        requested=services_of(row[5]),
        valid_for_s=int(row[6]),
        data_life_s=int(row[7]),
        requested_at=row[8],
        respond_by=row[9],
        status=row[10],
        granted=services_of(row[11]),
        artefact_digest=row[12],
        decided_at=row[13],
        not_before=row[14],
        expires_at=row[15],
        revoked_at=row[16],
        rejection_reason=row[17],
        uses=int(row[18]),
        last_used=row[19],
    )


def consent_row(record: ConsentRecord) -> tuple[Any, ...]:
    return (
        record.consent_id,
        record.subject,
        record.grantee,
        record.purpose,
        record.purpose_text,
        services_json(record.requested),
        record.valid_for_s,
        record.data_life_s,
        record.requested_at,
        record.respond_by,
        record.status,
        services_json(record.granted),
        record.artefact_digest,
        record.decided_at,
        record.not_before,
        record.expires_at,
        record.revoked_at,
        record.rejection_reason,
    )


def cert_from_row(row: Sequence[Any]) -> MemberCertificate:
    return MemberCertificate(
        serial=row[0],
        member_id=row[1],
        cert_pem=bytes(row[2]),
        not_after=row[3],
        revoked_at=row[4],
        renewed_from=row[5],
    )


def route_from_row(row: Sequence[Any]) -> ServiceRoute:
    return ServiceRoute(row[0], row[1], row[2], row[3], bool(row[4]))


def consent_uses(entries: Sequence[PendingEntry]) -> list[tuple[str, int, str]]:
    """(consent id, uses, last use) per consent released under in ``entries``."""
    uses: dict[str, tuple[int, str]] = {}
    for e in entries:
        if e.consent_id and e.decision == "RELEASED":
            count, last = uses.get(e.consent_id, (0, ""))
            uses[e.consent_id] = (count + 1, max(last, e.time))
    return [(cid, count, last) for cid, (count, last) in uses.items()]


class NodeTable:
    """The tree's complete nodes in ``audit_nodes`` (a tree.NodeReader); writes join the
    caller's transaction, so the tree and the log are durable together or not at all."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def node(self, level: int, index: int) -> bytes:
        row = self._db.execute(
            "SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?", (level, index)
        ).fetchone()
        if row is None:
            raise tree.MissingNode(level, index)
        return bytes(row[0])

    def put(self, nodes: Iterable[tree.Node]) -> None:
        # Plain INSERT: a node written twice is a sequencing bug and fails the batch.
        self._db.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)


class SqlStore:
    """The hub's store (``HubStore``): registry, administration, consents, nonces, and the
    audit log's read side with its tree, checkpoints and search."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._nodes = NodeTable(db)
        self.shared = db.shared

    def close(self) -> None:
        self._db.close()

    def generation(self) -> int:
        """Changes whenever a certificate or a service changes, from any process."""
        return int(self._db.execute("SELECT value FROM registry_generation").fetchone()[0])

    def signer_lease(self) -> Lease:
        return self._db.lease()

    # members
    def member_certificate(self, serial: str) -> MemberCertificate | None:
        row = self._db.execute(_CERT_SELECT + " WHERE serial = ?", (serial,)).fetchone()
        return cert_from_row(row) if row else None

    def add_member_certificate(self, cert: MemberCertificate) -> None:
        self._db.execute(
            "INSERT INTO member_certificates (serial, member_id, cert_pem, not_after,"
            " renewed_from) VALUES (?, ?, ?, ?, ?)",
            (cert.serial, cert.member_id, cert.cert_pem, cert.not_after, cert.renewed_from),
        )

    def add_renewal(self, cert: MemberCertificate) -> bool:
        # In the registry's write transaction, as revocation is: a renewal and a revocation
        # of its predecessor run one after the other, so either the renewal is in the chain
        # the revocation walks, or it sees the predecessor revoked and is not made.
        if cert.renewed_from is None:
            raise ValueError("a renewal names the certificate it renews")
        with self._db.transaction():
            predecessor = self._db.execute(
                "SELECT 1 FROM member_certificates WHERE serial = ? AND revoked_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM member_certificates WHERE renewed_from = ?)",
                (cert.renewed_from, cert.renewed_from),
            ).fetchone()
            if predecessor is None:
                return False
            self.add_member_certificate(cert)
            return True

    def renewal_of(self, serial: str) -> MemberCertificate | None:
        row = self._db.execute(_CERT_SELECT + " WHERE renewed_from = ?", (serial,)).fetchone()
        return cert_from_row(row) if row else None

    def revoke_certificate(self, serial: str, at: str, reason: str) -> list[str]:
        with self._db.transaction():
            cursor = self._db.execute(
                "UPDATE member_certificates SET revoked_at = ?, revocation_reason = ?"
                " WHERE serial = ? AND revoked_at IS NULL",
                (at, reason, serial),
            )
            if cursor.rowcount != 1:
                return []
            # Renewals of a revoked certificate go with it: whoever held its key may have
            # renewed onto a key of their own. Already revoked ones keep their own reason.
            renewed = [
                row[0]
                for row in self._db.execute(
                    f"SELECT serial FROM member_certificates WHERE serial IN ({_RENEWAL_CHAIN})"
                    " AND serial <> ? AND revoked_at IS NULL ORDER BY serial",
                    (serial, serial),
                )
            ]
            self._db.executemany(
                "UPDATE member_certificates SET revoked_at = ?, revocation_reason = ?"
                " WHERE serial = ?",
                [(at, reason, s) for s in renewed],
            )
            return [serial, *renewed]

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]:
        rows = (
            self._db.execute(_CERT_SELECT + " WHERE member_id = ? ORDER BY serial", (member_id,))
            if member_id
            else self._db.execute(_CERT_SELECT + " ORDER BY member_id, serial")
        )
        return [cert_from_row(row) for row in rows]

    # services
    def service(self, service_id: str) -> ServiceRoute | None:
        row = self._db.execute(_SERVICE_SELECT + " WHERE service_id = ?", (service_id,)).fetchone()
        return route_from_row(row) if row else None

    def put_service(self, route: ServiceRoute) -> None:
        self._db.execute(
            "INSERT INTO services (service_id, agency_id, endpoint, catalogue, enabled)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET"
            " agency_id = excluded.agency_id, endpoint = excluded.endpoint,"
            " catalogue = excluded.catalogue, enabled = excluded.enabled",
            (
                route.service_id,
                route.agency_id,
                route.endpoint,
                route.catalogue_json,
                route.enabled,
            ),
        )

    def services(self) -> list[ServiceRoute]:
        return [
            route_from_row(r) for r in self._db.execute(_SERVICE_SELECT + " ORDER BY service_id")
        ]

    def set_service_enabled(self, service_id: str, enabled: bool) -> bool:
        cursor = self._db.execute(
            "UPDATE services SET enabled = ? WHERE service_id = ?", (enabled, service_id)
        )
        return cursor.rowcount == 1

    # versioned field catalogues
    def add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int:
        """The service's catalogue version after recording ``catalogue_json``: a new one
        only if it differs from the current catalogue (re-registering the same is no change)."""
        with self._db.transaction():
            return self._add_catalogue_version(service_id, catalogue_json, at)

    def _add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int:
        version = self.next_catalogue_version(service_id, catalogue_json)
        self._db.execute(
            "INSERT INTO service_catalogues (service_id, version, catalogue, approved_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (service_id, version, catalogue_json, at),
        )
        return version

    def next_catalogue_version(self, service_id: str, catalogue_json: str) -> int:
        """The version ``catalogue_json`` would have: the current one if it is the same
        catalogue, else the next."""
        current = self.catalogue(service_id)
        if current is None:
            return 1
        same = json.loads(current.catalogue_json) == json.loads(catalogue_json)
        return current.version if same else current.version + 1

    def catalogue(self, service_id: str, version: int | None = None) -> CatalogueVersion | None:
        """One version of the service's catalogue; the latest when ``version`` is None."""
        query = "SELECT service_id, version, catalogue, approved_at FROM service_catalogues"
        row = (
            self._db.execute(
                query + " WHERE service_id = ? ORDER BY version DESC LIMIT 1", (service_id,)
            ).fetchone()
            if version is None
            else self._db.execute(
                query + " WHERE service_id = ? AND version = ?", (service_id, version)
            ).fetchone()
        )
        return CatalogueVersion(row[0], int(row[1]), row[2], row[3]) if row else None

    def current_catalogue_versions(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT service_id, MAX(version) FROM service_catalogues GROUP BY service_id"
        )
        return {service_id: int(version) for service_id, version in rows}

    # enrolments
    def add_enrolment(self, enrolment: Enrolment) -> None:
        e = enrolment
        self._db.execute(
            f"INSERT INTO enrolments ({ENROLMENT_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.request_id,
                e.member_id,
                json.dumps(list(e.roles)),
                e.csr_pem,
                e.submitter,
                e.submitted_at,
                e.state,
                e.decided_by,
                e.decided_at,
                e.reason,
                e.serial,
            ),
        )

    def enrolment(self, request_id: str) -> Enrolment | None:
        row = self._db.execute(
            f"SELECT {ENROLMENT_COLUMNS} FROM enrolments WHERE request_id = ?", (request_id,)
        ).fetchone()
        return enrolment_from_row(row) if row else None

    def enrolments(self, state: str | None = None) -> list[Enrolment]:
        query = f"SELECT {ENROLMENT_COLUMNS} FROM enrolments"
        rows = (
            self._db.execute(query + " WHERE state = ? ORDER BY submitted_at, request_id", (state,))
            if state
            else self._db.execute(query + " ORDER BY submitted_at, request_id")
        )
        return [enrolment_from_row(row) for row in rows]

    def approve_enrolment(
        self, request_id: str, decided_by: str, at: str, cert: MemberCertificate
    ) -> bool:
        """Mark it approved and register ``cert`` together; False if no longer pending."""
        with self._db.transaction():
            if not self._decide("enrolments", "request_id", request_id, APPROVED, decided_by, at):
                return False
            self._db.execute(
                "UPDATE enrolments SET serial = ? WHERE request_id = ?", (cert.serial, request_id)
            )
            self.add_member_certificate(cert)
            return True

    def reject_enrolment(self, request_id: str, decided_by: str, at: str, reason: str) -> bool:
        return self._decide(
            "enrolments", "request_id", request_id, REJECTED, decided_by, at, reason
        )

    # connector registrations
    def add_connector_registration(self, registration: ConnectorRegistration) -> None:
        r = registration
        self._db.execute(
            f"INSERT INTO connector_registrations ({REGISTRATION_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.registration_id,
                r.agency_id,
                r.endpoint,
                r.services_json,
                r.submitted_at,
                r.state,
                r.decided_by,
                r.decided_at,
                r.reason,
                r.versions_json,
            ),
        )

    def connector_registration(self, registration_id: str) -> ConnectorRegistration | None:
        row = self._db.execute(
            f"SELECT {REGISTRATION_COLUMNS} FROM connector_registrations WHERE registration_id = ?",
            (registration_id,),
        ).fetchone()
        return registration_from_row(row) if row else None

    def connector_registrations(self, state: str | None = None) -> list[ConnectorRegistration]:
        query = f"SELECT {REGISTRATION_COLUMNS} FROM connector_registrations"
        order = " ORDER BY submitted_at, registration_id"
        rows = (
            self._db.execute(query + " WHERE state = ?" + order, (state,))
            if state
            else self._db.execute(query + order)
        )
        return [registration_from_row(row) for row in rows]

    def approve_connector_registration(
        self, registration_id: str, decided_by: str, at: str
    ) -> dict[str, int] | None:
        """Route its services and version their catalogues together; the version of each,
        or None if no longer pending. A service's enabled state survives re-registration."""
        with self._db.transaction():
            registration = self.connector_registration(registration_id)
            if registration is None or not self._decide(
                "connector_registrations",
                "registration_id",
                registration_id,
                APPROVED,
                decided_by,
                at,
            ):
                return None
            versions: dict[str, int] = {}
            for service_id, fields in json.loads(registration.services_json).items():
                catalogue_json = json.dumps(fields)
                existing = self.service(service_id)
                self.put_service(
                    ServiceRoute(
                        service_id,
                        registration.agency_id,
                        registration.endpoint,
                        catalogue_json,
                        existing.enabled if existing else True,
                    )
                )
                versions[service_id] = self._add_catalogue_version(service_id, catalogue_json, at)
            self._db.execute(
                "UPDATE connector_registrations SET versions = ? WHERE registration_id = ?",
                (json.dumps(versions), registration_id),
            )
            return versions

    def reject_connector_registration(
        self, registration_id: str, decided_by: str, at: str, reason: str
    ) -> bool:
        return self._decide(
            "connector_registrations",
            "registration_id",
            registration_id,
            REJECTED,
            decided_by,
            at,
            reason,
        )

    def _decide(
        self,
        table: str,
        key: str,
        value: str,
        state: str,
        decided_by: str,
        at: str,
        reason: str = "",
    ) -> bool:
        # Only a pending request changes: two administrators deciding at once cannot both win.
        cursor = self._db.execute(
            f"UPDATE {table} SET state = ?, decided_by = ?, decided_at = ?, reason = ?"
            f" WHERE {key} = ? AND state = ?",
            (state, decided_by, at, reason, value, PENDING),
        )
        return cursor.rowcount == 1

    # consent
    def consent(self, consent_id: str) -> ConsentRecord | None:
        row = self._db.execute(
            f"SELECT {CONSENT_SELECT} WHERE c.consent_id = ?", (consent_id,)
        ).fetchone()
        return consent_from_row(row) if row else None

    def consents_of(self, subject: str) -> list[ConsentRecord]:
        rows = self._db.execute(
            f"SELECT {CONSENT_SELECT} WHERE c.subject = ? ORDER BY c.requested_at, c.consent_id",
            (subject,),
        )
        return [consent_from_row(row) for row in rows]

    def add_consent(self, record: ConsentRecord) -> bool:
        cursor = self._db.execute(
            "INSERT INTO consents VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            consent_row(record),
        )
        return cursor.rowcount == 1

    # Each transition is one conditional UPDATE: two racing calls cannot both succeed.
    def grant_consent(self, grant: ConsentGrant, *, now: str) -> bool:
        cursor = self._db.execute(
            "UPDATE consents SET status = ?, granted = ?, artefact_digest = ?, decided_at = ?,"
            " not_before = ?, expires_at = ?"
            " WHERE consent_id = ? AND status = ? AND respond_by > ?",
            (
                ACTIVE,
                services_json(grant.granted),
                grant.artefact_digest,
                grant.decided_at,
                grant.not_before,
                grant.expires_at,
                grant.consent_id,
                REQUESTED,
                now,
            ),
        )
        return cursor.rowcount == 1

    def reject_consent(self, consent_id: str, reason: str, *, now: str) -> bool:
        cursor = self._db.execute(
            "UPDATE consents SET status = ?, rejection_reason = ?, decided_at = ?"
            " WHERE consent_id = ? AND status = ? AND respond_by > ?",
            (REJECTED, reason, now, consent_id, REQUESTED, now),
        )
        return cursor.rowcount == 1

    def revoke_consent(self, consent_id: str, *, now: str) -> bool:
        cursor = self._db.execute(
            "UPDATE consents SET status = ?, revoked_at = ?"
            " WHERE consent_id = ? AND status = ? AND expires_at > ?",
            (REVOKED, now, consent_id, ACTIVE, now),
        )
        return cursor.rowcount == 1

    # claims: who is deciding what right now
    def claim(self, target: str, token: str, *, now: int, hold_s: int) -> bool:
        # One statement, so two processes claiming at once cannot both win; a claim whose
        # holder died without letting go (a crash mid-call) lapses after ``hold_s``.
        cursor = self._db.execute(
            "INSERT INTO claims (target, token, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (target) DO UPDATE SET token = excluded.token,"
            " expires_at = excluded.expires_at WHERE claims.expires_at < ?",
            (target, token, now + hold_s, now),
        )
        return cursor.rowcount == 1

    def release_claim(self, target: str, token: str) -> None:
        self._db.execute("DELETE FROM claims WHERE target = ? AND token = ?", (target, token))

    # replay nonces
    def live_nonces(self, now: int) -> Iterable[Nonce]:
        rows = self._db.execute(
            "SELECT issuer, nonce, expires_at FROM nonces WHERE expires_at >= ?", (now,)
        )
        return [Nonce(r[0], r[1], int(r[2])) for r in rows]

    def claim_nonce(self, nonce: Nonce, now: int) -> bool:
        # One statement, so two processes claiming the same nonce at once cannot both win;
        # an expired claim (kept until pruned) may be taken again.
        cursor = self._db.execute(
            "INSERT INTO nonces (issuer, nonce, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (issuer, nonce) DO UPDATE SET expires_at = excluded.expires_at"
            " WHERE nonces.expires_at < ?",
            (nonce.issuer, nonce.value, nonce.expires_at, now),
        )
        return cursor.rowcount == 1

    # audit log, read side
    def size(self) -> int:
        return int(
            self._db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()[0]
        )

    def entry(self, index: int) -> tuple[bytes, bytes] | None:
        row = self._db.execute(
            "SELECT leaf_hash, record FROM audit_log WHERE idx = ?", (index,)
        ).fetchone()
        return (bytes(row[0]), bytes(row[1])) if row else None

    def entries(self) -> Iterable[tuple[int, bytes, bytes]]:
        for page in range(0, self.size(), _EXPORT_PAGE):
            rows = self._db.execute(
                "SELECT idx, leaf_hash, record FROM audit_log WHERE idx >= ? AND idx < ?"
                " ORDER BY idx",
                (page, page + _EXPORT_PAGE),
            ).fetchall()
            for idx, leaf, record in rows:
                yield int(idx), bytes(leaf), bytes(record)

    # the Merkle tree and its checkpoints
    def tree_root(self, size: int) -> bytes:
        return tree.root(size, self._nodes)

    def committed_leaf(self, index: int) -> bytes:
        """The leaf hash the tree committed to at ``index``."""
        return self._nodes.node(0, index)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return tree.inclusion_proof(index, size, self._nodes)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return tree.consistency_proof(old_size, new_size, self._nodes)

    def tree_size(self) -> int:
        """Leaves the tree commits to. The sequencer writes records and nodes together, so
        it equals the log's size; checkpoints and proofs go by the tree, not the records."""
        row = self._db.execute(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_nodes WHERE level = 0"
        ).fetchone()
        return int(row[0])

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: str) -> None:
        self._db.execute(
            "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (size, root, note, signed_at),
        )

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """(size, signed note) of the largest checkpoint."""
        row = self._db.execute(
            "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def latest_checkpoint_signed(self) -> tuple[int, str] | None:
        """(size, signed_at) of the largest checkpoint, for its age."""
        row = self._db.execute(
            "SELECT size, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored (size, signed note), oldest first."""
        rows = self._db.execute("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(size), str(note)) for size, note in rows]

    def inclusion_proofs(self, start: int, end: int, size: int) -> Iterator[list[bytes]]:
        """The proofs of leaves [start, end) in the tree of ``size``: neighbours share most
        of their path, so each node is read from storage once for the whole range."""
        reader = tree.CachedNodes(self._nodes)
        for index in range(start, end):
            yield tree.inclusion_proof(index, size, reader)

    def committed_entries(
        self, size: int, start: int = 0
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(index, leaf hash the tree committed to, stored record or None) for indices
        [start, size), read a page at a time so no read stays open across a long export."""
        for page in range(start, size, _EXPORT_PAGE):
            rows = self._db.execute(
                "SELECT n.idx, n.hash, a.record FROM audit_nodes n"
                " LEFT JOIN audit_log a ON a.idx = n.idx"
                " WHERE n.level = 0 AND n.idx >= ? AND n.idx < ? ORDER BY n.idx",
                (page, min(page + _EXPORT_PAGE, size)),
            ).fetchall()
            for idx, leaf, record in rows:
                # A tampered row may hold text where a blob was: still bytes to hash.
                stored = record.encode() if isinstance(record, str) else record
                yield int(idx), bytes(leaf), None if stored is None else bytes(stored)

    def search(
        self, filters: Mapping[str, str], *, after_index: int | None, limit: int
    ) -> list[tuple[int, bytes, bytes]]:
        """(index, leaf hash, record) of records matching every filter, in log order.

        ``filters`` keys: time_from, time_to, client_id, service_id, purpose, decision,
        reason, subject (a pseudonym), break_glass ("1": only break-glass records, "0":
        only others). Values are bound, never spliced into the SQL.
        """
        clauses: list[str] = []
        params: list[str | int] = []
        for key, value in filters.items():
            clause = SEARCH_COLUMNS.get(key) or self._db.json_clauses.get(key)
            if clause is None:
                raise ValueError(f"unknown search filter {key!r}")
            if key == "break_glass" and value not in ("0", "1"):
                raise ValueError(f"break_glass filter must be '0' or '1', not {value!r}")
            clauses.append(clause)
            params.append(value)
        if after_index is not None:
            clauses.append("idx > ?")
            params.append(after_index)
        where = " AND ".join(clauses) or "TRUE"
        rows = self._db.execute(
            f"SELECT idx, leaf_hash, record FROM audit_log WHERE {where} ORDER BY idx LIMIT ?",
            (*params, limit),
        )
        return [(int(idx), bytes(leaf), bytes(record)) for idx, leaf, record in rows]


class _RolledBack(Exception):
    """Ends a probe's transaction without committing it."""


class SqlAuditWriter:
    """The log's writer (``AuditWriter``): one durable transaction per batch, holding the
    engine's sequencing lock, so the batch's first index is decided where it is written."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._nodes = NodeTable(db)
        self._last_prune = 0.0

    def append(self, entries: Sequence[PendingEntry]) -> int:
        with self._db.sequencing():
            first = self._write(entries)
            self._prune_nonces()
        return first

    def probe(self) -> None:
        """Write one record as ``append`` would — record, tree nodes, nonce — and roll it
        back: raises if the log cannot take one now (health checks, so a mended store is
        noticed without traffic, and a broken tree is not mistaken for a healthy log)."""
        record = b'{"probe":true}'
        probe = PendingEntry(
            record_json=record,
            leaf_hash=hash_leaf(record),
            time="",
            client_id="",
            service_id="",
            decision="",
            reason="",
            subject="",
            nonces=(Nonce("jembatan-probe", "probe", 0),),
        )
        try:
            with self._db.sequencing():
                self._write([probe])
                raise _RolledBack
        except _RolledBack:
            pass

    def _write(self, entries: Sequence[PendingEntry]) -> int:
        """The batch's writes, inside the caller's sequencing transaction; its first index."""
        db = self._db
        first = int(db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()[0])
        db.executemany(
            "INSERT INTO audit_log (idx, leaf_hash, record, time, client_id, service_id,"
            " decision, reason, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    first + offset,
                    e.leaf_hash,
                    e.record_json,
                    e.time,
                    e.client_id,
                    e.service_id,
                    e.decision,
                    e.reason,
                    e.subject,
                )
                for offset, e in enumerate(entries)
            ],
        )
        # The tree's new complete nodes are durable with the records they cover.
        self._nodes.put(tree.new_nodes(first, [e.leaf_hash for e in entries], self._nodes.node))
        # A nonce is durable with the record of its exchange, so a restart cannot reopen a
        # replay window for anything already answered.
        db.executemany(
            "INSERT INTO nonces (issuer, nonce, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(n.issuer, n.value, n.expires_at) for e in entries for n in e.nonces],
        )
        uses = consent_uses(entries)
        if uses:
            db.executemany(db.count_uses_sql, uses)
        return first

    def _prune_nonces(self) -> None:
        now = time.time()
        if now - self._last_prune > _NONCE_PRUNE_EVERY_S:
            self._db.execute("DELETE FROM nonces WHERE expires_at < ?", (int(now) - 60,))
            self._last_prune = now

    def catch_up_tree(self) -> None:
        """Build the nodes of leaves logged before the tree was kept (older homes)."""
        covered = int(
            self._db.execute("SELECT COUNT(*) FROM audit_nodes WHERE level = 0").fetchone()[0]
        )
        while True:
            leaves = [
                bytes(row[0])
                for row in self._db.execute(
                    "SELECT leaf_hash FROM audit_log WHERE idx >= ? ORDER BY idx LIMIT 4096",
                    (covered,),
                )
            ]
            if not leaves:
                return
            with self._db.sequencing():
                self._nodes.put(tree.new_nodes(covered, leaves, self._nodes.node))
            covered += len(leaves)

    def close(self) -> None:
        self._db.close()
