"""Traces through real processes: one query from the client SDK, through the hub's stages,
to the connector and its HTTP call to the agency, is one trace, exported by each process
over OTLP to a collector stand-in (``tests.otlp_collector``) — and, not configured,
nothing is exported and a ``traceparent`` sent anyway changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from hub.home import HubHome
from hub.provisioning import init_consent_manager, init_home
from jembatan.client import Applicant
from jembatan.v1 import exchange_pb2, exchange_pb2_grpc
from tests.otlp_collector import Collector, ReceivedSpan
from tests.stack import Stack, employment_body, employment_query, start_stack
from tests.test_cli import jembatan
from tests.test_cli_mistakes import one_line_error

CLIENT_SERVICE = "eligibility-test-client"
QUERY = "jembatan.v1.Exchange/Query"
FETCH = "jembatan.v1.Connector/Fetch"
FAN_OUT, BULK = "jembatan.v1.Exchange/FanOut", "jembatan.v1.Exchange/Bulk"
# The pipeline's stages in their order (hub.pipeline.stages), then the audit append.
STAGES = (
    "identify",
    "decode",
    "authenticate",
    "resolve",
    "consent",
    "authorize",
    "approve",
    "forward",
    "verify",
    "transform",
)
SERVER, CLIENT = trace_pb2.Span.SPAN_KIND_SERVER, trace_pb2.Span.SPAN_KIND_CLIENT
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
)


@pytest.fixture
def quick_export(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exporters send their batch within 50 ms (the default is 5 s), so that the tests wait
    little for spans — and so that spans sent by mistake would arrive as quickly."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")


@pytest.fixture
def client_tracing(quick_export: None) -> Iterator[tuple[Collector, TracerProvider]]:
    """A collector stand-in, and the client program's tracer provider exporting to it."""
    with Collector() as collector:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: CLIENT_SERVICE}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.endpoint))
        )
        yield collector, provider
        provider.shutdown()


def _children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    return sorted(
        (span for span in spans if span.parent_id == parent.span_id),
        key=lambda span: span.span.start_time_unix_nano,
    )


def _only(spans: list[ReceivedSpan], **where: object) -> ReceivedSpan:
    found = [
        span
        for span in spans
        if all(
            (span.span.kind if key == "kind" else getattr(span, key)) == value
            for key, value in where.items()
        )
    ]
    assert len(found) == 1, (where, [(s.service, s.name) for s in found])
    return found[0]


def _exchange_lines(path: Path) -> list[dict[str, object]]:
    return [
        line
        for line in (json.loads(text) for text in path.read_text().splitlines())
        if line["logger"] == "hub.exchanges"
    ]


