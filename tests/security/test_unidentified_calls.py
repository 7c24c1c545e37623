"""Calls outside the query path from a certificate the hub cannot identify, through the real
hub process over real mTLS: every method of the Audit, Registry, Admin and ConsentRegistry
services refuses a certificate that chains to the hub CA but is not registered
(``CERT_UNKNOWN``) or is revoked (``CERT_REVOKED``) with UNAUTHENTICATED alone, and leaves
exactly one record of it with the precise reason — as a query from it would.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from hub.pki import CertificateAuthority
from hub.provisioning import enrol, revoke_certificate
from jembatan.certs import make_csr
from jembatan.errors import REASON_METADATA_KEY
from jembatan.keys import cert_to_pem, generate_key, key_to_pem, load_cert_pem, serial_text
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import admin_pb2, audit_pb2, consent_pb2, registry_pb2
from tests.stack import Stack

OFFICER_ID = "ID/GOV/BSSN/auditor-unidentified"
SERVICES = (audit_pb2, registry_pb2, admin_pb2, consent_pb2)
# What each service's calls are recorded for (CitizenAccesses: see CITIZEN_VIEW).
PURPOSES = {
    "jembatan.v1.Audit": "audit",
    "jembatan.v1.Registry": "discovery",
    "jembatan.v1.Admin": "administration",
    "jembatan.v1.ConsentRegistry": "consent",
}
CITIZEN_VIEW = "jembatan.v1.Audit/CitizenAccesses"


def _methods() -> Iterator[MethodDescriptor]:
    for module in SERVICES:
        for service in module.DESCRIPTOR.services_by_name.values():
            yield from service.methods


def _path(method: MethodDescriptor) -> str:
    """``jembatan.v1.Audit/Search``: how records and gRPC name a method."""
    return f"{method.containing_service.full_name}/{method.name}"


METHODS = {_path(method): method for method in _methods()}


def _request(method: MethodDescriptor) -> Message:
    """A request that names a subject wherever the message can: an unidentified caller's
    record must not say whom it asked about."""
    request = GetMessageClass(method.input_type)()
    if "subject" in method.input_type.fields_by_name:
        request.subject = "3174012345678901"
    return request


@pytest.fixture(scope="module")
def certificates(stack: Stack) -> dict[str, tuple[bytes, bytes]]:
    """(key, certificate) PEM of an officer whose certificate is revoked, and of one the
    hub CA issued but never registered."""
    files = enrol(stack.home, OFFICER_ID, roles=["auditor", "administrator"])
    revoke_certificate(stack.home, str(files.cert_path), "left the unit")
    key = generate_key()
    ca = CertificateAuthority.load(stack.home.ca_dir)
    unregistered = ca.issue(make_csr(key, OFFICER_ID), OFFICER_ID, roles=["auditor"])
    return {
        "CERT_REVOKED": (files.key_pem, files.cert_pem),
        "CERT_UNKNOWN": (key_to_pem(key), cert_to_pem(unregistered)),
    }


async def _call(
    stack: Stack, key_pem: bytes, cert_pem: bytes, method: MethodDescriptor
) -> grpc.aio.AioRpcError:
    credentials = grpc.ssl_channel_credentials(stack.home.ca_cert.read_bytes(), key_pem, cert_pem)
    async with grpc.aio.secure_channel(stack.address, credentials) as channel:
        path = "/" + _path(method)
        serialize = type(_request(method)).SerializeToString
        # A name, as a console would give: from a caller not identified, it is not kept.
        named = ((ON_BEHALF_OF_METADATA_KEY, "Siti Rahma"),)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            if method.server_streaming:
                stream = channel.unary_stream(path, request_serializer=serialize)
                [_ async for _ in stream(_request(method), timeout=10, metadata=named)]
            else:
                unary = channel.unary_unary(path, request_serializer=serialize)
                await unary(_request(method), timeout=10, metadata=named)
    return refused.value


@pytest.mark.parametrize("reason", ["CERT_REVOKED", "CERT_UNKNOWN"])
@pytest.mark.parametrize("path", sorted(METHODS))
async def test_a_call_from_an_unidentified_certificate_is_refused_and_recorded(
    stack: Stack, certificates: dict[str, tuple[bytes, bytes]], path: str, reason: str
) -> None:
    key_pem, cert_pem = certificates[reason]
    method = METHODS[path]
    before = stack.log_size()
    error = await _call(stack, key_pem, cert_pem, method)
    # The caller learns nothing of why.
    assert (error.code(), error.details()) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "caller not identified",
    )
    assert (REASON_METADATA_KEY, "UNAUTHENTICATED") in tuple(error.trailing_metadata() or ())
    # The log does: which certificate, which method, why — and nothing the call was about.
    (record,) = stack.records(before)
    serial = serial_text(load_cert_pem(cert_pem))
    purpose = "citizen-access" if path == CITIZEN_VIEW else PURPOSES[path.split("/")[0]]
    assert (record.decision, record.reason, record.status, record.stage) == (
        "REFUSED",
        reason,
        "UNAUTHENTICATED",
        "call",
    )
    assert (record.client_id, record.client_certificate) == (OFFICER_ID, serial)
    assert (record.service_id, record.purpose) == (path, purpose)
    assert (record.subject, record.on_behalf_of, record.response_digest) == ("", "", "")
