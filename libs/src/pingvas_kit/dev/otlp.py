"""A real OTLP/HTTP trace receiver for tests: an HTTP server on 127.0.0.1 that decodes
every `POST /v1/traces` (an opentelemetry-proto ExportTraceServiceRequest, protobuf,
optionally gzip) into `ReceivedSpan`s and answers as a collector would.

    with OtlpReceiver() as receiver:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}      # the SDK adds /v1/traces
        ...
        spans = receiver.wait_for(lambda spans: any(s.name == "x" for s in spans))
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

#: opentelemetry-proto's Span.SpanKind numbers
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    #: "" for a root span
    parent_span_id: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    #: StatusCode: 0 unset, 1 ok, 2 error
    status: int = 0


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def decode(body: bytes) -> list[ReceivedSpan]:
    """The spans of one ExportTraceServiceRequest."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        service = str(resource.get("service.name", ""))
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        service=service,
                        name=s.name,
                        kind=KINDS.get(s.kind, str(s.kind)),
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes={kv.key: _value(kv.value) for kv in s.attributes},
                        status=s.status.code,
                    )
                )
    return spans


class OtlpReceiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        #: requests that were not a decodable export (answered 400)
        self.rejected = 0
        self.requests = 0
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                try:
                    if self.path.rstrip("/") != "/v1/traces":
                        raise ValueError(f"not a trace export: {self.path}")
                    if (self.headers.get("content-encoding") or "").lower() == "gzip":
                        body = gzip.decompress(body)
                    spans = decode(body)
                except Exception:  # noqa: BLE001 - anything undecodable is the sender's fault
                    with receiver._lock:
                        receiver.rejected += 1
                    self._answer(400, b"", "text/plain")
                    return
                with receiver._lock:
                    receiver.requests += 1
                    receiver.spans.extend(spans)
                    receiver._lock.notify_all()
                self._answer(
                    200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
                )

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        #: OTEL_EXPORTER_OTLP_ENDPOINT's value (the SDK appends /v1/traces)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def snapshot(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self.spans)

    def wait_for(
        self, predicate: Callable[[list[ReceivedSpan]], bool], timeout: float = 30.0
    ) -> list[ReceivedSpan]:
        """Every span received, once `predicate(spans)` holds (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self.spans)):
                left = deadline - time.monotonic()
                if left <= 0:
                    names = sorted({f"{s.service}: {s.name}" for s in self.spans})
                    raise AssertionError(
                        f"timed out after {timeout:g} s; {len(self.spans)} spans received: {names}"
                    )
                self._lock.wait(min(left, 0.5))
            return list(self.spans)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
