"""The hub's Prometheus metrics: one registry per hub, served on a port of their own.

The hot path pays for one labelled counter increment per exchange and one histogram
observation per stage (children bound once, when the pipeline is built). What only
matters when someone looks — the log's size, the sequencer's queue, checkpoints,
certificate expiry — is read at scrape time and costs the exchanges nothing.

Labels are bounded sets: client (members the hub CA issued to), service and connector
(routed in the registry), decision, reason (refusal codes), stage, method (the hub's gRPC
methods), gRPC status codes, the cause of a refused TLS handshake. Never a subject, a request
id or anything else that grows with traffic.

Every call to one of the hub's own gRPC services (``CallCounter``, a server interceptor) is
counted by service, method and status code: the exchange counter says what was released or
refused and why, this one what the officers', administrators' and consent manager's calls did.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.metadata
import inspect
import os
import platform
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.logs import TLS_CAUSE_NAMES
from hub.store.offloop import StoreCalls

if TYPE_CHECKING:
    from hub.witness.collector import WitnessStatus

# Stages take tens of microseconds to a connector's seconds: buckets span both.
_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
Observe = Callable[[float], None]


class HubMetrics:
    """Every metric one hub exports, in its own registry (hubs in one process never mix)."""

    def __init__(self) -> None:
        # Process-wide, and wanted by every hub: a *_created timestamp beside each counter
        # and histogram child doubles the series for nothing Prometheus uses.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        self._exchanges = Counter(
            "jembatan_exchanges",
            "Exchanges answered (each one audited, or failed closed), by outcome.",
            ["client", "service", "decision", "reason"],
            registry=self.registry,
        )
        self._stages = Histogram(
            "jembatan_stage_duration_seconds",
            "Time an exchange spent in each pipeline stage; 'audit' is append to durable,"
            " 'admission' the wait for its start (hub.admission).",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._connector_seconds = Histogram(
            "jembatan_connector_request_duration_seconds",
            "Time for one call to an agency connector, answered or not.",
            ["connector"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._connector_errors = Counter(
            "jembatan_connector_errors",
            "Calls to an agency connector that failed or timed out.",
            ["connector", "reason"],
            registry=self.registry,
        )
        self._connector_up = Gauge(
            "jembatan_connector_up",
            "1 if the last call to the agency connector was answered, else 0.",
            ["connector"],
            registry=self.registry,
        )
        self._tls_refused = Counter(
            "jembatan_tls_handshake_failures",
            "TLS handshakes the hub refused before any call, by cause (read from gRPC core's"
            " log: no_certificate, unknown_ca, expired, not_yet_valid, certificate_invalid,"
            " not_tls, other).",
            ["cause"],
            registry=self.registry,
        )
        for cause in TLS_CAUSE_NAMES:  # each at 0 from the start, for rate() and alerts
            self._tls_refused.labels(cause)
        self._admission_refused = Counter(
            "jembatan_admission_refusals",
            "Calls admission control refused (RATE_LIMITED) or whose caller gave up waiting"
            " (CANCELLED), recorded one by one or summed up, by member, method and reason.",
            ["client", "method", "reason"],
            registry=self.registry,
        )
        self._calls = Counter(
            "jembatan_grpc_calls",
            "Calls to the hub's gRPC services answered, by service, method and status code"
            " (OK, or the code the call ended with).",
            ["service", "method", "code"],
            registry=self.registry,
        )
        version, commit = build_identity()
        Gauge(
            "jembatan_build_info",
            "Always 1: the running hub's version, source commit and Python version.",
            ["version", "commit", "python"],
            registry=self.registry,
        ).labels(version, commit, platform.python_version()).set(1)
        ProcessCollector(registry=self.registry)

    def call_counter(self, services: Iterable[str]) -> CallCounter:
        """The interceptor that counts calls to the methods of ``services`` (full names)."""
        return CallCounter(self._calls, services)

    def stage_timer(self, stage: str) -> Observe:
        """The stage's histogram child, bound once so each observation skips the lookup."""
        return self._stages.labels(stage=stage).observe

    def exchange(self, client: str, service: str, decision: str, reason: str) -> None:
        self._exchanges.labels(client, service, decision, reason).inc()

    def admission_refused(self, client: str, method: str, reason: str) -> None:
        self._admission_refused.labels(client, method, reason).inc()

    def connector_call(self, connector: str, seconds: float, failure: str = "") -> None:
        """One call to ``connector``; ``failure`` is its refusal reason, empty if answered."""
        self._connector_seconds.labels(connector).observe(seconds)
        self._connector_up.labels(connector).set(0 if failure else 1)
        if failure:
            self._connector_errors.labels(connector, failure).inc()

    def tls_handshake_refused(self, cause: str) -> None:
        """One handshake refused at TLS; ``cause`` is one of ``hub.logs.TLS_CAUSE_NAMES``."""
        self._tls_refused.labels(cause).inc()

    def read_at_scrape(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read only when scraped."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def watch_certificates(
        self, expiries: Callable[[], Iterable[tuple[str, str]]], clock: Callable[[], float]
    ) -> None:
        """Seconds until each member's certificate expires, from (member, not_after) pairs."""
        self.registry.register(_CertificateExpiry(expiries, clock))

    def watch_witnesses(self, statuses: Callable[[], Iterable[WitnessStatus]]) -> None:
        """Per witness: when it last cosigned, what size, and whether that is stale."""
        self.registry.register(_Witnesses(statuses))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _CertificateExpiry(Collector):
    def __init__(
        self, expiries: Callable[[], Iterable[tuple[str, str]]], clock: Callable[[], float]
    ) -> None:
        self._expiries = expiries
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "jembatan_certificate_expiry_seconds",
            "Seconds until the member's last-expiring unrevoked certificate expires "
            "(negative: expired); the hub's own is under its member id.",
            labels=["member"],
        )
        # The latest per member: once a member has renewed, the old certificate's
        # approaching end is no alarm.
        latest: dict[str, float] = {}
        for member, not_after in self._expiries():
            at = datetime.datetime.fromisoformat(not_after).timestamp()
            latest[member] = max(at, latest.get(member, at))
        now = self._clock()
        for member, at in sorted(latest.items()):
            family.add_metric([member], at - now)
        yield family

    def describe(self) -> Iterator[Metric]:
        # Registered without collecting: the registry would otherwise read storage once
        # at registration to learn the names.
        return iter(())


