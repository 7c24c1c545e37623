"""The hub's one error root: a refusal that knows its gRPC status, reason and sentence.

Every stage that says no raises a ``Refusal``; one place (the server) maps it to the wire.
"""

from __future__ import annotations

import grpc

from jembatan.v1 import common_pb2

REASON_METADATA_KEY = "jembatan-reason"

# The stage a refusal comes from decides what an unidentified caller may learn: before
# the caller is identified, only UNAUTHENTICATED goes out (the audit log keeps the rest).
_STATUS_OF_REASON: dict[str, grpc.StatusCode] = {
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "CERT_UNKNOWN": grpc.StatusCode.UNAUTHENTICATED,
    "CERT_REVOKED": grpc.StatusCode.UNAUTHENTICATED,
    "CLIENT_ID_MISMATCH": grpc.StatusCode.UNAUTHENTICATED,
    "MALFORMED_REQUEST": grpc.StatusCode.INVALID_ARGUMENT,
    "SIGNATURE_INVALID": grpc.StatusCode.UNAUTHENTICATED,
    "REQUEST_EXPIRED": grpc.StatusCode.UNAUTHENTICATED,
    "REPLAYED": grpc.StatusCode.UNAUTHENTICATED,
    "INVALID_SUBJECT": grpc.StatusCode.INVALID_ARGUMENT,
    "UNKNOWN_SERVICE": grpc.StatusCode.NOT_FOUND,
    "CONSENT_MISSING": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_INVALID": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_REVOKED": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_EXPIRED": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_SUBJECT_MISMATCH": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_GRANTEE_MISMATCH": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_PURPOSE_MISMATCH": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_SERVICE_MISMATCH": grpc.StatusCode.PERMISSION_DENIED,
    "FIELD_NOT_CONSENTED": grpc.StatusCode.PERMISSION_DENIED,
    "NO_POLICY": grpc.StatusCode.PERMISSION_DENIED,
    "FIELD_NOT_ALLOWED": grpc.StatusCode.PERMISSION_DENIED,
    "CONNECTOR_UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "CONNECTOR_TIMEOUT": grpc.StatusCode.DEADLINE_EXCEEDED,
    "AGENCY_SIGNATURE_INVALID": grpc.StatusCode.UNAVAILABLE,
    "AGENCY_RESPONSE_INVALID": grpc.StatusCode.UNAVAILABLE,
    "AUDIT_UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "REVOCATION_INVALID": grpc.StatusCode.PERMISSION_DENIED,
    "ROLE_REQUIRED": grpc.StatusCode.PERMISSION_DENIED,
    "SUBJECT_TOKEN_INVALID": grpc.StatusCode.PERMISSION_DENIED,
    "LEGAL_BASIS_REQUIRED": grpc.StatusCode.PERMISSION_DENIED,
    "LEGAL_BASIS_MISMATCH": grpc.StatusCode.PERMISSION_DENIED,
    "JUSTIFICATION_REQUIRED": grpc.StatusCode.PERMISSION_DENIED,
    "APPROVAL_REQUIRED": grpc.StatusCode.PERMISSION_DENIED,
    "APPROVAL_INVALID": grpc.StatusCode.PERMISSION_DENIED,
    "CANCELLED": grpc.StatusCode.CANCELLED,
    "INTERNAL_ERROR": grpc.StatusCode.INTERNAL,
    "SERVICE_DISABLED": grpc.StatusCode.FAILED_PRECONDITION,
    "ORGANISATION_MISMATCH": grpc.StatusCode.PERMISSION_DENIED,
    "ROLE_NOT_GRANTABLE": grpc.StatusCode.PERMISSION_DENIED,
    "CSR_INVALID": grpc.StatusCode.INVALID_ARGUMENT,
    "UNKNOWN_TARGET": grpc.StatusCode.NOT_FOUND,
    "ALREADY_DECIDED": grpc.StatusCode.FAILED_PRECONDITION,
    "CONSENT_UNKNOWN": grpc.StatusCode.PERMISSION_DENIED,
    "CONSENT_REQUEST_UNKNOWN": grpc.StatusCode.NOT_FOUND,
    "CONSENT_STATE_INVALID": grpc.StatusCode.FAILED_PRECONDITION,
    "CONSENT_REQUEST_MISMATCH": grpc.StatusCode.INVALID_ARGUMENT,
    "NOT_CONSENT_MANAGER": grpc.StatusCode.PERMISSION_DENIED,
    "MEMBER_RESERVED": grpc.StatusCode.PERMISSION_DENIED,
    "MEMBER_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
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
        if reason not in _STATUS_OF_REASON:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> grpc.StatusCode:
        return _STATUS_OF_REASON[self.reason]

    def public(self) -> tuple[grpc.StatusCode, str, str]:
        """(status, reason, message) as the caller may see them."""
        if self.reason in IDENTIFY_REASONS:
            return grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED", "caller not identified"
        return self.status, self.reason, self.detail


def _check_reasons_match_contract() -> None:
    # The table above and the proto enum must name the same reasons.
    names = set(common_pb2.Reason.keys()) - {"REASON_UNSPECIFIED"}
    if names != set(_STATUS_OF_REASON):
        raise RuntimeError(f"reason table out of step with proto: {names ^ set(_STATUS_OF_REASON)}")


_check_reasons_match_contract()
