"""The connector side of the contract: serve an Agency to the hub over mTLS, signed.

The SDK carries everything connectors share — TLS, caller check, field checks, value
encoding, response signing — so an agency adapter is only its ``fetch``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from cryptography.hazmat.primitives.asymmetric import ec
from opentelemetry import trace

from connectors.sdk.agency import Agency, AgencyUnavailable, InvalidSubject
from jembatan.certs import member_id_of
from jembatan.jws import RESPONSE_TYPE, sign_envelope
from jembatan.keys import generate_key, load_cert_pem, load_key_pem, serial_text
from jembatan.limits import MAX_MESSAGE_BYTES
from jembatan.tls import listen_mtls
from jembatan.tracing import server_interceptors, tracer_of
from jembatan.v1 import connector_pb2, connector_pb2_grpc
from jembatan.values import to_wire

log = logging.getLogger(__name__)
# What a misbehaving connector adds: the hub must drop these and never store them.
UNASKED_FIELDS = {"mother_maiden_name": "MISBEHAVIOUR-1", "home_address": "MISBEHAVIOUR-2"}


@dataclass(frozen=True)
class ConnectorIdentity:
    """The agency's member certificate and key (the same key signs responses).

    The connector serves TLS with this certificate, and the hub talks only to a connector
    whose certificate is its route's agency's (``hub.routing``): it names the agency's
    ``member_dns_name``, so the certificate needs no host name of its own.
    """

    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes

    @property
    def agency_id(self) -> str:
        return member_id_of(load_cert_pem(self.cert_pem))

    @property
    def serial(self) -> str:
        return serial_text(load_cert_pem(self.cert_pem))


@dataclass(frozen=True)
class UnsafeMisbehaviour:
    """Simulation only: make the connector lie, to show the hub does not believe it.

    ``extra_fields`` adds fields nobody asked for; ``wrong_key`` signs with a key that is
    not the agency's. Never set outside the simulator and the tests.
    """

    extra_fields: bool = False
    wrong_key: bool = False


@dataclass
class ConnectorSettings:
    identity: ConnectorIdentity
    service_ids: tuple[str, ...]
    # Only this member (the hub) may call the connector.
    hub_id: str
    listen: str = "127.0.0.1:0"
    clock: Callable[[], float] = field(default=time.time)
    unsafe_misbehaviour: UnsafeMisbehaviour | None = None


class ConnectorService(connector_pb2_grpc.ConnectorServicer):
    def __init__(self, agency: Agency, settings: ConnectorSettings) -> None:
        self._agency = agency
        self._settings = settings
        self._agency_id = settings.identity.agency_id
        self._serial = settings.identity.serial
        key = load_key_pem(settings.identity.key_pem)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("connector key must be ECDSA P-256")
        self._key = key
        self._catalogue = {spec.name for spec in agency.catalogue}

    async def Fetch(
        self, request: connector_pb2.FetchRequest, context: grpc.aio.ServicerContext
    ) -> connector_pb2.FetchResponse:
        caller = context.auth_context().get("x509_subject_alternative_name", [])
        if f"jembatan://{self._settings.hub_id}".encode() not in caller:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only the hub may call")
        # On the call's server span, when traced (a no-op otherwise): whose connector this is.
        trace.get_current_span().set_attribute("jembatan.agency", self._agency_id)
        if request.service_id not in self._settings.service_ids:
            await context.abort(grpc.StatusCode.NOT_FOUND, "service not served here")
        unknown = sorted(set(request.fields) - self._catalogue)
        if unknown:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown fields {unknown}")
        try:
            values = await self._agency.fetch(request.subject, list(request.fields))
        except InvalidSubject:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "subject is not a NIK")
            raise
        except AgencyUnavailable as exc:
            log.warning("agency unavailable: %s", exc)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "agency system unavailable")
            raise
        except Exception as exc:
            # Only the type: an adapter's own error message may quote a NIK or a value.
            log.error("adapter failed with %s", type(exc).__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "adapter failed")
            raise
        result = connector_pb2.FetchResult(
            request_id=request.request_id,
            service_id=request.service_id,
            agency_id=self._agency_id,
            subject_found=values is not None,
        )
        asked = set(request.fields)
        for name, value in (values or {}).items():
            # An honest connector never sends what was not asked for, even if its agency does.
            if name in asked:
                result.fields[name].CopyFrom(to_wire(value))
        misbehaviour = self._settings.unsafe_misbehaviour
        if misbehaviour and misbehaviour.extra_fields:
            for name, value in UNASKED_FIELDS.items():
                result.fields[name].CopyFrom(to_wire(value))
        body = result.SerializeToString(deterministic=True)
        signature = sign_envelope(
            body,
            generate_key() if misbehaviour and misbehaviour.wrong_key else self._key,
            issuer=self._agency_id,
            typ=RESPONSE_TYPE,
            key_id=self._serial,
            now=self._settings.clock(),
        )
        return connector_pb2.FetchResponse(body=body, signature=signature)


class ConnectorServer:
    """A running connector: ``await start()``, then ``port``; ``await stop()``."""

    def __init__(self, agency: Agency, settings: ConnectorSettings) -> None:
        self._agency = agency
        self._server = grpc.aio.server(
            # A server span per call, the child of the hub's, when the process traces.
            interceptors=server_interceptors(tracer_of()),
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
        )
        connector_pb2_grpc.add_ConnectorServicer_to_server(
            ConnectorService(agency, settings), self._server
        )
        identity = settings.identity
        self.port = listen_mtls(
            self._server,
            settings.listen,
            key_pem=identity.key_pem,
            cert_pem=identity.cert_pem,
            ca_pem=identity.ca_pem,
        )

    async def start(self) -> None:
        await self._server.start()

    async def wait(self) -> None:
        await self._server.wait_for_termination()

    async def stop(self, grace_s: float = 1.0) -> None:
        await self._server.stop(grace_s)
        await self._agency.close()