async def test_one_query_is_one_trace_from_client_to_agency(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client_tracing: tuple[Collector, TracerProvider],
) -> None:
    collector, provider = client_tracing
    # The hub is told by its option, the agencies' process by the standard variable.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    log_path = tmp_path / "hub.log"
    with log_path.open("w") as log_file:
        stack = start_stack(
            tmp_path / "hub",
            hub_args=["--log-format", "json", "--otlp-endpoint", collector.endpoint],
            hub_stderr=log_file,
        )
        try:
            nik = stack.people.employed
            token, _ = stack.consent(nik)
            async with stack.client(tracer_provider=provider) as client:
                answer = await employment_query(client, nik, token, request_id="traced-1")
            provider.force_flush()

            def whole(spans: list[ReceivedSpan]) -> bool:
                return any(
                    s.service == "jembatan-connectors" and s.span.kind == CLIENT for s in spans
                ) and any(s.name == "audit" for s in spans)

            received = collector.wait_for(whole)
            log_lines = _exchange_lines(log_path)
        finally:
            stack.hub.stop()
            stack.sim.stop()

    # The client's span is the root; everything else hangs below it, in one trace.
    root = _only(received, service=CLIENT_SERVICE, name=QUERY, kind=CLIENT)
    assert root.parent_id == ""
    trace = [span for span in received if span.trace_id == root.trace_id]
    server = _only(trace, service="jembatan-hub", name=QUERY, kind=SERVER)
    assert server.parent_id == root.span_id
    assert server.attributes["rpc.grpc.status_code"] == grpc.StatusCode.OK.value[0]

    # One span per stage, in the pipeline's order, between the waits for admission.
    below_server = [span.name for span in _children(trace, server)]
    assert below_server == [
        "stage identify",
        "admission",
        "turn",
        *(f"stage {stage}" for stage in STAGES[1:]),
        "audit",
    ]
    assert all(span.service == "jembatan-hub" for span in _children(trace, server))

    # Forward: away at the agency (its turn), the call to the connector, back in turn.
    forward = _only(trace, name="stage forward")
    below_forward = _children(trace, forward)
    assert [span.name for span in below_forward] == ["agency turn", FETCH, "turn"]
    hub_fetch = below_forward[1]
    assert hub_fetch.span.kind == CLIENT and hub_fetch.service == "jembatan-hub"

    # The connector's server span is the hub call's child; the agency's HTTP call its own.
    connector = _only(trace, service="jembatan-connectors", name=FETCH, kind=SERVER)
    assert connector.parent_id == hub_fetch.span_id
    assert connector.attributes["jembatan.agency"] == "ID/GOV/BPJSTK/wages"
    (http,) = _children(trace, connector)
    assert (http.service, http.name, http.span.kind) == ("jembatan-connectors", "GET", CLIENT)
    assert http.attributes["http.response.status_code"] == 200
    assert http.attributes["server.address"] == "127.0.0.1"
    # Every span of the query is in this one trace; the only other is the consent's grant,
    # made by an untraced caller (no traceparent): a trace of its own, rooted at the hub.
    others = [span for span in received if span.trace_id != root.trace_id]
    assert [(span.service, span.name, span.parent_id) for span in others] == [
        ("jembatan-hub", "jembatan.v1.ConsentRegistry/Grant", "")
    ]

    # The exchange's JSON log line names the trace.
    (line,) = [line for line in log_lines if line["request_id"] == "traced-1"]
    assert line["decision"] == "RELEASED" and line["trace_id"] == root.trace_id

    # No span says the NIK or a released value: not in a name, nor in any attribute.
    assert answer.fields
    secrets = [nik, *(str(field.value) for field in answer.fields.values())]
    for span in received:
        said = [span.name, *(str(value) for value in span.attributes.values())]
        said += [str(event) for event in span.span.events]
        for secret in secrets:
            assert not any(secret in text for text in said), (span.name, secret)


async def test_fan_out_and_bulk_legs_are_traced_each_under_its_own_span(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    client_tracing: tuple[Collector, TracerProvider],
) -> None:
    collector, provider = client_tracing
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    stack = start_stack(tmp_path / "hub")
    try:
        nik = stack.people.employed
        token, _ = stack.consent(nik)
        async with stack.client(tracer_provider=provider) as client:
            legs = (
                employment_body(client, nik, token),
                employment_body(client, nik, token, fields=("employment_status",)),
            )
            fanned = await client.fan_out(Applicant("fan-1", legs))
            bulked = [answer async for answer in client.bulk([Applicant("bulk-1", legs)])]
        assert all(leg.answer for leg in (*fanned.legs, *bulked[0].legs))
        provider.force_flush()
        received = collector.wait_for(
            lambda spans: (
                sum(span.name == "GET" for span in spans) == 4
                and sum(span.name == "audit" for span in spans) == 4
                and any(span.name == BULK and span.span.kind == SERVER for span in spans)
            )
        )
    finally:
        stack.hub.stop()
        stack.sim.stop()

    def leg_is_whole(trace: list[ReceivedSpan], leg: ReceivedSpan) -> None:
        below = _children(trace, leg)
        # Its caller already identified with the envelope: the leg starts in its turn.
        assert [span.name for span in below] == [
            "turn",
            *(f"stage {stage}" for stage in STAGES[1:]),
            "audit",
        ]
        forward = next(span for span in below if span.name == "stage forward")
        fetch = _only(_children(trace, forward), name=FETCH)
        (connector,) = _children(trace, fetch)
        assert (connector.service, connector.span.kind) == ("jembatan-connectors", SERVER)
        assert [span.name for span in _children(trace, connector)] == ["GET"]

    for method, above_legs in ((FAN_OUT, ["stage identify", "admission"]), (BULK, [])):
        root = _only(received, service=CLIENT_SERVICE, name=method, kind=CLIENT)
        assert root.parent_id == ""
        trace = [span for span in received if span.trace_id == root.trace_id]
        server = _only(trace, service="jembatan-hub", name=method, kind=SERVER)
        assert server.parent_id == root.span_id
        if method == BULK:
            # The stream is admitted once; then each applicant, identified, has its legs.
            assert [span.name for span in _children(trace, server)] == [
                "stage identify",
                "admission",
                "applicant",
            ]
            server = _only(trace, name="applicant")
            above_legs = ["stage identify"]
        below = _children(trace, server)
        assert [span.name for span in below] == [*above_legs, "leg", "leg"]
        for leg in below[-2:]:
            leg_is_whole(trace, leg)


