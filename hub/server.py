"""The hub process: gRPC services over mTLS in front of the query pipeline."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from consent.artefact import ConsentVerifier, load_private_key_pem, load_public_key_pem
from hub.administration import AdminService
from hub.audit.log import AuditLog
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.publisher import CheckpointPublisher
from hub.audit.service import AuditService
from hub.calls import CallRecorder
from hub.consents import ConsentLimits, ConsentRegistryService
from hub.exchange import ExchangeService
from hub.home import CONSENT_MANAGER_ID, HubHome
from hub.pipeline.chain import Pipeline
from hub.pipeline.replay import ReplayGuard
from hub.pipeline.stages import (
    Approve,
    Authenticate,
    Authorize,
    CertificateCache,
    CheckConsent,
    Decode,
    Forward,
    Identify,
    Resolve,
    Transform,
    VerifyAgency,
)
from hub.pki import CertificateAuthority
from hub.policy_reload import PolicyReloader
from hub.registry_service import RegistryService
from hub.routing import ConnectorPool
from hub.store import open_audit_writer, open_store
from hub.store.snapshot import RegistrySnapshot
from hub.tls import listen_mtls
from jembatan.limits import MAX_MESSAGE_BYTES
from jembatan.v1 import (
    admin_pb2_grpc,
    audit_pb2_grpc,
    consent_pb2_grpc,
    registry_pb2_grpc,
)
from policies import PolicySet, load_policies

log = logging.getLogger(__name__)


@dataclass
class HubSettings:
    home: HubHome
    listen: str = "127.0.0.1:7443"
    policies_dir: Path | None = None
    # Freshness window for signed requests, and the clock skew tolerated around it.
    max_age_s: int = 60
    leeway_s: int = 5
    connector_deadline_s: float = 2.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    checkpoint_interval_s: float = 1.0
    # How often the policy files are checked for changes (None: only on SIGHUP).
    policy_poll_s: float | None = 1.0
    consent_limits: ConsentLimits = field(default_factory=ConsentLimits)
    clock: Callable[[], float] = field(default=time.time)


class Hub:
    """One hub process: storage, the pipeline and the gRPC server."""

    def __init__(self, settings: HubSettings) -> None:
        home = settings.home
        self.settings = settings
        self.policies: PolicySet = load_policies(settings.policies_dir)
        self._reloader = PolicyReloader(
            settings.policies_dir, lambda: self.policies, self._use_policies
        )
        self._reloading: asyncio.Task[None] | None = None
        # Storage: the home's engine (its SQLite file, or a PostgreSQL DSN shared by replicas).
        self.registry = open_store(home)
        self.audit = AuditLog(lambda: open_audit_writer(home))
        self._connectors = ConnectorPool(
            ca_pem=home.ca_cert.read_bytes(),
            key_pem=home.hub_key.read_bytes(),
            cert_pem=home.hub_cert.read_bytes(),
        )
        certificates = CertificateCache()
        clock = settings.clock
        snapshot = RegistrySnapshot(self.registry)
        self.identify = Identify(snapshot, certificates)
        # On a shared store every nonce is claimed there too: a replay on another replica.
        replay = ReplayGuard(
            self.registry.live_nonces(int(clock())),
            shared=self.registry if self.registry.shared else None,
        )
        consent_key = load_public_key_pem(home.consent_manager_public_key.read_bytes())
        pseudonyms = Pseudonymizer(bytes.fromhex(home.pseudonym_key.read_text().strip()))
        self.calls = CallRecorder(self.identify, self.audit, pseudonyms, clock)
        # One verifier for the pipeline and the registry: an artefact verified at Grant is
        # not verified again on its first query.
        consents = ConsentVerifier(consent_key, issuer=CONSENT_MANAGER_ID)
        log_key = load_private_key_pem(home.log_key.read_bytes())
        self.pipeline = Pipeline(
            stages=[
                self.identify,
                Decode(),
                Authenticate(replay, settings.max_age_s, settings.leeway_s),
                Resolve(snapshot),
                CheckConsent(consents, snapshot),
                Authorize(lambda: self.policies),
                Approve(snapshot, certificates, settings.max_age_s, settings.leeway_s),
                Forward(self._connectors, settings.connector_deadline_s),
                VerifyAgency(snapshot, certificates, settings.max_age_s),
                Transform(),
            ],
            audit=self.audit,
            pseudonyms=pseudonyms,
            receipt_key=log_key,
        )
        self._server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                # Keep HTTP/2 flow-control windows at their default size instead of letting
                # bandwidth probing grow them to megabytes: a bulk stream's read-ahead is
                # then bounded by what the hub has room for, not by the transport.
                ("grpc.http2.bdp_probe", 0),
            ]
        )
        self._server.add_generic_rpc_handlers((ExchangeService(self.pipeline, clock).handler(),))
        consent_pb2_grpc.add_ConsentRegistryServicer_to_server(
            ConsentRegistryService(
                self.calls,
                self.registry,
                consents,
                consent_key,
                pseudonyms,
                log_key,
                settings.consent_limits,
            ),
            self._server,
        )
        self.checkpoints = CheckpointPublisher(
            self.registry, log_key, clock=clock, lease=self.registry.signer_lease()
        )
        self._publishing: asyncio.Task[None] | None = None
        audit_pb2_grpc.add_AuditServicer_to_server(
            AuditService(self.calls, self.registry, self.checkpoints, pseudonyms, consent_key),
            self._server,
        )
        registry_pb2_grpc.add_RegistryServicer_to_server(
            RegistryService(self.calls, self.registry, lambda: self.policies), self._server
        )
        admin_pb2_grpc.add_AdminServicer_to_server(
            AdminService(self.calls, self.registry, lambda: CertificateAuthority.load(home.ca_dir)),
            self._server,
        )
        self.port = listen_mtls(
            self._server,
            settings.listen,
            key_pem=home.hub_key.read_bytes(),
            cert_pem=home.hub_cert.read_bytes(),
            ca_pem=home.ca_cert.read_bytes(),
        )

    async def start(self) -> None:
        await self._server.start()
        self._publishing = asyncio.create_task(
            self.checkpoints.run(self.settings.checkpoint_interval_s)
        )
        self._reloading = asyncio.create_task(self._reloader.run(self.settings.policy_poll_s))
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._reloader.hangup)
        log.info("hub listening on port %d, policy %s", self.port, self.policies.version)

    def _use_policies(self, policies: PolicySet) -> None:
        # One assignment: the next exchange's Authorize sees the new set, one in flight keeps
        # the set (and Decision) it already took.
        self.policies = policies

    async def wait(self) -> None:
        await self._server.wait_for_termination()

    async def stop(self, grace_s: float = 2.0) -> None:
        if self._publishing is not None:
            self._publishing.cancel()
        if self._reloading is not None:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._reloading.cancel()
        await self._server.stop(grace_s)
        await self._connectors.close()
        self.audit.close()
        self.registry.close()
