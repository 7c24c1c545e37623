"""SQLite engine: the embedded default, one file, zero set-up.

WAL mode lets the pipeline read while the audit sequencer writes. The audit connection
runs with ``synchronous=FULL`` so that a committed batch is on disk before any exchange
in it is answered.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

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
    MemberCertificate,
    Nonce,
    PendingEntry,
    ServiceFieldMap,
    ServiceRoute,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS member_certificates (
    serial TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    cert_pem BLOB NOT NULL,
    not_after TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT
);
CREATE INDEX IF NOT EXISTS member_certificates_member ON member_certificates(member_id);
CREATE TABLE IF NOT EXISTS services (
    service_id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    catalogue TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
-- One row per consent from request to its end. subject is a keyed pseudonym and
-- artefact_digest the SHA-256 of the signed artefact: never the NIK, never the artefact.
-- Times are RFC 3339 UTC with whole seconds, so text order is time order.
CREATE TABLE IF NOT EXISTS consents (
    consent_id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    grantee TEXT NOT NULL,
    purpose TEXT NOT NULL,
    purpose_text TEXT NOT NULL,
    requested TEXT NOT NULL,
    valid_for_s INTEGER NOT NULL,
    data_life_s INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    respond_by TEXT NOT NULL,
    status TEXT NOT NULL,
    granted TEXT NOT NULL DEFAULT '{}',
    artefact_digest TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    not_before TEXT NOT NULL DEFAULT '',
    expires_at TEXT NOT NULL DEFAULT '',
    revoked_at TEXT NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS consents_subject ON consents(subject);
-- Written by the audit writer in the batch that records the released exchanges.
CREATE TABLE IF NOT EXISTS consent_usage (
    consent_id TEXT PRIMARY KEY,
    uses INTEGER NOT NULL,
    last_used TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    issuer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
CREATE TABLE IF NOT EXISTS audit_log (
    idx INTEGER PRIMARY KEY,
    leaf_hash BLOB NOT NULL,
    record BLOB NOT NULL,
    time TEXT NOT NULL,
    client_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    subject TEXT NOT NULL
);
-- Bumped by every change to certificates or services, so a hub can keep them in memory and
-- still see a revocation on its very next call (one cheap read instead of several lookups).
CREATE TABLE IF NOT EXISTS registry_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO registry_generation VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS certificates_insert AFTER INSERT ON member_certificates
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS certificates_update AFTER UPDATE ON member_certificates
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS certificates_delete AFTER DELETE ON member_certificates
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS services_insert AFTER INSERT ON services
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS services_update AFTER UPDATE ON services
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TRIGGER IF NOT EXISTS services_delete AFTER DELETE ON services
BEGIN UPDATE registry_generation SET value = value + 1; END;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
-- Enrolments and connector registrations wait here for an administrator's decision.
CREATE TABLE IF NOT EXISTS enrolments (
    request_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    csr_pem BLOB NOT NULL,
    submitter TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS connector_registrations (
    registration_id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    services TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL DEFAULT '{}'
);
-- Every catalogue a service has had; the services table holds the current one.
CREATE TABLE IF NOT EXISTS service_catalogues (
    service_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    catalogue TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (service_id, version)
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


_SCHEMA += tree.SCHEMA + ";\n"


# Officers' search filters, each a fixed SQL clause with one bound parameter.
_SEARCH_CLAUSES = {
    "time_from": "time >= ?",
    "time_to": "time < ?",
    "client_id": "client_id = ?",
    "service_id": "service_id = ?",
    "purpose": "json_extract(record, '$.purpose') = ?",
    "decision": "decision = ?",
    "reason": "reason = ?",
    "subject": "subject = ?",
    # "1": break-glass only (JSON true reads back as the integer 1).
    "break_glass": "json_extract(record, '$.break_glass') = CAST(? AS INTEGER)",
}


_EXPORT_PAGE = 4096


def _connect(path: Path) -> sqlite3.Connection:
    # check_same_thread=False: each connection is still used by one thread at a time.
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def initialise(path: Path) -> None:
    conn = _connect(path)
    try:
        conn.executescript(_SCHEMA)
    finally:
        conn.close()


_ENROLMENT_COLUMNS = (
    "request_id, member_id, roles, csr_pem, submitter, submitted_at, state, decided_by,"
    " decided_at, reason, serial"
)
_REGISTRATION_COLUMNS = (
    "registration_id, agency_id, endpoint, services, submitted_at, state, decided_by,"
    " decided_at, reason, versions"
)


def _enrolment_from_row(row: tuple) -> Enrolment:
    return Enrolment(row[0], row[1], tuple(json.loads(row[2])), bytes(row[3]), *row[4:])


def _registration_from_row(row: tuple) -> ConnectorRegistration:
    return ConnectorRegistration(*row)


_CONSENT_COLUMNS = (
    "c.consent_id, c.subject, c.grantee, c.purpose, c.purpose_text, c.requested,"
    " c.valid_for_s, c.data_life_s, c.requested_at, c.respond_by, c.status, c.granted,"
    " c.artefact_digest, c.decided_at, c.not_before, c.expires_at, c.revoked_at,"
    " c.rejection_reason, COALESCE(u.uses, 0), COALESCE(u.last_used, '')"
    " FROM consents c LEFT JOIN consent_usage u ON u.consent_id = c.consent_id"
)


def _services_json(services: ServiceFieldMap) -> str:
    return json.dumps({s: list(f) for s, f in sorted(services.items())}, separators=(",", ":"))


def _services_of(text: str) -> ServiceFieldMap:
    return {s: tuple(f) for s, f in json.loads(text).items()}


def _consent_from_row(row: tuple) -> ConsentRecord:
    return ConsentRecord(
        consent_id=row[0],
        subject=row[1],
        grantee=row[2],
        purpose=row[3],
        purpose_text=row[4],
        requested=_services_of(row[5]),
        valid_for_s=row[6],
        data_life_s=row[7],
        requested_at=row[8],
        respond_by=row[9],
        status=row[10],
        granted=_services_of(row[11]),
        artefact_digest=row[12],
        decided_at=row[13],
        not_before=row[14],
        expires_at=row[15],
        revoked_at=row[16],
        rejection_reason=row[17],
        uses=int(row[18]),
        last_used=row[19],
    )


def _cert_from_row(row: tuple) -> MemberCertificate:
    return MemberCertificate(
        serial=row[0], member_id=row[1], cert_pem=row[2], not_after=row[3], revoked_at=row[4]
    )


class SqliteRegistry:
    """RegistryStore on SQLite; also reads the audit log (AuditReader)."""

    def __init__(self, path: Path) -> None:
        initialise(path)
        self._conn = _connect(path)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._nodes = tree.SqliteNodes(self._conn)

    def close(self) -> None:
        self._conn.close()

    def generation(self) -> int:
        """Changes whenever a certificate or a service changes, from any process."""
        row = self._conn.execute("SELECT value FROM registry_generation").fetchone()
        return int(row[0])

    # members
    def member_certificate(self, serial: str) -> MemberCertificate | None:
        row = self._conn.execute(
            "SELECT serial, member_id, cert_pem, not_after, revoked_at"
            " FROM member_certificates WHERE serial = ?",
            (serial,),
        ).fetchone()
        return _cert_from_row(row) if row else None

    def add_member_certificate(self, cert: MemberCertificate) -> None:
        self._conn.execute(
            "INSERT INTO member_certificates (serial, member_id, cert_pem, not_after)"
            " VALUES (?, ?, ?, ?)",
            (cert.serial, cert.member_id, cert.cert_pem, cert.not_after),
        )

    def revoke_certificate(self, serial: str, at: str, reason: str) -> bool:
        cursor = self._conn.execute(
            "UPDATE member_certificates SET revoked_at = ?, revocation_reason = ?"
            " WHERE serial = ? AND revoked_at IS NULL",
            (at, reason, serial),
        )
        return cursor.rowcount == 1

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]:
        query = "SELECT serial, member_id, cert_pem, not_after, revoked_at FROM member_certificates"
        rows = (
            self._conn.execute(query + " WHERE member_id = ?", (member_id,))
            if member_id
            else self._conn.execute(query + " ORDER BY member_id")
        )
        return [_cert_from_row(row) for row in rows]

    # services
    def service(self, service_id: str) -> ServiceRoute | None:
        row = self._conn.execute(
            "SELECT service_id, agency_id, endpoint, catalogue, enabled FROM services"
            " WHERE service_id = ?",
            (service_id,),
        ).fetchone()
        return ServiceRoute(row[0], row[1], row[2], row[3], bool(row[4])) if row else None

    def put_service(self, route: ServiceRoute) -> None:
        self._conn.execute(
            "INSERT INTO services (service_id, agency_id, endpoint, catalogue, enabled)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(service_id) DO UPDATE SET"
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
        rows = self._conn.execute(
            "SELECT service_id, agency_id, endpoint, catalogue, enabled FROM services"
            " ORDER BY service_id"
        )
        return [ServiceRoute(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def set_service_enabled(self, service_id: str, enabled: bool) -> bool:
        cursor = self._conn.execute(
            "UPDATE services SET enabled = ? WHERE service_id = ?", (enabled, service_id)
        )
        return cursor.rowcount == 1

    # versioned field catalogues
    def add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int:
        """The service's catalogue version after recording ``catalogue_json``: a new one
        only if it differs from the current catalogue (re-registering the same is no change)."""
        with self._transaction():
            return self._add_catalogue_version(service_id, catalogue_json, at)

    def _add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int:
        version = self.next_catalogue_version(service_id, catalogue_json)
        self._conn.execute(
            "INSERT OR IGNORE INTO service_catalogues VALUES (?, ?, ?, ?)",
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
            self._conn.execute(
                query + " WHERE service_id = ? ORDER BY version DESC LIMIT 1", (service_id,)
            ).fetchone()
            if version is None
            else self._conn.execute(
                query + " WHERE service_id = ? AND version = ?", (service_id, version)
            ).fetchone()
        )
        return CatalogueVersion(row[0], int(row[1]), row[2], row[3]) if row else None

    def current_catalogue_versions(self) -> dict[str, int]:
        rows = self._conn.execute(
            "SELECT service_id, MAX(version) FROM service_catalogues GROUP BY service_id"
        )
        return {service_id: int(version) for service_id, version in rows}

    # enrolments
    def add_enrolment(self, enrolment: Enrolment) -> None:
        e = enrolment
        self._conn.execute(
            f"INSERT INTO enrolments ({_ENROLMENT_COLUMNS})"
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
        row = self._conn.execute(
            f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments WHERE request_id = ?", (request_id,)
        ).fetchone()
        return _enrolment_from_row(row) if row else None

    def enrolments(self, state: str | None = None) -> list[Enrolment]:
        query = f"SELECT {_ENROLMENT_COLUMNS} FROM enrolments"
        rows = (
            self._conn.execute(query + " WHERE state = ? ORDER BY submitted_at", (state,))
            if state
            else self._conn.execute(query + " ORDER BY submitted_at")
        )
        return [_enrolment_from_row(row) for row in rows]

    def approve_enrolment(
        self, request_id: str, decided_by: str, at: str, cert: MemberCertificate
    ) -> bool:
        """Mark it approved and register ``cert`` together; False if no longer pending."""
        with self._transaction():
            if not self._decide("enrolments", "request_id", request_id, APPROVED, decided_by, at):
                return False
            self._conn.execute(
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
        self._conn.execute(
            f"INSERT INTO connector_registrations ({_REGISTRATION_COLUMNS})"
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
        row = self._conn.execute(
            f"SELECT {_REGISTRATION_COLUMNS} FROM connector_registrations"
            " WHERE registration_id = ?",
            (registration_id,),
        ).fetchone()
        return _registration_from_row(row) if row else None

    def connector_registrations(self, state: str | None = None) -> list[ConnectorRegistration]:
        query = f"SELECT {_REGISTRATION_COLUMNS} FROM connector_registrations"
        rows = (
            self._conn.execute(query + " WHERE state = ? ORDER BY submitted_at", (state,))
            if state
            else self._conn.execute(query + " ORDER BY submitted_at")
        )
        return [_registration_from_row(row) for row in rows]

    def approve_connector_registration(
        self, registration_id: str, decided_by: str, at: str
    ) -> dict[str, int] | None:
        """Route its services and version their catalogues together; the version of each,
        or None if no longer pending. A service's enabled state survives re-registration."""
        with self._transaction():
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
            self._conn.execute(
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
        cursor = self._conn.execute(
            f"UPDATE {table} SET state = ?, decided_by = ?, decided_at = ?, reason = ?"
            f" WHERE {key} = ? AND state = ?",
            (state, decided_by, at, reason, value, PENDING),
        )
        return cursor.rowcount == 1

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # consent
    def consent(self, consent_id: str) -> ConsentRecord | None:
        row = self._conn.execute(
            f"SELECT {_CONSENT_COLUMNS} WHERE c.consent_id = ?", (consent_id,)
        ).fetchone()
        return _consent_from_row(row) if row else None

    def consents_of(self, subject: str) -> list[ConsentRecord]:
        rows = self._conn.execute(
            f"SELECT {_CONSENT_COLUMNS} WHERE c.subject = ? ORDER BY c.requested_at, c.consent_id",
            (subject,),
        )
        return [_consent_from_row(row) for row in rows]

    def add_consent(self, record: ConsentRecord) -> bool:
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO consents VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.consent_id,
                record.subject,
                record.grantee,
                record.purpose,
                record.purpose_text,
                _services_json(record.requested),
                record.valid_for_s,
                record.data_life_s,
                record.requested_at,
                record.respond_by,
                record.status,
                _services_json(record.granted),
                record.artefact_digest,
                record.decided_at,
                record.not_before,
                record.expires_at,
                record.revoked_at,
                record.rejection_reason,
            ),
        )
        return cursor.rowcount == 1

    # Each transition is one conditional UPDATE: two racing calls cannot both succeed.
    def grant_consent(self, grant: ConsentGrant, *, now: str) -> bool:
        cursor = self._conn.execute(
            "UPDATE consents SET status = ?, granted = ?, artefact_digest = ?, decided_at = ?,"
            " not_before = ?, expires_at = ?"
            " WHERE consent_id = ? AND status = ? AND respond_by > ?",
            (
                ACTIVE,
                _services_json(grant.granted),
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
        cursor = self._conn.execute(
            "UPDATE consents SET status = ?, rejection_reason = ?, decided_at = ?"
            " WHERE consent_id = ? AND status = ? AND respond_by > ?",
            (REJECTED, reason, now, consent_id, REQUESTED, now),
        )
        return cursor.rowcount == 1

    def revoke_consent(self, consent_id: str, *, now: str) -> bool:
        cursor = self._conn.execute(
            "UPDATE consents SET status = ?, revoked_at = ?"
            " WHERE consent_id = ? AND status = ? AND expires_at > ?",
            (REVOKED, now, consent_id, ACTIVE, now),
        )
        return cursor.rowcount == 1

    # replay nonces
    def live_nonces(self, now: int) -> Iterable[Nonce]:
        rows = self._conn.execute(
            "SELECT issuer, nonce, expires_at FROM nonces WHERE expires_at >= ?", (now,)
        )
        return [Nonce(r[0], r[1], r[2]) for r in rows]

    # audit log, read side
    def size(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()
        return int(row[0])

    def entry(self, index: int) -> tuple[bytes, bytes] | None:
        row = self._conn.execute(
            "SELECT leaf_hash, record FROM audit_log WHERE idx = ?", (index,)
        ).fetchone()
        return (bytes(row[0]), bytes(row[1])) if row else None

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
        row = self._conn.execute(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_nodes WHERE level = 0"
        ).fetchone()
        return int(row[0])

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
            (size, root, note, signed_at),
        )

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """(size, signed note) of the largest checkpoint."""
        row = self._conn.execute(
            "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def latest_checkpoint_signed(self) -> tuple[int, str] | None:
        """(size, signed_at) of the largest checkpoint, for its age."""
        row = self._conn.execute(
            "SELECT size, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

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
            rows = self._conn.execute(
                "SELECT n.idx, n.hash, a.record FROM audit_nodes n"
                " LEFT JOIN audit_log a ON a.idx = n.idx"
                " WHERE n.level = 0 AND n.idx >= ? AND n.idx < ? ORDER BY n.idx",
                (page, min(page + _EXPORT_PAGE, size)),
            ).fetchall()
            for idx, leaf, record in rows:
                # A tampered row may hold text where a blob was: still bytes to hash.
                stored = record.encode() if isinstance(record, str) else record
                yield idx, bytes(leaf), None if stored is None else bytes(stored)

    def search(
        self, filters: Mapping[str, str], *, after_index: int | None, limit: int
    ) -> list[tuple[int, bytes, bytes]]:
        """(index, leaf hash, record) of records matching every filter, in log order.

        ``filters`` keys: time_from, time_to, client_id, service_id, purpose, decision,
        reason, subject (a pseudonym). Values are bound, never spliced into the SQL.
        """
        clauses: list[str] = []
        params: list[str | int] = []
        for key, value in filters.items():
            clauses.append(_SEARCH_CLAUSES[key])
            params.append(value)
        if after_index is not None:
            clauses.append("idx > ?")
            params.append(after_index)
        where = " AND ".join(clauses) or "1"
        rows = self._conn.execute(
            f"SELECT idx, leaf_hash, record FROM audit_log WHERE {where} ORDER BY idx LIMIT ?",
            (*params, limit),
        )
        return [(idx, bytes(leaf), bytes(record)) for idx, leaf, record in rows]

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored (size, signed note), oldest first."""
        rows = self._conn.execute("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(size), str(note)) for size, note in rows]

    def entries(self) -> Iterable[tuple[int, bytes, bytes]]:
        for idx, leaf, record in self._conn.execute(
            "SELECT idx, leaf_hash, record FROM audit_log ORDER BY idx"
        ):
            yield idx, bytes(leaf), bytes(record)


class SqliteAuditWriter:
    """AuditWriter on SQLite: one transaction per batch, fsynced before it returns."""

    def __init__(self, path: Path) -> None:
        initialise(path)
        self._conn = _connect(path)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._last_prune = 0.0
        self._nodes = tree.SqliteNodes(self._conn)
        self._catch_up_tree()

    def _catch_up_tree(self) -> None:
        """Build the nodes of leaves logged before the tree was kept (older homes)."""
        covered = self._conn.execute("SELECT COUNT(*) FROM audit_nodes WHERE level = 0").fetchone()[
            0
        ]
        while True:
            leaves = [
                bytes(row[0])
                for row in self._conn.execute(
                    "SELECT leaf_hash FROM audit_log WHERE idx >= ? ORDER BY idx LIMIT 4096",
                    (covered,),
                )
            ]
            if not leaves:
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._nodes.put(tree.new_nodes(covered, leaves, self._nodes.node))
            self._conn.execute("COMMIT")
            covered += len(leaves)

    def size(self) -> int:
        row = self._conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()
        return int(row[0])

    def append(self, first_index: int, entries: Sequence[PendingEntry]) -> None:
        rows = [
            (
                first_index + offset,
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
        ]
        nonces = [(e.nonce.issuer, e.nonce.value, e.nonce.expires_at) for e in entries if e.nonce]
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            # The tree's new complete nodes are durable with the records they cover.
            self._nodes.put(
                tree.new_nodes(first_index, [e.leaf_hash for e in entries], self._nodes.node)
            )
            # A nonce is durable with the record of its exchange, so a restart cannot
            # reopen a replay window for anything already answered.
            conn.executemany("INSERT OR IGNORE INTO nonces VALUES (?, ?, ?)", nonces)
            self._count_consent_uses(entries)
            self._prune_nonces()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _count_consent_uses(self, entries: Sequence[PendingEntry]) -> None:
        """One upsert per consent released under in this batch, durable with its records."""
        uses: dict[str, tuple[int, str]] = {}
        for e in entries:
            if e.consent_id and e.decision == "RELEASED":
                count, last = uses.get(e.consent_id, (0, ""))
                uses[e.consent_id] = (count + 1, max(last, e.time))
        if uses:
            self._conn.executemany(
                "INSERT INTO consent_usage VALUES (?, ?, ?) ON CONFLICT(consent_id) DO UPDATE"
                " SET uses = uses + excluded.uses,"
                " last_used = max(last_used, excluded.last_used)",
                [(cid, count, last) for cid, (count, last) in uses.items()],
            )

    def probe(self, index: int) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO audit_log VALUES (?, x'', x'', '', '', '', '', '', '')", (index,)
            )
        finally:
            conn.execute("ROLLBACK")

    def _prune_nonces(self) -> None:
        now = time.time()
        if now - self._last_prune > 60:
            self._conn.execute("DELETE FROM nonces WHERE expires_at < ?", (int(now) - 60,))
            self._last_prune = now

    def close(self) -> None:
        self._conn.close()
