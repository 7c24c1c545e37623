"""The portal's schema: its migration steps, on the scheme the hub uses
(``jembatan.migrations``; the hub's own are in ``hub.store.schema``). A released step is
never edited, only followed by a new one; every table is ``portal_…``."""

from __future__ import annotations

from jembatan.migrations import Column, Step

__all__ = ["STEPS"]

_INITIAL = """
CREATE TABLE portal_accounts (
    id {ctext} PRIMARY KEY,
    nik_key {ctext} NOT NULL UNIQUE,
    nik_sealed {blob} NOT NULL,
    created_at {int64} NOT NULL
);
CREATE TABLE portal_challenges (
    id {ctext} PRIMARY KEY,
    nik_key {ctext} NOT NULL,
    nik_sealed {blob} NOT NULL,
    code_hash {ctext} NOT NULL,
    created_at {int64} NOT NULL,
    expires_at {int64} NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX portal_challenges_by_nik ON portal_challenges (nik_key, created_at);
CREATE TABLE portal_sessions (
    token_hash {ctext} PRIMARY KEY,
    csrf {ctext} NOT NULL,
    account_id {ctext},
    challenge_id {ctext},
    created_at {int64} NOT NULL,
    expires_at {int64} NOT NULL
);
CREATE TABLE portal_applications (
    id {ctext} PRIMARY KEY,
    account_id {ctext} NOT NULL,
    status {ctext} NOT NULL,
    household TEXT NOT NULL,
    offer TEXT NOT NULL DEFAULT '',
    consent_id {ctext} NOT NULL DEFAULT '',
    decision_sealed {blob},
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL
);
CREATE INDEX portal_applications_by_account ON portal_applications (account_id, created_at);
CREATE TABLE portal_inbox (
    id {ctext} PRIMARY KEY,
    account_id {ctext} NOT NULL,
    at {int64} NOT NULL,
    kind {ctext} NOT NULL,
    application_id {ctext} NOT NULL DEFAULT ''
);
CREATE INDEX portal_inbox_by_account ON portal_inbox (account_id, at);
CREATE TABLE portal_sms_outbox (
    id {ctext} PRIMARY KEY,
    at_ns {int64} NOT NULL,
    phone {ctext} NOT NULL,
    body TEXT NOT NULL
);
"""

# Staff accounts (PKH companions, village staff, Dinsos officers), provisioned by an operator
# (``jembatan portal staff add``). A session belongs to a citizen or to a staff member,
# never both; a code is for one kind of sign-in (or confirmation) only.
_STAFF = """
CREATE TABLE portal_staff (
    id {ctext} PRIMARY KEY,
    name TEXT NOT NULL,
    role {ctext} NOT NULL,
    village {ctext} NOT NULL,
    phone {ctext} NOT NULL,
    created_at {int64} NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
"""

# Cases (``portal.cases``): each with its hash-chained history and the signed head of it.
_CASES = """
CREATE TABLE portal_cases (
    id {ctext} PRIMARY KEY,
    kind {ctext} NOT NULL,
    village {ctext} NOT NULL,
    application_id {ctext} NOT NULL DEFAULT '',
    account_id {ctext} NOT NULL DEFAULT '',
    status {ctext} NOT NULL,
    assigned_to {ctext} NOT NULL DEFAULT '',
    outcome {ctext} NOT NULL DEFAULT '',
    created_at {int64} NOT NULL,
    updated_at {int64} NOT NULL,
    head_length INTEGER NOT NULL,
    head_hash {ctext} NOT NULL,
    head_signature {ctext} NOT NULL
);
CREATE INDEX portal_cases_by_village ON portal_cases (village, status, created_at);
CREATE INDEX portal_cases_by_account ON portal_cases (account_id, created_at);
CREATE INDEX portal_cases_by_application ON portal_cases (application_id);
CREATE TABLE portal_case_entries (
    case_id {ctext} NOT NULL,
    seq INTEGER NOT NULL,
    at {int64} NOT NULL,
    actor {ctext} NOT NULL,
    on_behalf_of {ctext} NOT NULL DEFAULT '',
    action {ctext} NOT NULL,
    details TEXT NOT NULL,
    prev_hash {ctext} NOT NULL,
    hash {ctext} NOT NULL,
    PRIMARY KEY (case_id, seq)
);
"""

# How far each citizen was told of who accessed their data: the log index of the newest
# access the portal has seen for them (``portal.pages.data``), and when it last looked.
_DATA_SEEN = """
CREATE TABLE portal_data_seen (
    account_id {ctext} PRIMARY KEY,
    seen_index {int64} NOT NULL,
    checked_at {int64} NOT NULL
);
"""

STEPS: tuple[Step, ...] = (
    Step(1, "accounts, codes, sessions, applications, inbox, SMS", sql=_INITIAL),
    Step(
        2,
        "staff accounts; staff sessions; codes by kind",
        columns=(
            Column("portal_sessions", "staff_id", "{ctext}"),
            Column("portal_challenges", "kind", "{ctext} NOT NULL DEFAULT 'citizen'"),
        ),
        sql=_STAFF,
    ),
    Step(3, "cases and their hash-chained histories", sql=_CASES),
    Step(4, "how far each citizen was told who accessed their data", sql=_DATA_SEEN),
)
