"""Traces: the OpenTelemetry SDK, set up once per process by `configure(service_name)`
(`serve()` does it for every service, the render worker's main for the worker).

Spans are exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the other standard variables apply as the SDK
reads them (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER,
OTEL_BSP_SCHEDULE_DELAY, OTEL_EXPORTER_OTLP_HEADERS, ...). Without an endpoint the SDK
still makes W3C trace and span ids (so logs carry a `trace_id` and events a `traceparent`
that correlate across services) but records nothing and sends nothing: every span is a
non-recording one and no instrumentation that costs more than that is installed.

The trace context crosses processes as W3C `traceparent`: HTTP headers (incoming spans
come from the FastAPI/Litestar instrumentation, outgoing ones from httpx's or from
`client_span` for aiohttp), the event envelope's `traceparent` (filled from the current
span by the outbox; each consumer's handling span is its child, `consumer_span`) and the
render work item's `traceparent` (the worker's job span is its child)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util._decorator import _agnosticcontextmanager

if TYPE_CHECKING:
    from pingvas_contracts import Envelope

__all__ = [
    "client_span",
    "configure",
    "consumer_span",
    "context_of",
    "current_trace_id",
    "current_traceparent",
    "configured",
    "exporting",
    "in_trace",
    "inject",
    "instrument_engine",
    "provider",
    "publish_spans",
    "span",
    "tracer",
    "use_provider",
]

_W3C = TraceContextTextMapPropagator()
_state: dict[str, Any] = {"exporting": False, "provider": None, "override": None}
_TRACER = "pingvas"


def _endpoint(environ: Mapping[str, str]) -> str | None:
    return (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


def configure(service_name: str, *, environ: Mapping[str, str] | None = None) -> bool:
    """Install the SDK's tracer provider for this process (once; later calls change
    nothing) and say whether spans are exported. OTEL_SERVICE_NAME, when set, names the
    service instead of `service_name`; OTEL_SDK_DISABLED=true leaves the API's no-op
    provider in place."""
    env = os.environ if environ is None else environ
    if _state["provider"] is not None:
        return bool(_state["exporting"])
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; an attribute
    # passed here would win over them, so the default name is passed only when unset
    resource = Resource.create(
        {} if env.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    )
    endpoint = _endpoint(env)
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # the sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on);
        # the exporter reads the endpoint, headers, timeout and compression variables
        provider = SdkTracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        # ids for log and event correlation, nothing recorded, nothing sent
        provider = SdkTracerProvider(resource=resource, sampler=ALWAYS_OFF)
    trace.set_tracer_provider(provider)
    _state.update(provider=provider, exporting=bool(endpoint))
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    # outgoing httpx calls carry the traceparent (and are CLIENT spans when sampled)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return bool(endpoint)


def configured() -> bool:
    """Whether configure() installed the SDK in this process (the HTTP instrumentation
    then carries the W3C context, recording or not)."""
    return _state["provider"] is not None


def exporting() -> bool:
    """Whether this process sends spans (configure() found an OTLP endpoint)."""
    return bool(_state["exporting"])


def provider() -> TracerProvider:
    override = _state["override"]
    return override if override is not None else trace.get_tracer_provider()


@contextmanager
def use_provider(provider: TracerProvider) -> Iterator[None]:
    """Tests: the kit's own spans go to `provider` (e.g. an SDK provider with the
    in-memory exporter) while the block runs, whatever the process's global one is."""
    before = _state["override"]
    _state["override"] = provider
    try:
        yield
    finally:
        _state["override"] = before


def tracer() -> trace.Tracer:
    return provider().get_tracer(_TRACER)


# -- the W3C context -----------------------------------------------------------------------


def current_traceparent() -> str | None:
    """The current span as a W3C traceparent, or None outside any span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def context_of(traceparent: str | None) -> otel_context.Context | None:
    """The context whose remote parent is `traceparent` (None when it is absent or not a
    valid W3C trace context: the span then starts a trace of its own)."""
    if not traceparent:
        return None
    ctx = _W3C.extract({"traceparent": traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """`headers` with the current span's traceparent (and tracestate) set."""
    _W3C.inject(headers)
    return headers


# -- spans ---------------------------------------------------------------------------------


