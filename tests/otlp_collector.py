"""A stand-in for an OpenTelemetry collector: an OTLP/gRPC trace receiver on loopback that
keeps every span it is sent, for tests to read (the spans come from other processes, so
an in-memory exporter would not see them)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Self

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


@dataclass(frozen=True)
class ReceivedSpan:
    """A span as it arrived, with the service that sent it."""

    service: str
    span: trace_pb2.Span

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_id(self) -> str:
        return self.span.parent_span_id.hex()

    @property
    def attributes(self) -> dict[str, object]:
        return {item.key: _value(item.value) for item in self.span.attributes}


def _value(value: common_pb2.AnyValue) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()

    def Export(
        self,
        request: trace_service_pb2.ExportTraceServiceRequest,
        context: grpc.ServicerContext,
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        received = []
        for resource_spans in request.resource_spans:
            service = next(
                (
                    str(_value(item.value))
                    for item in resource_spans.resource.attributes
                    if item.key == "service.name"
                ),
                "",
            )
            for scope_spans in resource_spans.scope_spans:
                received.extend(ReceivedSpan(service, span) for span in scope_spans.spans)
        with self.lock:
            self.spans.extend(received)
        return trace_service_pb2.ExportTraceServiceResponse()


class Collector:
    """``with Collector() as collector``: listening at ``collector.endpoint``."""

    def __init__(self, port: int = 0) -> None:
        self._receiver = _Receiver()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self._receiver, self._server)
        bound = self._server.add_insecure_port(f"127.0.0.1:{port}")
        if not bound:
            raise OSError(f"cannot listen on 127.0.0.1:{port}")
        self.endpoint = f"http://127.0.0.1:{bound}"

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._receiver.lock:
            return list(self._receiver.spans)

    def wait_for(
        self, done: Callable[[list[ReceivedSpan]], bool], timeout_s: float = 20.0
    ) -> list[ReceivedSpan]:
        """The spans received once ``done`` says they are all there; AssertionError if
        they are not within ``timeout_s`` (exporters send in batches, every few moments)."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.spans
            if done(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(
                    "spans received: " + ", ".join(f"{s.service}:{s.name}" for s in spans)
                )
            time.sleep(0.05)
