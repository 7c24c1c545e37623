from jembatan.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QueryBody(_message.Message):
    __slots__ = ("client_id", "service_id", "subject", "purpose", "fields", "consent", "request_id", "legal_basis")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    service_id: str
    subject: str
    purpose: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    consent: str
    request_id: str
    legal_basis: LegalBasis
    def __init__(self, client_id: _Optional[str] = ..., service_id: _Optional[str] = ..., subject: _Optional[str] = ..., purpose: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., consent: _Optional[str] = ..., request_id: _Optional[str] = ..., legal_basis: _Optional[_Union[LegalBasis, _Mapping]] = ...) -> None: ...

class LegalBasis(_message.Message):
    __slots__ = ("reference", "justification")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    reference: str
    justification: str
    def __init__(self, reference: _Optional[str] = ..., justification: _Optional[str] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("body", "signature", "approval")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signature: str
    approval: str
    def __init__(self, body: _Optional[bytes] = ..., signature: _Optional[str] = ..., approval: _Optional[str] = ...) -> None: ...

class ReleasedField(_message.Message):
    __slots__ = ("name", "treatment", "detail", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TREATMENT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    treatment: _common_pb2.Treatment
    detail: str
    value: _common_pb2.Value
    def __init__(self, name: _Optional[str] = ..., treatment: _Optional[_Union[_common_pb2.Treatment, str]] = ..., detail: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Value, _Mapping]] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("request_id", "service_id", "fields", "policy_version", "subject_found", "salt")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FOUND_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    service_id: str
    fields: _containers.RepeatedCompositeFieldContainer[ReleasedField]
    policy_version: str
    subject_found: bool
    salt: bytes
    def __init__(self, request_id: _Optional[str] = ..., service_id: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[ReleasedField, _Mapping]]] = ..., policy_version: _Optional[str] = ..., subject_found: _Optional[bool] = ..., salt: _Optional[bytes] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("log_index", "leaf_hash", "signature")
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    log_index: int
    leaf_hash: bytes
    signature: bytes
    def __init__(self, log_index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("result", "receipt")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    result: bytes
    receipt: Receipt
    def __init__(self, result: _Optional[bytes] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...

class FanOutRequest(_message.Message):
    __slots__ = ("applicant_id", "legs")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    legs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, applicant_id: _Optional[str] = ..., legs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class LegOutcome(_message.Message):
    __slots__ = ("status", "reason", "message", "response", "stage", "category", "retryable")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    status: str
    reason: str
    message: str
    response: QueryResponse
    stage: str
    category: str
    retryable: bool
    def __init__(self, status: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., response: _Optional[_Union[QueryResponse, _Mapping]] = ..., stage: _Optional[str] = ..., category: _Optional[str] = ..., retryable: _Optional[bool] = ...) -> None: ...

class FanOutResponse(_message.Message):
    __slots__ = ("applicant_id", "legs")
    APPLICANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEGS_FIELD_NUMBER: _ClassVar[int]
    applicant_id: str
    legs: _containers.RepeatedCompositeFieldContainer[LegOutcome]
    def __init__(self, applicant_id: _Optional[str] = ..., legs: _Optional[_Iterable[_Union[LegOutcome, _Mapping]]] = ...) -> None: ...
