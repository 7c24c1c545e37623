from jembatan.v1 import registry_pb2 as _registry_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REQUEST_STATE_UNSPECIFIED: _ClassVar[RequestState]
    REQUEST_PENDING: _ClassVar[RequestState]
    REQUEST_APPROVED: _ClassVar[RequestState]
    REQUEST_REJECTED: _ClassVar[RequestState]
REQUEST_STATE_UNSPECIFIED: RequestState
REQUEST_PENDING: RequestState
REQUEST_APPROVED: RequestState
REQUEST_REJECTED: RequestState

class SubmitEnrolmentRequest(_message.Message):
    __slots__ = ("csr_pem", "member_id", "roles")
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    csr_pem: bytes
    member_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, csr_pem: _Optional[bytes] = ..., member_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class Enrolment(_message.Message):
    __slots__ = ("request_id", "member_id", "roles", "state", "submitter", "submitted_at", "decided_by", "decided_at", "reason", "certificate_pem", "serial")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    member_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    state: RequestState
    submitter: str
    submitted_at: str
    decided_by: str
    decided_at: str
    reason: str
    certificate_pem: bytes
    serial: str
    def __init__(self, request_id: _Optional[str] = ..., member_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[RequestState, str]] = ..., submitter: _Optional[str] = ..., submitted_at: _Optional[str] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[str] = ..., reason: _Optional[str] = ..., certificate_pem: _Optional[bytes] = ..., serial: _Optional[str] = ...) -> None: ...

class GetEnrolmentRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class RenewRequest(_message.Message):
    __slots__ = ("csr_pem", "valid_days")
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    VALID_DAYS_FIELD_NUMBER: _ClassVar[int]
    csr_pem: bytes
    valid_days: int
    def __init__(self, csr_pem: _Optional[bytes] = ..., valid_days: _Optional[int] = ...) -> None: ...

class ServiceOffer(_message.Message):
    __slots__ = ("service_id", "fields")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    fields: _containers.RepeatedCompositeFieldContainer[_registry_pb2.FieldSpec]
    def __init__(self, service_id: _Optional[str] = ..., fields: _Optional[_Iterable[_Union[_registry_pb2.FieldSpec, _Mapping]]] = ...) -> None: ...

class RegisterConnectorRequest(_message.Message):
    __slots__ = ("endpoint", "services")
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    endpoint: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceOffer]
    def __init__(self, endpoint: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceOffer, _Mapping]]] = ...) -> None: ...

class ConnectorRegistration(_message.Message):
    __slots__ = ("registration_id", "agency_id", "endpoint", "services", "state", "submitted_at", "decided_by", "decided_at", "reason", "catalogue_versions")
    class CatalogueVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    AGENCY_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    registration_id: str
    agency_id: str
    endpoint: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceOffer]
    state: RequestState
    submitted_at: str
    decided_by: str
    decided_at: str
    reason: str
    catalogue_versions: _containers.ScalarMap[str, int]
    def __init__(self, registration_id: _Optional[str] = ..., agency_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceOffer, _Mapping]]] = ..., state: _Optional[_Union[RequestState, str]] = ..., submitted_at: _Optional[str] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[str] = ..., reason: _Optional[str] = ..., catalogue_versions: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetConnectorRegistrationRequest(_message.Message):
    __slots__ = ("registration_id",)
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    registration_id: str
    def __init__(self, registration_id: _Optional[str] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: RequestState
    def __init__(self, state: _Optional[_Union[RequestState, str]] = ...) -> None: ...

class ListEnrolmentsResponse(_message.Message):
    __slots__ = ("enrolments",)
    ENROLMENTS_FIELD_NUMBER: _ClassVar[int]
    enrolments: _containers.RepeatedCompositeFieldContainer[Enrolment]
    def __init__(self, enrolments: _Optional[_Iterable[_Union[Enrolment, _Mapping]]] = ...) -> None: ...

class ListConnectorRegistrationsResponse(_message.Message):
    __slots__ = ("registrations",)
    REGISTRATIONS_FIELD_NUMBER: _ClassVar[int]
    registrations: _containers.RepeatedCompositeFieldContainer[ConnectorRegistration]
    def __init__(self, registrations: _Optional[_Iterable[_Union[ConnectorRegistration, _Mapping]]] = ...) -> None: ...

class ApproveEnrolmentRequest(_message.Message):
    __slots__ = ("request_id", "valid_days")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_DAYS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    valid_days: int
    def __init__(self, request_id: _Optional[str] = ..., valid_days: _Optional[int] = ...) -> None: ...

class ApproveConnectorRequest(_message.Message):
    __slots__ = ("registration_id",)
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    registration_id: str
    def __init__(self, registration_id: _Optional[str] = ...) -> None: ...

class RejectRequest(_message.Message):
    __slots__ = ("request_id", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeCertificateRequest(_message.Message):
    __slots__ = ("serial", "reason")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    serial: str
    reason: str
    def __init__(self, serial: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeCertificateResponse(_message.Message):
    __slots__ = ("serial", "member_id", "revoked_at")
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    serial: str
    member_id: str
    revoked_at: str
    def __init__(self, serial: _Optional[str] = ..., member_id: _Optional[str] = ..., revoked_at: _Optional[str] = ...) -> None: ...

class SetServiceEnabledRequest(_message.Message):
    __slots__ = ("service_id", "enabled")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    enabled: bool
    def __init__(self, service_id: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...

class SetServiceEnabledResponse(_message.Message):
    __slots__ = ("service_id", "enabled")
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    service_id: str
    enabled: bool
    def __init__(self, service_id: _Optional[str] = ..., enabled: _Optional[bool] = ...) -> None: ...
