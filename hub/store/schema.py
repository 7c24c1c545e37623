"""The hub's tables, once for both engines: one list of versioned steps.

The scheme (steps, dialects, the version table) is ``jembatan.migrations``, shared with
the citizens' portal's store. Both engines record the steps they have applied in the same
``schema_version`` table, and apply the missing ones in order, in one transaction that only
one process at a time may run (SQLite's write lock, PostgreSQL's advisory lock): hubs or
replicas starting together apply each step once.

A released step is never edited, only followed by a new one (docs/storage.md says how).
"""

from __future__ import annotations

from hub.store.base import StoreError
from jembatan.migrations import (
    POSTGRESQL,
    SQLITE,
    Column,
    Dialect,
    Migrating,
    SchemaTooNew,
    Step,
)
from jembatan.migrations import upgrade as _upgrade

__all__ = ["LATEST", "POSTGRESQL", "SQLITE", "STEPS", "Column", "Dialect", "Migrating", "Step"]

# SQLite files made before versioning have no schema_version: they start at version 0, so
# steps 1 to 3 must take any shape an older hub left (hence IF NOT EXISTS, and columns
# added only where missing). PostgreSQL was versioned from its first release.

_INITIAL_TABLES = """
CREATE TABLE IF NOT EXISTS member_certificates (
    serial {ctext} PRIMARY KEY,
    member_id {ctext} NOT NULL,
    cert_pem {blob} NOT NULL,
    not_after {ctext} NOT NULL,
    revoked_at {ctext},
    revocation_reason TEXT
);
CREATE INDEX IF NOT EXISTS member_certificates_member ON member_certificates (member_id);
CREATE TABLE IF NOT EXISTS services (
    service_id {ctext} PRIMARY KEY,
    agency_id {ctext} NOT NULL,
    endpoint TEXT NOT NULL,
    catalogue TEXT NOT NULL,
    enabled {bool} NOT NULL DEFAULT {true}
);
-- One row per consent from request to its end. subject is a keyed pseudonym and
-- artefact_digest the SHA-256 of the signed artefact: never the NIK, never the artefact.
-- Times are RFC 3339 UTC with whole seconds, so text order is time order.
CREATE TABLE IF NOT EXISTS consents (
    consent_id {ctext} PRIMARY KEY,
    subject {ctext} NOT NULL,
    grantee {ctext} NOT NULL,
    purpose {ctext} NOT NULL,
    purpose_text TEXT NOT NULL,
    requested TEXT NOT NULL,
    valid_for_s {int64} NOT NULL,
    data_life_s {int64} NOT NULL,
    requested_at {ctext} NOT NULL,
    respond_by {ctext} NOT NULL,
    status {ctext} NOT NULL,
    granted TEXT NOT NULL DEFAULT '{}',
    artefact_digest {ctext} NOT NULL DEFAULT '',
    decided_at {ctext} NOT NULL DEFAULT '',
    not_before {ctext} NOT NULL DEFAULT '',
    expires_at {ctext} NOT NULL DEFAULT '',
    revoked_at {ctext} NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS consents_subject ON consents (subject);
-- Written by the audit writer in the batch that records the released exchanges.
CREATE TABLE IF NOT EXISTS consent_usage (
    consent_id {ctext} PRIMARY KEY,
    uses {int64} NOT NULL,
    last_used {ctext} NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    issuer {ctext} NOT NULL,
    nonce {ctext} NOT NULL,
    expires_at {int64} NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
-- Pruning deletes by expiry inside the sequencer's write transaction: no full scan there.
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_at);
CREATE TABLE IF NOT EXISTS audit_log (
    idx {int64} PRIMARY KEY,
    leaf_hash {blob} NOT NULL,
    record {blob} NOT NULL,
    time {ctext} NOT NULL,
    client_id {ctext} NOT NULL,
    service_id {ctext} NOT NULL,
    decision {ctext} NOT NULL,
    reason {ctext} NOT NULL,
    subject {ctext} NOT NULL
);
-- The Merkle tree's complete nodes (hub.audit.tree): node (level, idx) covers leaves
-- [idx * 2^level, (idx + 1) * 2^level); written with the batch whose leaves complete it.
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx {int64} NOT NULL,
    hash {blob} NOT NULL,
    PRIMARY KEY (level, idx)
){without_rowid};
-- Bumped by every change to certificates or services, from any process, so a hub can keep
-- them in memory and still see a revocation on its very next call.
CREATE TABLE IF NOT EXISTS registry_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value {int64} NOT NULL
);
INSERT INTO registry_generation VALUES (0, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS checkpoints (
    size {int64} PRIMARY KEY,
    root {blob} NOT NULL,
    note TEXT NOT NULL,
    signed_at {ctext} NOT NULL
);
-- Enrolments and connector registrations wait here for an administrator's decision.
CREATE TABLE IF NOT EXISTS enrolments (
    request_id {ctext} PRIMARY KEY,
    member_id {ctext} NOT NULL,
    roles TEXT NOT NULL,
    csr_pem {blob} NOT NULL,
    submitter {ctext} NOT NULL,
    submitted_at {ctext} NOT NULL,
    state {ctext} NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS connector_registrations (
    registration_id {ctext} PRIMARY KEY,
    agency_id {ctext} NOT NULL,
    endpoint TEXT NOT NULL,
    services TEXT NOT NULL,
    submitted_at {ctext} NOT NULL,
    state {ctext} NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL DEFAULT '{}'
);
-- Every catalogue a service has had; the services table holds the current one.
CREATE TABLE IF NOT EXISTS service_catalogues (
    service_id {ctext} NOT NULL,
    version INTEGER NOT NULL,
    catalogue TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (service_id, version)
);
"""

