from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    UNAUTHENTICATED: _ClassVar[Reason]
    CERT_UNKNOWN: _ClassVar[Reason]
    CERT_REVOKED: _ClassVar[Reason]
    CLIENT_ID_MISMATCH: _ClassVar[Reason]
    MALFORMED_REQUEST: _ClassVar[Reason]
    SIGNATURE_INVALID: _ClassVar[Reason]
    REQUEST_EXPIRED: _ClassVar[Reason]
    REPLAYED: _ClassVar[Reason]
    INVALID_SUBJECT: _ClassVar[Reason]
    UNKNOWN_SERVICE: _ClassVar[Reason]
    UNKNOWN_FIELD: _ClassVar[Reason]
    CONSENT_MISSING: _ClassVar[Reason]
    CONSENT_INVALID: _ClassVar[Reason]
    CONSENT_REVOKED: _ClassVar[Reason]
    CONSENT_EXPIRED: _ClassVar[Reason]
    CONSENT_SUBJECT_MISMATCH: _ClassVar[Reason]
    CONSENT_GRANTEE_MISMATCH: _ClassVar[Reason]
    CONSENT_PURPOSE_MISMATCH: _ClassVar[Reason]
    CONSENT_SERVICE_MISMATCH: _ClassVar[Reason]
    FIELD_NOT_CONSENTED: _ClassVar[Reason]
    NO_POLICY: _ClassVar[Reason]
    FIELD_NOT_ALLOWED: _ClassVar[Reason]
    CONNECTOR_UNAVAILABLE: _ClassVar[Reason]
    CONNECTOR_TIMEOUT: _ClassVar[Reason]
    AGENCY_SIGNATURE_INVALID: _ClassVar[Reason]
    AGENCY_RESPONSE_INVALID: _ClassVar[Reason]
    AUDIT_UNAVAILABLE: _ClassVar[Reason]
    REVOCATION_INVALID: _ClassVar[Reason]
    ROLE_REQUIRED: _ClassVar[Reason]
    SUBJECT_TOKEN_INVALID: _ClassVar[Reason]
    LEGAL_BASIS_REQUIRED: _ClassVar[Reason]
    LEGAL_BASIS_MISMATCH: _ClassVar[Reason]
    JUSTIFICATION_REQUIRED: _ClassVar[Reason]
    APPROVAL_REQUIRED: _ClassVar[Reason]
    APPROVAL_INVALID: _ClassVar[Reason]
    CANCELLED: _ClassVar[Reason]
    INTERNAL_ERROR: _ClassVar[Reason]
    SERVICE_DISABLED: _ClassVar[Reason]
    ORGANISATION_MISMATCH: _ClassVar[Reason]
    ROLE_NOT_GRANTABLE: _ClassVar[Reason]
    CSR_INVALID: _ClassVar[Reason]
    UNKNOWN_TARGET: _ClassVar[Reason]
    ALREADY_DECIDED: _ClassVar[Reason]
    CONSENT_UNKNOWN: _ClassVar[Reason]
    CONSENT_REQUEST_UNKNOWN: _ClassVar[Reason]
    CONSENT_STATE_INVALID: _ClassVar[Reason]
    CONSENT_REQUEST_MISMATCH: _ClassVar[Reason]
    NOT_CONSENT_MANAGER: _ClassVar[Reason]
    MEMBER_RESERVED: _ClassVar[Reason]
    MEMBER_EXISTS: _ClassVar[Reason]
    RATE_LIMITED: _ClassVar[Reason]

class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATEGORY_UNSPECIFIED: _ClassVar[Category]
    FIX_REQUEST: _ClassVar[Category]
    OBTAIN_CONSENT: _ClassVar[Category]
    RETRY_LATER: _ClassVar[Category]
    CALL_SUPPORT: _ClassVar[Category]

class Treatment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TREATMENT_UNSPECIFIED: _ClassVar[Treatment]
    RAW: _ClassVar[Treatment]
    MASKED: _ClassVar[Treatment]
    BUCKETED: _ClassVar[Treatment]
    PREDICATE: _ClassVar[Treatment]
REASON_UNSPECIFIED: Reason
UNAUTHENTICATED: Reason
CERT_UNKNOWN: Reason
CERT_REVOKED: Reason
CLIENT_ID_MISMATCH: Reason
MALFORMED_REQUEST: Reason
SIGNATURE_INVALID: Reason
REQUEST_EXPIRED: Reason
REPLAYED: Reason
INVALID_SUBJECT: Reason
UNKNOWN_SERVICE: Reason
UNKNOWN_FIELD: Reason
CONSENT_MISSING: Reason
CONSENT_INVALID: Reason
CONSENT_REVOKED: Reason
CONSENT_EXPIRED: Reason
CONSENT_SUBJECT_MISMATCH: Reason
CONSENT_GRANTEE_MISMATCH: Reason
CONSENT_PURPOSE_MISMATCH: Reason
CONSENT_SERVICE_MISMATCH: Reason
FIELD_NOT_CONSENTED: Reason
NO_POLICY: Reason
FIELD_NOT_ALLOWED: Reason
CONNECTOR_UNAVAILABLE: Reason
CONNECTOR_TIMEOUT: Reason
AGENCY_SIGNATURE_INVALID: Reason
AGENCY_RESPONSE_INVALID: Reason
AUDIT_UNAVAILABLE: Reason
REVOCATION_INVALID: Reason
ROLE_REQUIRED: Reason
SUBJECT_TOKEN_INVALID: Reason
LEGAL_BASIS_REQUIRED: Reason
LEGAL_BASIS_MISMATCH: Reason
JUSTIFICATION_REQUIRED: Reason
APPROVAL_REQUIRED: Reason
APPROVAL_INVALID: Reason
CANCELLED: Reason
INTERNAL_ERROR: Reason
SERVICE_DISABLED: Reason
ORGANISATION_MISMATCH: Reason
ROLE_NOT_GRANTABLE: Reason
CSR_INVALID: Reason
UNKNOWN_TARGET: Reason
ALREADY_DECIDED: Reason
CONSENT_UNKNOWN: Reason
CONSENT_REQUEST_UNKNOWN: Reason
CONSENT_STATE_INVALID: Reason
CONSENT_REQUEST_MISMATCH: Reason
NOT_CONSENT_MANAGER: Reason
MEMBER_RESERVED: Reason
MEMBER_EXISTS: Reason
RATE_LIMITED: Reason
CATEGORY_UNSPECIFIED: Category
FIX_REQUEST: Category
OBTAIN_CONSENT: Category
RETRY_LATER: Category
CALL_SUPPORT: Category
TREATMENT_UNSPECIFIED: Treatment
RAW: Treatment
MASKED: Treatment
BUCKETED: Treatment
PREDICATE: Treatment

class Value(_message.Message):
    __slots__ = ("text", "integer", "flag", "number", "date")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INTEGER_FIELD_NUMBER: _ClassVar[int]
    FLAG_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    text: str
    integer: int
    flag: bool
    number: float
    date: str
    def __init__(self, text: _Optional[str] = ..., integer: _Optional[int] = ..., flag: _Optional[bool] = ..., number: _Optional[float] = ..., date: _Optional[str] = ...) -> None: ...