async def test_untraced_stack_exports_nothing_and_ignores_traceparent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_export: None
) -> None:
    # A collector where the OTLP exporter sends by default: a process that made one by
    # mistake, with no endpoint configured, would send its spans here.
    try:
        default_collector = Collector(port=4317)
    except (OSError, RuntimeError):
        pytest.skip("the OTLP default port 4317 is in use on this machine")
    log_path = tmp_path / "hub.log"
    with default_collector as collector, log_path.open("w") as log_file:
        stack = start_stack(
            tmp_path / "hub", hub_args=["--log-format", "json"], hub_stderr=log_file
        )
        try:
            await _queries_with_and_without_traceparent(stack)
            # Ten export intervals of an exporter made by mistake.
            time.sleep(0.5)
            received = collector.spans
        finally:
            stack.hub.stop()
            stack.sim.stop()
    assert received == []
    lines = [json.loads(text) for text in log_path.read_text().splitlines()]
    exchanges = [line for line in lines if line["logger"] == "hub.exchanges"]
    assert {line["request_id"] for line in exchanges} >= {"plain-1", "garbled-1", "foreign-1"}
    assert all("trace_id" not in line for line in exchanges)
    assert all(line["decision"] == "RELEASED" for line in exchanges)
    complaints = [line for line in lines if line["level"] in ("WARNING", "ERROR")]
    assert complaints == []


async def _queries_with_and_without_traceparent(stack: Stack) -> None:
    """A query from an untraced client, then two carrying a ``traceparent`` the hub does not
    trace: a garbled one and a well-formed one from a caller's own tracing."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        answer = await employment_query(client, nik, token, request_id="plain-1")
        assert answer.fields
        garbled = client.sign(employment_body(client, nik, token, request_id="garbled-1"))
        foreign = client.sign(employment_body(client, nik, token, request_id="foreign-1"))
    async with stack.channel() as channel:
        stub = exchange_pb2_grpc.ExchangeStub(channel)
        for request, traceparent in (
            (garbled, "00-not-a-trace-id-01"),
            (foreign, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ):
            response: exchange_pb2.QueryResponse = await stub.Query(
                request, metadata=(("traceparent", traceparent),), timeout=10
            )
            assert response.receipt.signature


def test_untraced_processes_load_no_opentelemetry_sdk(quick_export: None) -> None:
    """The hub, the connector SDK and the client SDK, made without an endpoint: the SDK and
    the exporter are never even imported (only the API's few no-op modules are)."""
    probe = (
        "import sys\n"
        "from jembatan.tracing import configure, tracer_of\n"
        "import hub.server, connectors.sdk, jembatan.client\n"
        "assert configure('probe') is False and tracer_of() is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk',"
        " 'opentelemetry.exporter', 'opentelemetry.proto'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.strip()
    assert loaded == "[]"


@pytest.mark.parametrize("command", [["serve", "--listen", "127.0.0.1:0"], ["sim", "bpjstk"]])
@pytest.mark.parametrize("where", ["option", "environment"])
def test_an_endpoint_that_is_no_url_is_one_line(
    command: list[str], where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = HubHome(tmp_path / "home")
    init_home(home)
    init_consent_manager(home)
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    endpoint = "collector:4317"  # no scheme: OTLP endpoints are URLs
    if where == "option":
        command = [*command, "--otlp-endpoint", endpoint]
    else:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    stderr = one_line_error(jembatan(*command, home=home.root))
    assert "OTLP endpoint 'collector:4317'" in stderr and "http://HOST:PORT" in stderr, stderr
