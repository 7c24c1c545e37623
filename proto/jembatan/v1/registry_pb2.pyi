from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sensitivity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENSITIVITY_UNSPECIFIED: _ClassVar[Sensitivity]
    PUBLIC: _ClassVar[Sensitivity]
    PERSONAL: _ClassVar[Sensitivity]
    SENSITIVE: _ClassVar[Sensitivity]
SENSITIVITY_UNSPECIFIED: Sensitivity
PUBLIC: Sensitivity
PERSONAL: Sensitivity
SENSITIVE: Sensitivity

class FieldSpec(_message.Message):
    __slots__ = ("name", "type", "description", "sensitivity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    description: str
    sensitivity: Sensitivity
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., description: _Optional[str] = ..., sensitivity: _Optional[_Union[Sensitivity, str]] = ...) -> None: ...

class ServiceDescriptor(_message.Message):
    __slots__ = ("service_id", "agency_id", "endpoint", "fields")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    agency_id: str
    endpoint: str
    fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    def __init__(self, service_id: _Optional[str] = ..., agency_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ...) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceDescriptor]
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceDescriptor, _Mapping]]] = ...) -> None: ...
