"""Client SDK for the Admin service: members submit enrolments, renewals and connector
registrations and fetch the outcome; administrators list, approve, reject, revoke and
switch services off and on. Every call is mTLS with the caller's own certificate, which is
what the hub decides by; a refusal raises ``QueryRefused`` (of the class of its category) with
its status and reason, a call that never got the hub's decision ``HubCallFailed``
(``HubUnreachable`` when the hub could not be reached)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar, Unpack

from google.protobuf.message import Message

from jembatan.catalogue import FieldSpec
from jembatan.client.channel import MemberChannel, MemberCredentials
from jembatan.v1 import admin_pb2, admin_pb2_grpc, registry_pb2

_Response = TypeVar("_Response", bound=Message)
STATES = {
    "pending": admin_pb2.REQUEST_PENDING,
    "approved": admin_pb2.REQUEST_APPROVED,
    "rejected": admin_pb2.REQUEST_REJECTED,
}


class AdminClient(MemberChannel):
    def __init__(
        self, target: str, *, timeout_s: float = 10.0, **credentials: Unpack[MemberCredentials]
    ) -> None:
        super().__init__(target, timeout_s=timeout_s, **credentials)
        self._admin = admin_pb2_grpc.AdminStub(self._channel)

    # a member's own requests
    async def submit_enrolment(
        self, csr_pem: bytes, member_id: str, roles: Sequence[str] = ()
    ) -> admin_pb2.Enrolment:
        return await self._call(
            self._admin.SubmitEnrolment,
            admin_pb2.SubmitEnrolmentRequest(csr_pem=csr_pem, member_id=member_id, roles=roles),
        )

    async def enrolment(self, request_id: str) -> admin_pb2.Enrolment:
        return await self._call(
            self._admin.GetEnrolment, admin_pb2.GetEnrolmentRequest(request_id=request_id)
        )

    async def renew(self, csr_pem: bytes) -> admin_pb2.Enrolment:
        """A new certificate for the caller, at once: same id and roles, valid for the
        hub's default; each certificate renews once."""
        return await self._call(self._admin.Renew, admin_pb2.RenewRequest(csr_pem=csr_pem))

    async def register_connector(
        self, endpoint: str, services: Mapping[str, Sequence[FieldSpec]]
    ) -> admin_pb2.ConnectorRegistration:
        return await self._call(
            self._admin.RegisterConnector,
            admin_pb2.RegisterConnectorRequest(
                endpoint=endpoint,
                services=[
                    admin_pb2.ServiceOffer(service_id=service_id, fields=map(_field, fields))
                    for service_id, fields in services.items()
                ],
            ),
        )

    async def connector_registration(self, registration_id: str) -> admin_pb2.ConnectorRegistration:
        return await self._call(
            self._admin.GetConnectorRegistration,
            admin_pb2.GetConnectorRegistrationRequest(registration_id=registration_id),
        )

    # an administrator's
    async def enrolments(self, state: str | None = None) -> list[admin_pb2.Enrolment]:
        response = await self._call(self._admin.ListEnrolments, _list(state))
        return list(response.enrolments)

    async def approve_enrolment(self, request_id: str, valid_days: int = 0) -> admin_pb2.Enrolment:
        return await self._call(
            self._admin.ApproveEnrolment,
            admin_pb2.ApproveEnrolmentRequest(request_id=request_id, valid_days=valid_days),
        )

    async def reject_enrolment(self, request_id: str, reason: str) -> admin_pb2.Enrolment:
        return await self._call(
            self._admin.RejectEnrolment,
            admin_pb2.RejectRequest(request_id=request_id, reason=reason),
        )

    async def revoke(self, serial: str, reason: str = "") -> admin_pb2.RevokeCertificateResponse:
        return await self._call(
            self._admin.RevokeCertificate,
            admin_pb2.RevokeCertificateRequest(serial=serial, reason=reason),
        )

    async def connector_registrations(
        self, state: str | None = None
    ) -> list[admin_pb2.ConnectorRegistration]:
        response = await self._call(self._admin.ListConnectorRegistrations, _list(state))
        return list(response.registrations)

    async def approve_connector(self, registration_id: str) -> admin_pb2.ConnectorRegistration:
        return await self._call(
            self._admin.ApproveConnector,
            admin_pb2.ApproveConnectorRequest(registration_id=registration_id),
        )

    async def reject_connector(
        self, registration_id: str, reason: str
    ) -> admin_pb2.ConnectorRegistration:
        return await self._call(
            self._admin.RejectConnector,
            admin_pb2.RejectRequest(request_id=registration_id, reason=reason),
        )

    async def set_service_enabled(
        self, service_id: str, enabled: bool
    ) -> admin_pb2.SetServiceEnabledResponse:
        return await self._call(
            self._admin.SetServiceEnabled,
            admin_pb2.SetServiceEnabledRequest(service_id=service_id, enabled=enabled),
        )


def _list(state: str | None) -> admin_pb2.ListRequest:
    return admin_pb2.ListRequest(
        state=STATES[state] if state else admin_pb2.REQUEST_STATE_UNSPECIFIED
    )


def _field(spec: FieldSpec) -> registry_pb2.FieldSpec:
    return registry_pb2.FieldSpec(
        name=spec.name,
        type=spec.type,
        description=spec.description,
        sensitivity=registry_pb2.Sensitivity.Value(spec.sensitivity.upper()),
    )