async def serve_metrics(
    metrics: HubMetrics, listen: str, calls: StoreCalls | None = None
) -> tuple[web.AppRunner, str]:
    """Serve ``GET /metrics`` (and nothing else) on ``listen``; the runner and the bound
    HOST:PORT (port 0 picks a free one). The exposition reads storage (checkpoints,
    certificates, witnesses): it is made through ``calls``, off the event loop where the
    store's calls wait on a server."""
    run = calls or StoreCalls()

    async def scrape(_: web.Request) -> web.Response:
        body = await run(metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = listen.rsplit(":", 1)
    site = web.TCPSite(runner, host, int(port))
    await site.start()
    bound = runner.addresses[0]
    return runner, f"{host}:{bound[1]}"


class _Witnesses(Collector):
    def __init__(self, statuses: Callable[[], Iterable[WitnessStatus]]) -> None:
        self._statuses = statuses

    def collect(self) -> Iterator[Metric]:
        at = GaugeMetricFamily(
            "jembatan_witness_last_cosigned_timestamp_seconds",
            "Unix time of the witness's latest cosignature of a checkpoint (0: none yet).",
            labels=["witness"],
        )
        size = GaugeMetricFamily(
            "jembatan_witness_cosigned_entries",
            "Records covered by the latest checkpoint the witness cosigned.",
            labels=["witness"],
        )
        stale = GaugeMetricFamily(
            "jembatan_witness_stale",
            "1 if a checkpoint has waited longer than --witness-stale-after for the witness's"
            " cosignature.",
            labels=["witness"],
        )
        for status in self._statuses():
            at.add_metric([status.name], float(status.cosigned_at or 0))
            size.add_metric([status.name], float(status.size or 0))
            stale.add_metric([status.name], float(status.stale))
        yield from (at, size, stale)

    def describe(self) -> Iterator[Metric]:
        return iter(())


# The environment variable the image's build sets to the commit it was built from
# (Dockerfile: ARG GIT_COMMIT); a checkout answers for itself.
COMMIT_VARIABLE = "JEMBATAN_GIT_COMMIT"


def build_identity() -> tuple[str, str]:
    """(the installed package's version, the source commit or "unknown")."""
    try:
        version = importlib.metadata.version("jembatan")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    commit = os.environ.get(COMMIT_VARIABLE, "").strip()
    if not commit:
        commit = _checkout_commit(Path(__file__).resolve().parent.parent)
    return version, commit or "unknown"


def _checkout_commit(root: Path) -> str:
    """The commit of the git checkout the hub runs from, if it runs from one."""
    if not (root / ".git").exists():
        return ""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def _code_name(context: grpc.aio.ServicerContext, default: str) -> str:
    """The status code the call ended with, as its name; ``default`` if none was set."""
    code = context.code()
    if code is None:
        return default
    if isinstance(code, grpc.StatusCode):
        return code.name
    return _CODE_NAMES.get(int(code), default)


class CallCounter(grpc.aio.ServerInterceptor):
    """Counts each call to a method of the given services once it ends, by its status code.

    Only those services' own methods are counted — a method name is whatever the caller
    sent, and an unknown one must not become a label. Each method's wrapped handler is
    made once and reused, so a call pays one dictionary lookup and one increment.
    """

    def __init__(self, counter: Counter, services: Iterable[str]) -> None:
        self._counter = counter
        self._services = frozenset(services)
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        full_name: str = handler_call_details.method
        if handler is None:
            return handler
        known = self._wrapped.get(full_name)
        if known is not None and known[0] is handler:
            return known[1]
        service, _, method = full_name.lstrip("/").partition("/")
        if service not in self._services:
            return handler
        # Each code's child is looked up once: a call then pays one dictionary hit.
        children: dict[str, Callable[[], None]] = {}

        def count(code: str) -> None:
            increment = children.get(code)
            if increment is None:
                increment = children[code] = self._counter.labels(service, method, code).inc
            increment()

        wrapped = _counted(handler, count)
        self._wrapped[full_name] = (handler, wrapped)
        return wrapped


def _counted(handler: grpc.RpcMethodHandler, count: Callable[[str], None]) -> grpc.RpcMethodHandler:
    """``handler`` with each call counted by the status code it ends with."""
    if handler.request_streaming and handler.response_streaming:
        behavior, make = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behavior, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, make = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    new: Any
    if inspect.isasyncgenfunction(behavior):

        async def new(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                async for response in behavior(request, context):
                    yield response
            except asyncio.CancelledError:
                count("CANCELLED")
                raise
            except BaseException:
                count(_code_name(context, "UNKNOWN"))
                raise
            count(_code_name(context, "OK"))

    elif inspect.iscoroutinefunction(behavior):

        async def new(request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                response = await behavior(request, context)
            except asyncio.CancelledError:
                count("CANCELLED")
                raise
            except BaseException:
                # An abort sets the code before it raises; anything else is UNKNOWN.
                count(_code_name(context, "UNKNOWN"))
                raise
            count(_code_name(context, "OK"))
            return response

    else:  # a synchronous handler (the hub has none) runs in a thread: left as it is
        return handler
    return make(
        new,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