# SQLite triggers fire per row and hold one statement list each.
_INITIAL_SQLITE_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
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
"""

# PostgreSQL triggers call functions; TRUNCATE is refused as well as UPDATE and DELETE.
# The generation's function pins its search_path: it runs in whatever session changed the
# registry, and must bump this schema's counter.
_INITIAL_POSTGRESQL_TRIGGERS = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE FUNCTION bump_registry_generation() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN UPDATE registry_generation SET value = value + 1; RETURN NULL; END $$;
CREATE TRIGGER certificates_changed AFTER INSERT OR UPDATE OR DELETE ON member_certificates
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
"""

# Renewal chains (revoking a certificate revokes what was renewed from it; one successor
# each) and claims: who is deciding what right now (an enrolment, a consent, a renewal). A
# decision is recorded in the audit log before it is committed, and the claim keeps a second
# caller from recording a decision the first one will make.
_RENEWALS_AND_CLAIMS = """
CREATE UNIQUE INDEX IF NOT EXISTS member_certificates_renewed_from
    ON member_certificates (renewed_from);
CREATE TABLE IF NOT EXISTS claims (
    target {ctext} PRIMARY KEY,
    token {ctext} NOT NULL,
    expires_at {int64} NOT NULL
);
"""

# The tree's nodes and the signed checkpoints are as append-only as the records they cover.
_APPEND_ONLY_TREE_SQLITE = """
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
"""

_APPEND_ONLY_TREE_POSTGRESQL = """
CREATE TRIGGER audit_nodes_no_change BEFORE UPDATE OR DELETE ON audit_nodes
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON audit_nodes
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER checkpoints_no_change BEFORE UPDATE OR DELETE ON checkpoints
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""

# Witnesses' cosignatures of the signed checkpoints (hub.witness.collector): one line of the
# note each, kept apart from the checkpoint because they arrive after it is signed.
_COSIGNATURES = """
CREATE TABLE IF NOT EXISTS cosignatures (
    size {int64} NOT NULL,
    witness {ctext} NOT NULL,
    line TEXT NOT NULL,
    cosigned_at {int64} NOT NULL,
    PRIMARY KEY (size, witness)
);
"""

# In order, numbered from 1 without gaps.
STEPS: tuple[Step, ...] = (
    Step(
        1,
        "initial schema",
        sql=_INITIAL_TABLES,
        sqlite=_INITIAL_SQLITE_TRIGGERS,
        postgresql=_INITIAL_POSTGRESQL_TRIGGERS,
    ),
    Step(
        2,
        "certificate renewal chains; claims",
        columns=(Column("member_certificates", "renewed_from", "{ctext}"),),
        sql=_RENEWALS_AND_CLAIMS,
    ),
    Step(
        3,
        "append-only tree nodes and checkpoints",
        sqlite=_APPEND_ONLY_TREE_SQLITE,
        postgresql=_APPEND_ONLY_TREE_POSTGRESQL,
    ),
    Step(4, "witnesses' cosignatures of checkpoints", sql=_COSIGNATURES),
)

LATEST = STEPS[-1].version


def upgrade(db: Migrating) -> int:
    """Apply the steps ``db`` lacks, in order; the version it is at now. A database newer
    than this hub is refused, untouched: its tables may mean what this hub cannot know."""
    try:
        return _upgrade(db, STEPS, table="schema_version", owner="hub")
    except SchemaTooNew as exc:
        raise StoreError(str(exc)) from None
