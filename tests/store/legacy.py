"""Databases as older hubs left them, verbatim but for comments, to open with this one.

SQLite files had no schema version before the steps of ``hub.store.schema``: each hub
created what was missing with CREATE … IF NOT EXISTS, so a file keeps the shape of the hub
that first made it plus whatever later hubs added. PostgreSQL was versioned from its first
release.

Deliberately frozen snapshots of history, copied from the named commits: they repeat one
another and ``hub.store.schema`` line for line, and a duplicate-code finder lists those
repeats. Do not fold them into shared pieces or import them from the schema: an upgrade test
is worth only as much as its old shape is the one those hubs really wrote.
"""

# The first release (79adc17): no registry generation, tree, checkpoints or administration
# yet, and consents were only a list of revocations.
SQLITE_FIRST_RELEASE = """
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
CREATE TABLE IF NOT EXISTS consent_revocations (
    consent_id TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL
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
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

# When the PostgreSQL engine came (3614007): every table but claims, no renewal chains, and
# the tree's nodes as hub.audit.tree then declared them (no NOT NULL).
SQLITE_BEFORE_RENEWALS = """
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
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER,
    idx INTEGER,
    hash BLOB,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
"""

# The last unversioned shape (daccf29): a file made by the hub before versioning.
SQLITE_UNVERSIONED = """
CREATE TABLE IF NOT EXISTS member_certificates (
    serial TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    cert_pem BLOB NOT NULL,
    not_after TEXT NOT NULL,
    revoked_at TEXT,
    revocation_reason TEXT,
    renewed_from TEXT
);
CREATE INDEX IF NOT EXISTS member_certificates_member ON member_certificates(member_id);
CREATE TABLE IF NOT EXISTS services (
    service_id TEXT PRIMARY KEY,
    agency_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    catalogue TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1
);
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
CREATE TABLE IF NOT EXISTS consent_usage (
    consent_id TEXT PRIMARY KEY,
    uses INTEGER NOT NULL,
    last_used TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    target TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    issuer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces(expires_at);
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
CREATE TABLE IF NOT EXISTS audit_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS service_catalogues (
    service_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    catalogue TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (service_id, version)
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit tree is append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE UNIQUE INDEX IF NOT EXISTS member_certificates_renewed_from
    ON member_certificates(renewed_from);
"""

POSTGRESQL_VERSION_TABLE = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY,
description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
"""

# PostgreSQL's migration 1, "initial schema".
POSTGRESQL_1 = """
CREATE TABLE member_certificates (
    serial TEXT COLLATE "C" PRIMARY KEY,
    member_id TEXT COLLATE "C" NOT NULL,
    cert_pem BYTEA NOT NULL,
    not_after TEXT COLLATE "C" NOT NULL,
    revoked_at TEXT COLLATE "C",
    revocation_reason TEXT
);
CREATE INDEX member_certificates_member ON member_certificates (member_id);
CREATE TABLE services (
    service_id TEXT COLLATE "C" PRIMARY KEY,
    agency_id TEXT COLLATE "C" NOT NULL,
    endpoint TEXT NOT NULL,
    catalogue TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE consents (
    consent_id TEXT COLLATE "C" PRIMARY KEY,
    subject TEXT COLLATE "C" NOT NULL,
    grantee TEXT COLLATE "C" NOT NULL,
    purpose TEXT COLLATE "C" NOT NULL,
    purpose_text TEXT NOT NULL,
    requested TEXT NOT NULL,
    valid_for_s BIGINT NOT NULL,
    data_life_s BIGINT NOT NULL,
    requested_at TEXT COLLATE "C" NOT NULL,
    respond_by TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    granted TEXT NOT NULL DEFAULT '{}',
    artefact_digest TEXT COLLATE "C" NOT NULL DEFAULT '',
    decided_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    not_before TEXT COLLATE "C" NOT NULL DEFAULT '',
    expires_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    revoked_at TEXT COLLATE "C" NOT NULL DEFAULT '',
    rejection_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consents_subject ON consents (subject);
CREATE TABLE consent_usage (
    consent_id TEXT COLLATE "C" PRIMARY KEY,
    uses BIGINT NOT NULL,
    last_used TEXT COLLATE "C" NOT NULL
);
CREATE TABLE nonces (
    issuer TEXT COLLATE "C" NOT NULL,
    nonce TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
CREATE INDEX nonces_expiry ON nonces (expires_at);
CREATE TABLE audit_log (
    idx BIGINT PRIMARY KEY,
    leaf_hash BYTEA NOT NULL,
    record BYTEA NOT NULL,
    time TEXT COLLATE "C" NOT NULL,
    client_id TEXT COLLATE "C" NOT NULL,
    service_id TEXT COLLATE "C" NOT NULL,
    decision TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    subject TEXT COLLATE "C" NOT NULL
);
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
CREATE TABLE registry_generation (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value BIGINT NOT NULL
);
INSERT INTO registry_generation VALUES (0, 0);
CREATE FUNCTION bump_registry_generation() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN UPDATE registry_generation SET value = value + 1; RETURN NULL; END $$;
CREATE TRIGGER certificates_changed AFTER INSERT OR UPDATE OR DELETE ON member_certificates
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE ON services
FOR EACH STATEMENT EXECUTE FUNCTION bump_registry_generation();
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    signed_at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE enrolments (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    member_id TEXT COLLATE "C" NOT NULL,
    roles TEXT NOT NULL,
    csr_pem BYTEA NOT NULL,
    submitter TEXT COLLATE "C" NOT NULL,
    submitted_at TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    serial TEXT NOT NULL DEFAULT ''
);
CREATE TABLE connector_registrations (
    registration_id TEXT COLLATE "C" PRIMARY KEY,
    agency_id TEXT COLLATE "C" NOT NULL,
    endpoint TEXT NOT NULL,
    services TEXT NOT NULL,
    submitted_at TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    versions TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE service_catalogues (
    service_id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    catalogue TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (service_id, version)
);
"""

# PostgreSQL's migration 2, "certificate renewal chains; claims".
POSTGRESQL_2 = """
ALTER TABLE member_certificates ADD COLUMN renewed_from TEXT COLLATE "C";
CREATE UNIQUE INDEX member_certificates_renewed_from ON member_certificates (renewed_from);
CREATE TABLE claims (
    target TEXT COLLATE "C" PRIMARY KEY,
    token TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL
);
"""
