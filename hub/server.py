"""The hub process: gRPC services over mTLS in front of the query pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from consent.artefact import ConsentVerifier
from hub.admission import Admission, AdmissionLimits, RefusalRecords
from hub.audit.log import AuditLog
from hub.audit.pseudonym import Pseudonymizer
from hub.audit.publisher import CheckpointPublisher
from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID, HubHome
from hub.metrics import HubMetrics, serve_metrics
from hub.pipeline.chain import Pipeline
from hub.pipeline.replay import ReplayGuard
from hub.pipeline.stages import CertificateCache, Identify, build_stages
from hub.pki import CertificateAuthority
from hub.policy_reload import PolicyReloader
from hub.routing import ConnectorPool
from hub.services.admin import AdminService
from hub.services.audit import AuditService
from hub.services.calls import CallRecorder
from hub.services.consents import ConsentLimits, ConsentRegistryService
from hub.services.exchange import ExchangeService
from hub.services.health import HealthMonitor
from hub.services.registry import RegistryService
from hub.store import open_audit_writer, open_store
from hub.store.base import describe_error
from hub.store.offloop import lanes
from hub.store.snapshot import RegistrySnapshot
from hub.store.sqlite import claim_sole_hub
from hub.witness.collector import (
    DEFAULT_STALE_AFTER_S,
    DEFAULT_TIMEOUT_S,
    WitnessCollector,
    WitnessEndpoint,
)
from jembatan.keys import load_cert_pem, load_ed25519_private_pem, load_ed25519_public_pem
from jembatan.limits import MAX_MESSAGE_BYTES
from jembatan.tls import listen_mtls
from jembatan.tracing import server_interceptors, tracer_of
from jembatan.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    exchange_pb2,
    registry_pb2,
    registry_pb2_grpc,
)
from policies import PolicySet, load_policies

log = logging.getLogger(__name__)
# A durable batch takes milliseconds; one under way this long is stuck (a replica holding the
# sequencing lock, a storage hang), and the hub should be taken out of rotation.
_WRITE_STALLED_S = 10.0
# How often channels to connectors the registry no longer routes to are closed.
_RETIRE_EVERY_S = 30.0
# Calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS): more
# wait in the client. Far above what admission lets a member hold, so only a flood meets it,
# and then the hub never has thousands of one connection's calls to refuse at once.
_STREAMS_PER_CONNECTION = 256
# Ping a connection idle this long, and drop it if the ping goes unanswered: the streams of a
# client that vanished (its slots under admission control) are freed, not held forever.
_KEEPALIVE_MS, _KEEPALIVE_TIMEOUT_MS = 60_000, 20_000
# What the hub serves on its mTLS port; health reports each, reflection lists them.
SERVICE_NAMES = tuple(
    service.full_name
    for module in (exchange_pb2, audit_pb2, registry_pb2, admin_pb2, consent_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
)


@dataclass
class HubSettings:
    home: HubHome
    listen: str = "127.0.0.1:7443"
    policies_dir: Path | None = None
    # Freshness window for signed envelopes (the longest exp - iat), and how far a signer's
    # clock may be ahead of the hub's or behind it (jembatan.jws.verify_envelope).
    max_age_s: int = 60
    clock_skew_s: int = 30
    connector_deadline_s: float = 2.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    checkpoint_interval_s: float = 1.0
    # How often the policy files are checked for changes (None: only on SIGHUP).
    policy_poll_s: float | None = 1.0
    consent_limits: ConsentLimits = field(default_factory=ConsentLimits)
    # HOST:PORT for Prometheus's GET /metrics (None: no metrics port).
    metrics_listen: str | None = None
    health_interval_s: float = 1.0
    # How much of the hub one member may hold, and how many exchanges run at once.
    admission: AdmissionLimits = field(default_factory=AdmissionLimits)
    # Witnesses asked to cosign each checkpoint (hub.witness.collector), best effort.
    witnesses: tuple[WitnessEndpoint, ...] = ()
    witness_timeout_s: float = DEFAULT_TIMEOUT_S
    witness_stale_after_s: float = DEFAULT_STALE_AFTER_S
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
        self._retiring: asyncio.Task[None] | None = None
        # Storage: the home's engine (its SQLite file, or a PostgreSQL DSN shared by replicas).
        self.registry = open_store(home)
        # Its calls from the event loop: in worker threads on PostgreSQL, so no query, health
        # check or scrape waits for another's round trip, and the hub's own operations in
        # threads of their own; inline on SQLite (docs/storage.md).
        self.store_calls, self.operations_calls = lanes(self.registry.threads)
        # One process per SQLite file (its replay guard is in memory); replicas share PostgreSQL.
        self._sole_hub = None if self.registry.shared else claim_sole_hub(home.database)
        self.audit = AuditLog(lambda: open_audit_writer(home))
        self.metrics = HubMetrics()
        self.metrics_address: str | None = None
        self._metrics_runner: web.AppRunner | None = None
        # The process's tracer if ``jembatan serve`` turned tracing on, else None: no spans.
        tracer = tracer_of()
        self._connectors = ConnectorPool(
            tracer=tracer,
            ca_pem=home.ca_cert.read_bytes(),
            key_pem=home.hub_key.read_bytes(),
            cert_pem=home.hub_cert.read_bytes(),
        )
        certificates = CertificateCache()
        clock = settings.clock
        snapshot = RegistrySnapshot(self.registry, self.store_calls)
        self.identify = Identify(snapshot, certificates)
        # On a shared store every nonce is claimed there too: a replay on another replica.
        replay = ReplayGuard(
            self.registry.live_nonces(int(clock())),
            shared=self.registry if self.registry.shared else None,
            calls=self.store_calls,
        )
        consent_key = load_ed25519_public_pem(home.consent_manager_public_key.read_bytes())
        pseudonyms = Pseudonymizer(bytes.fromhex(home.pseudonym_key.read_text().strip()))
        self.calls = CallRecorder(
            self.identify, self.audit, pseudonyms, clock, storage=self.store_calls
        )
        # One verifier for the pipeline and the registry: an artefact verified at Grant is
        # not verified again on its first query.
        consents = ConsentVerifier(consent_key, issuer=CONSENT_MANAGER_ID)
        log_key = load_ed25519_private_pem(home.log_key.read_bytes())
        self.admission = Admission(
            settings.admission,
            RefusalRecords(
                self.audit,
                settings.admission.refusal_window_s,
                clock,
                counted=self.metrics.admission_refused,
            ),
            clock,
            observe_wait=self.metrics.stage_timer("admission"),
            tracer=tracer,
        )
        self.pipeline = Pipeline(
            stages=build_stages(
                identify=self.identify,
                registry=snapshot,
                certificates=certificates,
                replay=replay,
                consents=consents,
                policies=lambda: self.policies,
                connectors=self._connectors,
                max_age_s=settings.max_age_s,
                clock_skew_s=settings.clock_skew_s,
                connector_deadline_s=settings.connector_deadline_s,
                observe_connector=self.metrics.connector_call,
            ),
            audit=self.audit,
            pseudonyms=pseudonyms,
            receipt_key=log_key,
            metrics=self.metrics,
            turns=self.admission,
            tracer=tracer,
        )
        self._admitting: asyncio.Task[None] | None = None
        self._server = grpc.aio.server(
            # A span per call when tracing (first: the count is then inside the call's span).
            interceptors=(
                *server_interceptors(tracer),
                self.metrics.call_counter(SERVICE_NAMES),
            ),
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                # Keep HTTP/2 flow-control windows at their default size instead of letting
                # bandwidth probing grow them to megabytes: a bulk stream's read-ahead is
                # then bounded by what the hub has room for, not by the transport.
                ("grpc.http2.bdp_probe", 0),
                # No port sharing: a second process binding the same port is an error.
                ("grpc.so_reuseport", 0),
                ("grpc.max_concurrent_streams", _STREAMS_PER_CONNECTION),
                ("grpc.keepalive_time_ms", _KEEPALIVE_MS),
                ("grpc.keepalive_timeout_ms", _KEEPALIVE_TIMEOUT_MS),
            ],
        )
        self._server.add_generic_rpc_handlers(
            (ExchangeService(self.pipeline, self.admission, clock).handler(),)
        )
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
        self.witnesses = WitnessCollector(
            self.registry,
            settings.witnesses,
            clock=clock,
            timeout_s=settings.witness_timeout_s,
            stale_after_s=settings.witness_stale_after_s,
            calls=self.operations_calls,
        )
        self.checkpoints = CheckpointPublisher(
            self.registry,
            log_key,
            clock=clock,
            lease=self.registry.signer_lease(),
            on_published=self.witnesses.kick,
            calls=self.operations_calls,
        )
        self._publishing: asyncio.Task[None] | None = None
        audit_pb2_grpc.add_AuditServicer_to_server(
            AuditService(
                self.calls,
                self.registry,
                self.checkpoints,
                pseudonyms,
                consent_key,
                self.admission,
            ),
            self._server,
        )
        registry_pb2_grpc.add_RegistryServicer_to_server(
            RegistryService(self.calls, self.registry, lambda: self.policies), self._server
        )
        admin_pb2_grpc.add_AdminServicer_to_server(
            AdminService(self.calls, self.registry, lambda: CertificateAuthority.load(home.ca_dir)),
            self._server,
        )
        self.health = HealthMonitor(SERVICE_NAMES, self._problem, each_round=self.audit.probe)
        self._monitoring: asyncio.Task[None] | None = None
        health_pb2_grpc.add_HealthServicer_to_server(self.health.servicer, self._server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self._server
        )
        self._watch(clock)
        self.port = listen_mtls(
            self._server,
            settings.listen,
            key_pem=home.hub_key.read_bytes(),
            cert_pem=home.hub_cert.read_bytes(),
            ca_pem=home.ca_cert.read_bytes(),
        )

    async def _problem(self) -> str | None:
        """Why the hub cannot serve now (None: it can); see ``hub.health``."""
        if not self.audit.running:
            return "the audit sequencer is not running"
        if self.audit.failing:
            return "the audit log cannot be written"
        if self.audit.stalled(_WRITE_STALLED_S):
            return f"an audit write has not finished in {_WRITE_STALLED_S:.0f} s"
        try:
            await self.operations_calls(self.registry.generation)
        except Exception as exc:
            return f"storage does not answer ({type(exc).__name__})"
        return None

    def _watch(self, clock: Callable[[], float]) -> None:
        """The metrics read at scrape time: log, checkpoints, certificates."""
        metrics = self.metrics
        metrics.read_at_scrape(
            "jembatan_audit_log_entries",
            "Records durable in the audit log.",
            lambda: self.audit.size,
        )
        metrics.read_at_scrape(
            "jembatan_audit_queue_depth",
            "Records waiting for the audit sequencer (sequencing lag).",
            self.audit.queued,
        )
        admission = self.admission
        metrics.read_at_scrape(
            "jembatan_exchanges_running",
            "Exchanges at work on the hub (not waiting on an agency), over all members.",
            lambda: admission.turns.running,
        )
        metrics.read_at_scrape(
            "jembatan_exchanges_waiting",
            "Exchanges waiting for a place at work on the hub, served member by member.",
            lambda: admission.turns.waiting,
        )
        metrics.read_at_scrape(
            "jembatan_calls_admitted",
            "Query and FanOut calls holding one of their member's places, over all members.",
            lambda: admission.calls.held,
        )
        metrics.read_at_scrape(
            "jembatan_calls_waiting",
            "Query and FanOut calls waiting for one of their member's places.",
            lambda: admission.calls.waiting,
        )
        metrics.read_at_scrape(
            "jembatan_streams_open",
            "Bulk and audit streams admitted and still open, over all members.",
            lambda: admission.streams.held,
        )
        metrics.read_at_scrape(
            "jembatan_audit_sequencer_up",
            "1 while the audit sequencer runs and its last write went through.",
            lambda: float(self.audit.running and not self.audit.failing),
        )

        def checkpoint(at: Callable[[tuple[int, str]], float]) -> Callable[[], float]:
            def read() -> float:
                latest = self.registry.latest_checkpoint_signed()
                return at(latest) if latest else 0.0

            return read

        metrics.read_at_scrape(
            "jembatan_checkpoint_entries",
            "Records covered by the latest signed checkpoint.",
            checkpoint(lambda latest: latest[0]),
        )
        metrics.read_at_scrape(
            "jembatan_checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed.",
            checkpoint(
                lambda latest: clock() - datetime.datetime.fromisoformat(latest[1]).timestamp()
            ),
        )
        hub_not_after = load_cert_pem(self.settings.home.hub_cert.read_bytes()).not_valid_after_utc

        def expiries() -> list[tuple[str, str]]:
            return [(HUB_MEMBER_ID, hub_not_after.isoformat())] + [
                (c.member_id, c.not_after)
                for c in self.registry.member_certificates()
                if not c.revoked
            ]

        metrics.watch_certificates(expiries, clock)
        # Declared even with no witness configured (no samples then), so the alert rules and
        # the dashboard read a metric the hub knows.
        metrics.watch_witnesses(self.witnesses.status)

    async def start(self) -> None:
        await self.health.check()  # SERVING (or not) before the first call, not a round later
        await self._server.start()
        if self.settings.metrics_listen is not None:
            self._metrics_runner, self.metrics_address = await serve_metrics(
                self.metrics, self.settings.metrics_listen, self.operations_calls
            )
        self._monitoring = asyncio.create_task(self.health.run(self.settings.health_interval_s))
        self._publishing = asyncio.create_task(
            self.checkpoints.run(self.settings.checkpoint_interval_s)
        )
        self._reloading = asyncio.create_task(self._reloader.run(self.settings.policy_poll_s))
        self._retiring = asyncio.create_task(self._retire_stale_connectors())
        self._admitting = asyncio.create_task(self.admission.run())
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._reloader.hangup)
        log.info("hub listening on port %d, policy %s", self.port, self.policies.version)

    async def _retire_stale_connectors(self) -> None:
        """Close, now and then, the channels of routes the registry no longer has, so
        re-registered connectors do not leave channels to their old endpoints open."""
        while True:
            await asyncio.sleep(_RETIRE_EVERY_S)
            try:
                services = await self.operations_calls(self.registry.services)
                live = {(r.endpoint, r.agency_id) for r in services}
                await self._connectors.retire(live, grace_s=self.settings.connector_deadline_s)
            except Exception as exc:  # the next round tries again; queries go on
                log.error("connector channels not retired: %s", describe_error(exc))

    def _use_policies(self, policies: PolicySet) -> None:
        # One assignment: the next exchange's Authorize sees the new set, one in flight keeps
        # the set (and Decision) it already took.
        self.policies = policies

    async def wait(self) -> None:
        await self._server.wait_for_termination()

    async def stop(self, grace_s: float = 2.0) -> None:
        if self._publishing is not None:
            self._publishing.cancel()
            # It lets go of the signer lease on its way out: before the store closes.
            with contextlib.suppress(asyncio.CancelledError):
                await self._publishing
        if self._monitoring is not None:
            self._monitoring.cancel()
        await self.health.stop()
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
        if self._reloading is not None:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._reloading.cancel()
        if self._retiring is not None:
            self._retiring.cancel()
        await self._server.stop(grace_s)
        if self._admitting is not None:
            self._admitting.cancel()
        # The refusals counted but not yet summed up in a record are, before the log closes.
        await self.admission.records.flush(ended_by=math.inf)
        await self._connectors.close()
        await self.witnesses.close()
        self.audit.close()
        self.store_calls.close()
        self.operations_calls.close()
        self.registry.close()
        if self._sole_hub is not None:
            self._sole_hub.close()
