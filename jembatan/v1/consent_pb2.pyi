from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATE_UNSPECIFIED: _ClassVar[ConsentState]
    REQUESTED: _ClassVar[ConsentState]
    ACTIVE: _ClassVar[ConsentState]
    REJECTED: _ClassVar[ConsentState]
    REVOKED: _ClassVar[ConsentState]
    EXPIRED: _ClassVar[ConsentState]
CONSENT_STATE_UNSPECIFIED: ConsentState
REQUESTED: ConsentState
ACTIVE: ConsentState
REJECTED: ConsentState
REVOKED: ConsentState
EXPIRED: ConsentState

class RevokeRequest(_message.Message):
    __slots__ = ("revocation",)
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    revocation: str
    def __init__(self, revocation: _Optional[str] = ...) -> None: ...

class RevokeResponse(_message.Message):
    __slots__ = ("consent_id", "revoked_at")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    revoked_at: str
    def __init__(self, consent_id: _Optional[str] = ..., revoked_at: _Optional[str] = ...) -> None: ...

class ServiceFields(_message.Message):
    __slots__ = ("service_id", "fields")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, service_id: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class ConsentRequest(_message.Message):
    __slots__ = ("subject", "purpose", "purpose_text", "services", "valid_for_s", "data_life_s", "respond_within_s")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_TEXT_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    VALID_FOR_S_FIELD_NUMBER: _ClassVar[int]
    DATA_LIFE_S_FIELD_NUMBER: _ClassVar[int]
    RESPOND_WITHIN_S_FIELD_NUMBER: _ClassVar[int]
    subject: str
    purpose: str
    purpose_text: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceFields]
    valid_for_s: int
    data_life_s: int
    respond_within_s: int
    def __init__(self, subject: _Optional[str] = ..., purpose: _Optional[str] = ..., purpose_text: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceFields, _Mapping]]] = ..., valid_for_s: _Optional[int] = ..., data_life_s: _Optional[int] = ..., respond_within_s: _Optional[int] = ...) -> None: ...

class ConsentRecord(_message.Message):
    __slots__ = ("consent_id", "state", "grantee", "purpose", "purpose_text", "requested", "granted", "valid_for_s", "data_life_s", "requested_at", "respond_by", "decided_at", "not_before", "expires_at", "revoked_at", "rejection_reason", "uses", "last_used")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    GRANTEE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_TEXT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    VALID_FOR_S_FIELD_NUMBER: _ClassVar[int]
    DATA_LIFE_S_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AT_FIELD_NUMBER: _ClassVar[int]
    RESPOND_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    USES_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    state: ConsentState
    grantee: str
    purpose: str
    purpose_text: str
    requested: _containers.RepeatedCompositeFieldContainer[ServiceFields]
    granted: _containers.RepeatedCompositeFieldContainer[ServiceFields]
    valid_for_s: int
    data_life_s: int
    requested_at: str
    respond_by: str
    decided_at: str
    not_before: str
    expires_at: str
    revoked_at: str
    rejection_reason: str
    uses: int
    last_used: str
    def __init__(self, consent_id: _Optional[str] = ..., state: _Optional[_Union[ConsentState, str]] = ..., grantee: _Optional[str] = ..., purpose: _Optional[str] = ..., purpose_text: _Optional[str] = ..., requested: _Optional[_Iterable[_Union[ServiceFields, _Mapping]]] = ..., granted: _Optional[_Iterable[_Union[ServiceFields, _Mapping]]] = ..., valid_for_s: _Optional[int] = ..., data_life_s: _Optional[int] = ..., requested_at: _Optional[str] = ..., respond_by: _Optional[str] = ..., decided_at: _Optional[str] = ..., not_before: _Optional[str] = ..., expires_at: _Optional[str] = ..., revoked_at: _Optional[str] = ..., rejection_reason: _Optional[str] = ..., uses: _Optional[int] = ..., last_used: _Optional[str] = ...) -> None: ...

class GrantRequest(_message.Message):
    __slots__ = ("request_id", "artefact")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ARTEFACT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    artefact: str
    def __init__(self, request_id: _Optional[str] = ..., artefact: _Optional[str] = ...) -> None: ...

class RejectConsentRequest(_message.Message):
    __slots__ = ("request_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CitizenConsentsRequest(_message.Message):
    __slots__ = ("subject_token",)
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subject_token: str
    def __init__(self, subject_token: _Optional[str] = ...) -> None: ...

class ConsentList(_message.Message):
    __slots__ = ("consents",)
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    consents: _containers.RepeatedCompositeFieldContainer[ConsentRecord]
    def __init__(self, consents: _Optional[_Iterable[_Union[ConsentRecord, _Mapping]]] = ...) -> None: ...

class ConsentReceiptRequest(_message.Message):
    __slots__ = ("subject_token", "consent_id")
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    subject_token: str
    consent_id: str
    def __init__(self, subject_token: _Optional[str] = ..., consent_id: _Optional[str] = ...) -> None: ...

class ConsentReceipt(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: str
    def __init__(self, receipt: _Optional[str] = ...) -> None: ...
