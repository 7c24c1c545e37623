"""The project's one error root, and the refusal that knows its gRPC status, reason and sentence.

Every error Jembatan raises is a ``JembatanError``, so a CLI or a program catches one class and
prints one line. Every stage that says no raises a ``Refusal``; one place (the server) maps it
to the wire. The status table holds gRPC status names, resolved only when a refusal is sent:
importing this module (as ``jembatan --help`` does) loads neither gRPC nor protobuf. That the
table names exactly the reasons of ``jembatan.v1.Reason`` is checked by the contract tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc

REASON_METADATA_KEY = "jembatan-reason"

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

# Reasons that are only ever told to the audit log, never to the caller.
IDENTIFY_REASONS = frozenset({"CERT_UNKNOWN", "CERT_REVOKED"})


class JembatanError(Exception):
    """Root of the project's errors: each knows its one-line explanation."""


class Refusal(JembatanError):
    """A query refused by a pipeline stage.

    ``reason`` is a ``jembatan.v1.Reason`` name; ``detail`` is a sentence for the audit log
    and the authenticated caller. Neither ever carries a field value or a NIK.
    """

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in STATUS_OF_REASON:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> grpc.StatusCode:
        import grpc

        return grpc.StatusCode[STATUS_OF_REASON[self.reason]]

    def public(self) -> tuple[grpc.StatusCode, str, str]:
        """(status, reason, message) as the caller may see them."""
        if self.reason in IDENTIFY_REASONS:
            import grpc

            return grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", "caller not identified"
        return self.status, self.reason, self.detail
