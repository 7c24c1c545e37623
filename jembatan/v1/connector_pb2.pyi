from jembatan.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FetchRequest(_message.Message):
    __slots__ = ("request_id", "service_id", "subject", "fields")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    service_id: str
    subject: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., service_id: _Optional[str] = ..., subject: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class FetchResult(_message.Message):
    __slots__ = ("request_id", "service_id", "agency_id", "fields", "subject_found")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Value, _Mapping]] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FOUND_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    service_id: str
    agency_id: str
    fields: _containers.MessageMap[str, _common_pb2.Value]
    subject_found: bool
    def __init__(self, request_id: _Optional[str] = ..., service_id: _Optional[str] = ..., agency_id: _Optional[str] = ..., fields: _Optional[_Mapping[str, _common_pb2.Value]] = ..., subject_found: _Optional[bool] = ...) -> None: ...

class FetchResponse(_message.Message):
    __slots__ = ("body", "signature")
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    signature: str
    def __init__(self, body: _Optional[bytes] = ..., signature: _Optional[str] = ...) -> None: ...
