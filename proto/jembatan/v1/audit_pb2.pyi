from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReleasedFieldRecord(_message.Message):
    __slots__ = ("name", "treatment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TREATMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    treatment: str
    def __init__(self, name: _Optional[str] = ..., treatment: _Optional[str] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("time", "request_id", "client_id", "service_id", "purpose", "consent_id", "subject", "fields_requested", "fields_released", "fields_dropped", "decision", "reason", "stage", "policy_version", "request_digest", "response_digest", "status", "version", "client_certificate")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    FIELDS_RELEASED_FIELD_NUMBER: _ClassVar[int]
    FIELDS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    time: str
    request_id: str
    client_id: str
    service_id: str
    purpose: str
    consent_id: str
    subject: str
    fields_requested: _containers.RepeatedScalarFieldContainer[str]
    fields_released: _containers.RepeatedCompositeFieldContainer[ReleasedFieldRecord]
    fields_dropped: _containers.RepeatedScalarFieldContainer[str]
    decision: str
    reason: str
    stage: str
    policy_version: str
    request_digest: str
    response_digest: str
    status: str
    version: int
    client_certificate: str
    def __init__(self, time: _Optional[str] = ..., request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., service_id: _Optional[str] = ..., purpose: _Optional[str] = ..., consent_id: _Optional[str] = ..., subject: _Optional[str] = ..., fields_requested: _Optional[_Iterable[str]] = ..., fields_released: _Optional[_Iterable[_Union[ReleasedFieldRecord, _Mapping]]] = ..., fields_dropped: _Optional[_Iterable[str]] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ..., stage: _Optional[str] = ..., policy_version: _Optional[str] = ..., request_digest: _Optional[str] = ..., response_digest: _Optional[str] = ..., status: _Optional[str] = ..., version: _Optional[int] = ..., client_certificate: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("index", "leaf_hash", "record_json")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    index: int
    leaf_hash: bytes
    record_json: bytes
    def __init__(self, index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., record_json: _Optional[bytes] = ...) -> None: ...
