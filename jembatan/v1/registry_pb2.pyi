from jembatan.v1 import common_pb2 as _common_pb2
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
    __slots__ = ("service_id", "agency_id", "endpoint", "fields", "catalogue_version")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    agency_id: str
    endpoint: str
    fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    catalogue_version: int
    def __init__(self, service_id: _Optional[str] = ..., agency_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., catalogue_version: _Optional[int] = ...) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[ServiceDescriptor]
    def __init__(self, services: _Optional[_Iterable[_Union[ServiceDescriptor, _Mapping]]] = ...) -> None: ...

class AllowedServicesRequest(_message.Message):
    __slots__ = ("purpose",)
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    def __init__(self, purpose: _Optional[str] = ...) -> None: ...

class AllowedField(_message.Message):
    __slots__ = ("spec", "treatment", "detail")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    TREATMENT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    spec: FieldSpec
    treatment: _common_pb2.Treatment
    detail: str
    def __init__(self, spec: _Optional[_Union[FieldSpec, _Mapping]] = ..., treatment: _Optional[_Union[_common_pb2.Treatment, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class AllowedService(_message.Message):
    __slots__ = ("service_id", "agency_id", "catalogue_version", "fields")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    agency_id: str
    catalogue_version: int
    fields: _containers.RepeatedCompositeFieldContainer[AllowedField]
    def __init__(self, service_id: _Optional[str] = ..., agency_id: _Optional[str] = ..., catalogue_version: _Optional[int] = ..., fields: _Optional[_Iterable[_Union[AllowedField, _Mapping]]] = ...) -> None: ...

class AllowedServicesResponse(_message.Message):
    __slots__ = ("purpose", "policy_version", "services")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    purpose: str
    policy_version: str
    services: _containers.RepeatedCompositeFieldContainer[AllowedService]
    def __init__(self, purpose: _Optional[str] = ..., policy_version: _Optional[str] = ..., services: _Optional[_Iterable[_Union[AllowedService, _Mapping]]] = ...) -> None: ...

class GetCatalogueRequest(_message.Message):
    __slots__ = ("service_id", "version")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    version: int
    def __init__(self, service_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Catalogue(_message.Message):
    __slots__ = ("service_id", "version", "fields", "approved_at")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    version: int
    fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    approved_at: str
    def __init__(self, service_id: _Optional[str] = ..., version: _Optional[int] = ..., fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., approved_at: _Optional[str] = ...) -> None: ...
