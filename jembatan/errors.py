"""The project's one error root, and the refusal that knows its gRPC status, reason and sentence.

Every error Jembatan raises is a ``JembatanError``, so a CLI or a program catches one class and
prints one line. Every stage that says no raises a ``Refusal``; one place (the server) maps it
to the wire. The status table holds gRPC status names, resolved only when a refusal is sent:
importing this module (as ``jembatan --help`` does) loads neither gRPC nor protobuf. That the
tables name exactly the reasons of ``jembatan.v1.Reason`` (and the categories of
``jembatan.v1.Category``) is checked by the contract tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc

REASON_METADATA_KEY = "jembatan-reason"
# A refusal also travels as google.rpc.Status in grpc-status-details-bin, with one
# google.rpc.ErrorInfo: the reason, this domain, and these metadata keys.
ERROR_DOMAIN = "jembatan"
STAGE_KEY, CATEGORY_KEY, RETRYABLE_KEY = "stage", "category", "retryable"

# The stage a refusal comes from decides what an unidentified caller may learn: before
# the caller is identified, only UNAUTHENTICATED goes out (the audit log keeps the rest).
STATUS_OF_REASON: dict[str, str] = {
    "UNAUTHENTICATED": "UNAUTHENTICATED",
    "CERT_UNKNOWN": "UNAUTHENTICATED",
    "CERT_REVOKED": "UNAUTHENTICATED",
    "CLIENT_ID_MISMATCH": "UNAUTHENTICATED",
    "MALFORMED_REQUEST": "INVALID_ARGUMENT",
    "SIGNATURE_INVALID": "UNAUTHENTICATED",
    "REQUEST_EXPIRED": "UNAUTHENTICATED",
    "REPLAYED": "UNAUTHENTICATED",
    "INVALID_SUBJECT": "INVALID_ARGUMENT",
    "UNKNOWN_SERVICE": "NOT_FOUND",
    "UNKNOWN_FIELD": "NOT_FOUND",
    "CONSENT_MISSING": "PERMISSION_DENIED",
    "CONSENT_INVALID": "PERMISSION_DENIED",
    "CONSENT_REVOKED": "PERMISSION_DENIED",
    "CONSENT_EXPIRED": "PERMISSION_DENIED",
    "CONSENT_SUBJECT_MISMATCH": "PERMISSION_DENIED",
    "CONSENT_GRANTEE_MISMATCH": "PERMISSION_DENIED",
    "CONSENT_PURPOSE_MISMATCH": "PERMISSION_DENIED",
    "CONSENT_SERVICE_MISMATCH": "PERMISSION_DENIED",
    "FIELD_NOT_CONSENTED": "PERMISSION_DENIED",
    "NO_POLICY": "PERMISSION_DENIED",
    "FIELD_NOT_ALLOWED": "PERMISSION_DENIED",
    "CONNECTOR_UNAVAILABLE": "UNAVAILABLE",
    "CONNECTOR_TIMEOUT": "DEADLINE_EXCEEDED",
    "AGENCY_SIGNATURE_INVALID": "UNAVAILABLE",
    "AGENCY_RESPONSE_INVALID": "UNAVAILABLE",
    "AUDIT_UNAVAILABLE": "UNAVAILABLE",
    "REVOCATION_INVALID": "PERMISSION_DENIED",
    "ROLE_REQUIRED": "PERMISSION_DENIED",
    "SUBJECT_TOKEN_INVALID": "PERMISSION_DENIED",
    "LEGAL_BASIS_REQUIRED": "PERMISSION_DENIED",
    "LEGAL_BASIS_MISMATCH": "PERMISSION_DENIED",
    "JUSTIFICATION_REQUIRED": "PERMISSION_DENIED",
    "APPROVAL_REQUIRED": "PERMISSION_DENIED",
    "APPROVAL_INVALID": "PERMISSION_DENIED",
    "CANCELLED": "CANCELLED",
    "INTERNAL_ERROR": "INTERNAL",
    "SERVICE_DISABLED": "FAILED_PRECONDITION",
    "ORGANISATION_MISMATCH": "PERMISSION_DENIED",
    "ROLE_NOT_GRANTABLE": "PERMISSION_DENIED",
    "CSR_INVALID": "INVALID_ARGUMENT",
    "UNKNOWN_TARGET": "NOT_FOUND",
    "ALREADY_DECIDED": "FAILED_PRECONDITION",
    "CONSENT_UNKNOWN": "PERMISSION_DENIED",
    "CONSENT_REQUEST_UNKNOWN": "NOT_FOUND",
    "CONSENT_STATE_INVALID": "FAILED_PRECONDITION",
    "CONSENT_REQUEST_MISMATCH": "INVALID_ARGUMENT",
    "NOT_CONSENT_MANAGER": "PERMISSION_DENIED",
    "MEMBER_RESERVED": "PERMISSION_DENIED",
    "MEMBER_EXISTS": "ALREADY_EXISTS",
    "RATE_LIMITED": "RESOURCE_EXHAUSTED",
}

# What the caller can do about a refusal, by what it has to change: the request itself; the
# citizen's consent (obtain, or have renewed, one that covers the query); nothing but time
# (the only retryable category: the same request may pass later); or a person at the hub
# (a certificate, a role, a policy rule, or a fault that is not the caller's).
FIX_REQUEST, OBTAIN_CONSENT, RETRY_LATER, CALL_SUPPORT = (
    "FIX_REQUEST",
    "OBTAIN_CONSENT",
    "RETRY_LATER",
    "CALL_SUPPORT",
)
RETRYABLE = frozenset({RETRY_LATER})

CATEGORY_OF_REASON: dict[str, str] = {
    "UNAUTHENTICATED": CALL_SUPPORT,
    "CERT_UNKNOWN": CALL_SUPPORT,
    "CERT_REVOKED": CALL_SUPPORT,
    "CLIENT_ID_MISMATCH": FIX_REQUEST,
    "MALFORMED_REQUEST": FIX_REQUEST,
    "SIGNATURE_INVALID": FIX_REQUEST,
    "REQUEST_EXPIRED": FIX_REQUEST,
    "REPLAYED": FIX_REQUEST,
    "INVALID_SUBJECT": FIX_REQUEST,
    "UNKNOWN_SERVICE": FIX_REQUEST,
    "UNKNOWN_FIELD": FIX_REQUEST,
    "CONSENT_MISSING": OBTAIN_CONSENT,
    "CONSENT_INVALID": OBTAIN_CONSENT,
    "CONSENT_REVOKED": OBTAIN_CONSENT,
    "CONSENT_EXPIRED": OBTAIN_CONSENT,
    "CONSENT_SUBJECT_MISMATCH": OBTAIN_CONSENT,
    "CONSENT_GRANTEE_MISMATCH": OBTAIN_CONSENT,
    "CONSENT_PURPOSE_MISMATCH": OBTAIN_CONSENT,
    "CONSENT_SERVICE_MISMATCH": OBTAIN_CONSENT,
    "FIELD_NOT_CONSENTED": OBTAIN_CONSENT,
    "NO_POLICY": CALL_SUPPORT,
    "FIELD_NOT_ALLOWED": FIX_REQUEST,
    "CONNECTOR_UNAVAILABLE": RETRY_LATER,
    "CONNECTOR_TIMEOUT": RETRY_LATER,
    "AGENCY_SIGNATURE_INVALID": CALL_SUPPORT,
    "AGENCY_RESPONSE_INVALID": CALL_SUPPORT,
    "AUDIT_UNAVAILABLE": RETRY_LATER,
    "REVOCATION_INVALID": FIX_REQUEST,
    "ROLE_REQUIRED": CALL_SUPPORT,
    "SUBJECT_TOKEN_INVALID": FIX_REQUEST,
    "LEGAL_BASIS_REQUIRED": FIX_REQUEST,
    "LEGAL_BASIS_MISMATCH": FIX_REQUEST,
    "JUSTIFICATION_REQUIRED": FIX_REQUEST,
    "APPROVAL_REQUIRED": FIX_REQUEST,
    "APPROVAL_INVALID": FIX_REQUEST,
    "CANCELLED": RETRY_LATER,
    "INTERNAL_ERROR": CALL_SUPPORT,
    "SERVICE_DISABLED": RETRY_LATER,
    "ORGANISATION_MISMATCH": FIX_REQUEST,
    "ROLE_NOT_GRANTABLE": FIX_REQUEST,
    "CSR_INVALID": FIX_REQUEST,
    "UNKNOWN_TARGET": FIX_REQUEST,
    "ALREADY_DECIDED": FIX_REQUEST,
    "CONSENT_UNKNOWN": OBTAIN_CONSENT,
    "CONSENT_REQUEST_UNKNOWN": FIX_REQUEST,
    "CONSENT_STATE_INVALID": FIX_REQUEST,
    "CONSENT_REQUEST_MISMATCH": FIX_REQUEST,
    "NOT_CONSENT_MANAGER": FIX_REQUEST,
    "MEMBER_RESERVED": FIX_REQUEST,
    "MEMBER_EXISTS": FIX_REQUEST,
    "RATE_LIMITED": RETRY_LATER,
}

# What each category asks of the caller, in words (the CLI's hint after a refusal).
ADVICE: dict[str, str] = {
    FIX_REQUEST: "fix the request",
    OBTAIN_CONSENT: "obtain the citizen's consent",
    RETRY_LATER: "wait and retry",
    CALL_SUPPORT: "call the hub's support",
}

# Reasons that are only ever told to the audit log, never to the caller.
IDENTIFY_REASONS = frozenset({"CERT_UNKNOWN", "CERT_REVOKED"})


class JembatanError(Exception):
    """Root of the project's errors: each knows its one-line explanation."""


class Refusal(JembatanError):
    """A query refused by a pipeline stage.

    ``reason`` is a ``jembatan.v1.Reason`` name; ``detail`` is a sentence for the audit log
    and the authenticated caller. Neither ever carries a field value or a NIK. ``stage`` is
    where it was refused, named by whoever runs the stages (the chain, the call recorder);
    empty where there are none.
    """

    def __init__(self, reason: str, detail: str, *, stage: str = "") -> None:
        if reason not in STATUS_OF_REASON:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.stage = stage

    @property
    def status(self) -> grpc.StatusCode:
        import grpc

        return grpc.StatusCode[STATUS_OF_REASON[self.reason]]

    @property
    def category(self) -> str:
        return CATEGORY_OF_REASON[self.reason]

    @property
    def retryable(self) -> bool:
        return self.category in RETRYABLE

    def public(self) -> Refusal:
        """The refusal as the caller may see it: to a caller that is not identified, only
        UNAUTHENTICATED, with neither the precise reason nor the stage."""
        if self.reason in IDENTIFY_REASONS:
            return Refusal("UNAUTHENTICATED", "caller not identified")
        return self
