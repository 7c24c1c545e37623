"""Traces: OpenTelemetry spans, carried between processes by the W3C ``traceparent``.

One query is one trace: the client's call, the hub's server span with a span for each
stage, the hub's call to the connector, the connector's server span and the connector's
HTTP call to the agency. Each process exports its own spans over OTLP when configured
(``configure``), and does nothing at all when not: no exporter, no interceptor, no header.

A span never carries a field value, a subject or a URL (an agency's URL may hold the
NIK): only names, codes and member ids. Exceptions are not recorded on spans either (a
refusal's message may quote what the caller sent); a span says the exception's type.

The contrib instrumentation packages for gRPC and aiohttp are not used: the aiohttp one
records each request's full URL, and both are installed process-wide; these interceptors
are made only for a process that traces, so an unconfigured one pays nothing for them.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.propagate import extract as _extract
from opentelemetry.propagate import inject as _inject
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, TracerProvider

from jembatan.errors import Refusal

INSTRUMENTATION = "jembatan"
ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
# Calls not worth a trace: health checks and reflection, made by probes every few seconds.
_UNTRACED_PREFIXES = ("/grpc.health.", "/grpc.reflection.")


def otlp_endpoint(given: str | None = None) -> str | None:
    """Where spans go: ``given`` (a command's ``--otlp-endpoint``), else the standard
    OpenTelemetry variables; None when none says (then nothing is exported)."""
    return given or os.environ.get(TRACES_ENDPOINT_ENV) or os.environ.get(ENDPOINT_ENV) or None


def configure(service_name: str, endpoint: str | None = None) -> bool:
    """Export this process's spans to the OTLP/gRPC collector at ``endpoint`` (or the one
    in the environment) as ``service_name``; True if tracing is now on. With no endpoint
    nothing is set up: the API's no-op tracer stays and no span is ever made.

    For a program (the hub, a connector, a command): a library leaves this to its program
    and uses whatever provider that set (or the one it is handed)."""
    endpoint = otlp_endpoint(endpoint)
    if endpoint is None:
        return False
    # The SDK and the exporter only when asked for: an unconfigured process never loads them.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SdkTracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    # Batched, off the event loop: a collector that is slow or away costs a thread, never
    # a query (spans that do not fit the queue are dropped).
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return True


def tracer_of(provider: TracerProvider | None = None) -> Tracer | None:
    """A tracer of ``provider`` (else of the process's), or None when no provider was set:
    callers then skip tracing altogether, rather than make no-op spans."""
    provider = provider or trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider.get_tracer(INSTRUMENTATION)


class _Internal:
    """A span in the current trace, the current span while its block runs; a block that
    raises marks it failed by the exception's type (and a refusal's reason), no more."""

    __slots__ = ("_opened", "_span")

    def __init__(
        self,
        tracer: Tracer,
        name: str,
        attributes: Mapping[str, str | int] | None,
        kind: SpanKind,
    ) -> None:
        self._opened = tracer.start_as_current_span(
            name,
            kind=kind,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        )

    def __enter__(self) -> trace.Span:
        self._span: trace.Span = self._opened.__enter__()
        return self._span

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is not None:
            if isinstance(error, Refusal):
                self._span.set_attribute("jembatan.reason", error.reason)
            _failed(self._span, error)
        self._opened.__exit__(kind, error, traceback)


_NO_SPAN: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


def span(
    tracer: Tracer | None,
    name: str,
    attributes: Mapping[str, str | int] | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
) -> contextlib.AbstractContextManager[trace.Span | None]:
    """A span named ``name`` around a block, a child of the current one; nothing at all
    (a shared no-op, None as the span) without a ``tracer``."""
    return _NO_SPAN if tracer is None else _Internal(tracer, name, attributes, kind)


def trace_id() -> str:
    """The current trace's id as 32 hex digits, or "" outside a recorded trace."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else ""


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with the current span's ``traceparent`` (for an HTTP call)."""
    _inject(headers)
    return headers


def _method_name(method: str | bytes) -> str:
    """``/jembatan.v1.Exchange/Query`` as a span name: ``jembatan.v1.Exchange/Query``."""
    text = method.decode() if isinstance(method, bytes) else method
    return text.lstrip("/")


def _rpc_attributes(name: str) -> dict[str, str]:
    service, _, method = name.rpartition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": method}


def _with_traceparent(details: grpc.aio.ClientCallDetails, span: trace.Span) -> Any:
    carrier: dict[str, str] = {}
    _inject(carrier, context=trace.set_span_in_context(span))
    if not carrier:
        return details
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    for key, value in carrier.items():
        metadata.add(key, value)
    return details._replace(metadata=metadata)