@contextmanager
def span(
    name: str,
    *,
    parent: str | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span, current while the block runs: a child of `parent` (a traceparent) when
    given and valid, else of the current span. An exception leaving the block is
    recorded and marks the span failed."""
    with tracer().start_as_current_span(
        name,
        context=context_of(parent) if parent else None,
        kind=kind,
        attributes={k: v for k, v in (attributes or {}).items() if v is not None},
    ) as current:
        yield current


def in_trace() -> bool:
    """Whether a span is current (a request's, an event's handling, a job's)."""
    return trace.get_current_span().get_span_context().is_valid


@contextmanager
def client_span(
    method: str, url: str, headers: MutableMapping[str, str], *, only_in_trace: bool = False
) -> Iterator[Span]:
    """An outgoing HTTP call made without httpx (aiohttp): a CLIENT span, its
    traceparent put into `headers` for the call. `only_in_trace`: no span (and no
    header) for a call made outside any trace (a heartbeat), so it starts none."""
    if only_in_trace and not in_trace():
        yield trace.INVALID_SPAN
        return
    with span(
        f"{method.upper()}",
        kind=SpanKind.CLIENT,
        attributes={"http.request.method": method.upper(), "url.full": url.split("?", 1)[0]},
    ) as current:
        inject(headers)
        yield current


def set_status_code(current: Span, status: int) -> None:
    current.set_attribute("http.response.status_code", status)
    if status >= 500:
        current.set_status(Status(StatusCode.ERROR))


@contextmanager
def consumer_span(consumer: str, envelope: Envelope) -> Iterator[Span]:
    """One consumer's handling of one event: a CONSUMER span, the child of the span that
    wrote the event (the envelope's traceparent)."""
    with span(
        f"{consumer} consume {envelope.type}",
        parent=envelope.traceparent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": envelope.id,
            "pingvas.event.type": envelope.type,
            "pingvas.tenant_id": envelope.tenantid,
        },
    ) as current:
        yield current


@contextmanager
def publish_spans(service: str, envelopes: Sequence[Envelope]) -> Iterator[list[Span]]:
    """The relay's publish of a batch: one PRODUCER span per event, in the event's own
    trace (a child of the span that wrote it), open while the batch is sent. Mark those
    the broker refused with `failed(spans, ids, error)`."""
    spans: list[Span] = []
    if not envelopes:
        yield spans
        return
    t = tracer()
    for envelope in envelopes:
        spans.append(
            t.start_span(
                f"{service} publish {envelope.type}",
                context=context_of(envelope.traceparent),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.operation.type": "send",
                    "messaging.message.id": envelope.id,
                    "messaging.batch.message_count": len(envelopes),
                    "pingvas.event.type": envelope.type,
                },
            )
        )
    try:
        yield spans
    finally:
        for s in spans:
            s.end()


def failed(spans: Sequence[Span], envelopes: Sequence[Envelope], ids: set[str], error: str) -> None:
    for s, envelope in zip(spans, envelopes, strict=False):
        if envelope.id in ids:
            s.set_status(Status(StatusCode.ERROR, error[:200]))


# -- instrumentation -----------------------------------------------------------------------

#: probes, scrapes and the render workers' heartbeats (every few seconds, outside any
#: trace): no spans; OTEL_PYTHON_FASTAPI_EXCLUDED_URLS adds patterns
EXCLUDED_URLS = "/healthz,/readyz,/metrics,/internal/v1/heartbeat"


def instrument_fastapi(app: Any) -> None:
    """Server spans for a FastAPI app (named by route template), their parent the
    caller's traceparent; non-recording ones (ids only) when nothing is sent."""
    if not configured():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    more = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", "").strip()
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider(),
        excluded_urls=f"{EXCLUDED_URLS},{more}" if more else EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
    )


def instrument_engine(engine: Any) -> None:
    """Database spans for a SQLAlchemy (async) engine, when spans are sent: only for
    statements run inside a trace (a request's, an event's handling), so the relay's and
    the consumers' polling start no traces of their own."""
    if not exporting():
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    # the instrumentation's engine listener, on this engine alone: its instrumentor would
    # also patch create_engine for the whole process (and refuses SQLAlchemy 2.1, whose
    # engine events it uses are unchanged; libs/tests/test_telemetry.py checks the spans)
    usage = NoOpMeter("pingvas").create_up_down_counter("db.client.connections.usage")
    EngineTracer(
        _InTraceOnly(provider()).get_tracer("opentelemetry.instrumentation.sqlalchemy"),
        getattr(engine, "sync_engine", engine),
        usage,
    )


class _InTraceOnly(TracerProvider):
    """A provider whose tracers start a span only under a current one (else a
    non-recording, invalid span: nothing is recorded or sent)."""

    def __init__(self, inner: TracerProvider) -> None:
        self._inner = inner

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _InTraceOnlyTracer(self._inner.get_tracer(*args, **kwargs))


class _InTraceOnlyTracer(trace.Tracer):
    def __init__(self, inner: trace.Tracer) -> None:
        self._inner = inner

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> Span:
        parent = trace.get_current_span(context).get_span_context()
        if not parent.is_valid:
            return trace.INVALID_SPAN
        return self._inner.start_span(name, context, *args, **kwargs)

    @_agnosticcontextmanager
    def start_as_current_span(
        self, name: str, context: Any = None, *args: Any, **kwargs: Any
    ) -> Iterator[Span]:
        parent = trace.get_current_span(context).get_span_context()
        if not parent.is_valid:
            yield trace.INVALID_SPAN
            return
        with self._inner.start_as_current_span(name, context, *args, **kwargs) as current:
            yield current