class _ClientSpans:
    """A CLIENT span around each call, its ``traceparent`` sent in the call's metadata.
    One subclass per kind of call: a channel takes an interceptor for the first kind it
    is an instance of, and for that kind only."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def _start(self, details: grpc.aio.ClientCallDetails) -> trace.Span:
        name = _method_name(details.method)
        return self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=_rpc_attributes(name))

    async def _streamed(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        """A streaming call: its span ends when the call does."""
        span = self._start(details)
        try:
            call = await continuation(_with_traceparent(details, span), request)
        except BaseException as exc:
            _failed(span, exc)
            span.end()
            raise
        call.add_done_callback(lambda _: span.end())
        return call


class _UnaryUnarySpans(_ClientSpans, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        span = self._start(client_call_details)
        try:
            call = await continuation(_with_traceparent(client_call_details, span), request)
            # The span lasts until the answer: the status is known then.
            code = await call.code()
        except BaseException as exc:
            _failed(span, exc)
            span.end()
            raise
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code != grpc.StatusCode.OK:
            span.set_status(Status(StatusCode.ERROR, code.name))
        span.end()
        return call


class _UnaryStreamSpans(_ClientSpans, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await self._streamed(continuation, client_call_details, request)


class _StreamUnarySpans(_ClientSpans, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._streamed(continuation, client_call_details, request_iterator)


class _StreamStreamSpans(_ClientSpans, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._streamed(continuation, client_call_details, request_iterator)


def client_interceptors(tracer: Tracer | None) -> list[grpc.aio.ClientInterceptor]:
    """What a channel is made with: a span per call when ``tracer``, else nothing."""
    if tracer is None:
        return []
    kinds = (_UnaryUnarySpans, _UnaryStreamSpans, _StreamUnarySpans, _StreamStreamSpans)
    return [kind(tracer) for kind in kinds]


class _ServerSpans(grpc.aio.ServerInterceptor):
    """A SERVER span around each call, the child of the caller's ``traceparent``."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(_UNTRACED_PREFIXES):
            return handler
        name = _method_name(method)
        parent = _extract(_carrier(handler_call_details.invocation_metadata or ()))
        wrapped = {
            kind: self._wrap(behaviour, name, parent)
            for kind in ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
            if (behaviour := getattr(handler, kind)) is not None
        }
        return handler._replace(**wrapped)

    def _wrap(self, behaviour: Callable[..., Any], name: str, parent: Any) -> Callable[..., Any]:
        tracer = self._tracer
        attributes = _rpc_attributes(name)

        def start() -> Any:
            return tracer.start_as_current_span(
                name,
                context=parent,
                kind=SpanKind.SERVER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            )

        if inspect.isasyncgenfunction(behaviour):

            async def streamed(
                request: Any, context: grpc.aio.ServicerContext
            ) -> AsyncIterator[Any]:
                with start() as span:
                    try:
                        async for response in behaviour(request, context):
                            yield response
                    except BaseException as exc:
                        _failed(span, exc)
                        _ended(span, context, grpc.StatusCode.UNKNOWN)
                        raise
                    _ended(span, context, grpc.StatusCode.OK)

            return streamed

        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            with start() as span:
                try:
                    response = await behaviour(request, context)
                except BaseException as exc:
                    _failed(span, exc)
                    _ended(span, context, grpc.StatusCode.UNKNOWN)
                    raise
                _ended(span, context, grpc.StatusCode.OK)
                return response

        return unary


def server_interceptors(tracer: Tracer | None) -> list[grpc.aio.ServerInterceptor]:
    """What a server is made with: a span per call when ``tracer``, else nothing."""
    return [] if tracer is None else [_ServerSpans(tracer)]


def _carrier(metadata: Iterable[tuple[str, str | bytes]]) -> Mapping[str, str]:
    return {key: value for key, value in metadata if isinstance(value, str)}


def _failed(span: trace.Span, exc: BaseException) -> None:
    # The type only: an exception's message may quote a value, a subject or a URL.
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def _ended(span: trace.Span, context: grpc.aio.ServicerContext, otherwise: grpc.StatusCode) -> None:
    """The call's status on its span: the one the handler set (an abort), else ``otherwise``
    (OK for an answer, UNKNOWN for an exception that gRPC turns into one)."""
    code = context.code()
    if not isinstance(code, grpc.StatusCode):
        code = otherwise
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code != grpc.StatusCode.OK:
        span.set_status(Status(StatusCode.ERROR, code.name))
