"""Traces (pingvas_kit.telemetry): the event's traceparent joins a consumer's handling to
the span that wrote the event, the relay's publish sits in the event's trace, logs carry
the trace id, and nothing is sent unless OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from exo_support import create_tables, inbox, job_data, make_settings, outbox, totals
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pingvas_contracts import Envelope
from pingvas_kit import telemetry
from pingvas_kit.db import Database
from pingvas_kit.dev.otlp import OtlpReceiver
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import configure_logging, get_logger
from pingvas_kit.outbox import Outbox, OutboxRelay


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """The kit's spans, recorded by an SDK provider of this test's own."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with telemetry.use_provider(provider):
        yield exporter
    provider.shutdown()


class _Bus:
    """What the relay needs of a bus: publish (and what it was given)."""

    def __init__(self) -> None:
        self.published: list[Envelope] = []

    async def publish(self, envelopes: list[Envelope]) -> None:
        self.published.extend(envelopes)


def _one(spans: tuple[ReadableSpan, ...], prefix: str) -> ReadableSpan:
    found = [s for s in spans if s.name.startswith(prefix)]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


async def test_the_consumers_span_is_a_child_of_the_span_that_wrote_the_event(
    tmp_path, exported: InMemorySpanExporter
) -> None:  # noqa: ANN001
    db = Database(make_settings({"var_dir": tmp_path, "db_schema": "t"}))
    await create_tables(db)
    producer = Outbox(outbox, source="producer")
    consumer = EventConsumer("ledger", db, inbox)
    seen_in_handler: list[str | None] = []

    @consumer.on(type(job_data("j", 1)))
    async def add(session, event, data) -> None:  # noqa: ANN001
        seen_in_handler.append(telemetry.current_traceparent())
        await session.execute(
            totals.insert().values(tenant_id=event.tenantid, credits=data.credits_used, events=1)
        )

    with telemetry.span("POST /jobs") as request:
        async with db.transaction() as session:
            envelope = await producer.add(session, job_data("j-1", 3), tenant_id="t-1")
    ctx = request.get_span_context()
    # the envelope names the writing span, exactly
    flags = f"{int(ctx.trace_flags):02x}"
    assert envelope.traceparent == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{flags}"

    bus = _Bus()
    relay = OutboxRelay(db, bus, outbox, service="producer")  # type: ignore[arg-type]
    assert await relay.relay_once() == 1
    delivered = bus.published[0]
    assert delivered.traceparent == envelope.traceparent  # the wire carries it unchanged
    await consumer(delivered)
    await consumer(delivered)  # a redelivery: handled once, but a span of its own

    spans = exported.get_finished_spans()
    publish = _one(spans, "producer publish ")
    handled = [s for s in spans if s.name == f"ledger consume {envelope.type}"]
    assert len(handled) == 2
    for s in (publish, *handled):
        assert s.context.trace_id == ctx.trace_id
        assert s.parent is not None and s.parent.span_id == ctx.span_id
    assert publish.kind.name == "PRODUCER" and handled[0].kind.name == "CONSUMER"
    assert handled[0].attributes["messaging.message.id"] == envelope.id
    # what the handler writes is in the consumer's span: its events continue the trace
    assert seen_in_handler == [f"00-{ctx.trace_id:032x}-{handled[0].context.span_id:016x}-{flags}"]
    await db.dispose()


async def test_an_event_written_outside_any_span_starts_a_trace_of_its_own(
    tmp_path, exported: InMemorySpanExporter
) -> None:  # noqa: ANN001
    db = Database(make_settings({"var_dir": tmp_path, "db_schema": "t"}))
    await create_tables(db)
    async with db.transaction() as session:
        envelope = await Outbox(outbox, source="producer").add(
            session, job_data("j-2", 1), tenant_id="t-1"
        )
    assert envelope.traceparent is not None and envelope.trace_id
    consumer = EventConsumer("ledger", db, inbox)

    @consumer.on(type(job_data("j", 1)))
    async def add(session, event, data) -> None:  # noqa: ANN001
        pass

    await consumer(envelope)
    (span,) = exported.get_finished_spans()
    assert f"{span.context.trace_id:032x}" == envelope.trace_id
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == envelope.traceparent.split("-")[2]
    async with db.sessionmaker() as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(inbox))).scalar() == 1
    await db.dispose()


async def test_a_failing_handler_marks_its_span_failed(
    tmp_path, exported: InMemorySpanExporter
) -> None:  # noqa: ANN001
    db = Database(make_settings({"var_dir": tmp_path, "db_schema": "t"}))
    await create_tables(db)
    consumer = EventConsumer("ledger", db, inbox)

    @consumer.on(type(job_data("j", 1)))
    async def add(session, event, data) -> None:  # noqa: ANN001
        raise RuntimeError("poison")

    async with db.transaction() as session:
        envelope = await Outbox(outbox, source="producer").add(
            session, job_data("j-3", 1), tenant_id="t-1"
        )
    with pytest.raises(RuntimeError):
        await consumer(envelope)
    (span,) = exported.get_finished_spans()
    assert span.status.status_code.name == "ERROR"
    assert any(e.name == "exception" for e in span.events)
    await db.dispose()


async def test_database_statements_are_spans_inside_a_trace_only(
    tmp_path, exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    monkeypatch.setitem(telemetry._state, "exporting", True)  # as configure() with an endpoint
    first = Database(make_settings({"var_dir": tmp_path / "a", "db_schema": "t"}))
    second = Database(make_settings({"var_dir": tmp_path / "b", "db_schema": "t"}))
    await create_tables(first)
    exported.clear()
    async with first.sessionmaker() as session:  # a poll, outside any trace: no span
        await session.execute(sa.select(sa.func.count()).select_from(inbox))
    assert exported.get_finished_spans() == ()
    with telemetry.span("request") as request:
        for db in (first, second):  # every engine, not only the first one made
            async with db.sessionmaker() as session:
                await session.execute(sa.text("SELECT 1"))
    spans = [s for s in exported.get_finished_spans() if s.name != "request"]
    assert len(spans) == 2
    for s in spans:
        assert s.kind.name == "CLIENT" and s.attributes["db.statement"] == "SELECT 1"
        assert s.parent is not None and s.parent.span_id == request.get_span_context().span_id
    await first.dispose()
    await second.dispose()


def test_logs_carry_the_current_spans_trace_id(
    capsys: pytest.CaptureFixture[str], exported: InMemorySpanExporter
) -> None:
    configure_logging("billing", level="INFO", json=True)
    with telemetry.span("work") as current:
        get_logger("test").info("inside")
    get_logger("test").info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    ctx = current.get_span_context()
    assert lines[0]["trace_id"] == f"{ctx.trace_id:032x}"
    assert lines[0]["span_id"] == f"{ctx.span_id:016x}"
    assert "trace_id" not in lines[1]


def test_a_malformed_traceparent_starts_a_new_trace(exported: InMemorySpanExporter) -> None:
    assert telemetry.context_of("nonsense") is None
    assert telemetry.context_of("00-" + "0" * 32 + "-" + "1" * 16 + "-01") is None
    with telemetry.span("x", parent="nonsense") as current:
        assert current.get_span_context().is_valid
    (span,) = exported.get_finished_spans()
    assert span.parent is None


#: a process as a service runs: configure(), a span, an outgoing traceparent, exit
_CHILD = textwrap.dedent(
    """
    import json
    from pingvas_kit import telemetry
    exporting = telemetry.configure("billing")
    with telemetry.span("billing.work") as span:
        traceparent = telemetry.current_traceparent()
        headers = telemetry.inject({})
        recording = span.is_recording()
    print(json.dumps({
        "exporting": exporting,
        "recording": recording,
        "traceparent": traceparent,
        "header": headers.get("traceparent"),
        # the SDK's span processors: where spans would go (the SDK's own attribute)
        "processors": len(getattr(
            getattr(telemetry.provider(), "_active_span_processor", None),
            "_span_processors", (),
        )),
    }))
    """
)


def _child(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_nothing_is_sent_without_an_endpoint_and_everything_with_one() -> None:
    with OtlpReceiver() as receiver:
        quiet = _child({"OTEL_BSP_SCHEDULE_DELAY": "50"})
        # ids for logs and events all the same, but nothing recorded
        assert quiet["exporting"] is False and quiet["recording"] is False
        assert quiet["processors"] == 0  # no exporter: not even to the default localhost:4318
        assert quiet["traceparent"] and quiet["header"] == quiet["traceparent"]
        # not sampled (bit 0 of the flags clear): no one downstream records it either
        assert int(quiet["traceparent"][-2:], 16) & 1 == 0

        loud = _child({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint})
        assert loud["exporting"] is True and loud["recording"] is True
        assert loud["processors"] == 1
        spans = receiver.wait_for(lambda spans: len(spans) >= 1, timeout=10)
        # the one process that had the endpoint sent its one span; the quiet one nothing
        assert receiver.requests == 1 and receiver.rejected == 0
        (span,) = spans
        assert (span.service, span.name) == ("billing", "billing.work")
        assert span.trace_id == loud["traceparent"].split("-")[1]

        # OTEL_SERVICE_NAME wins over the service's own name
        _child({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SERVICE_NAME": "other"})
        spans = receiver.wait_for(lambda spans: len(spans) >= 2, timeout=10)
        assert spans[1].service == "other"


def test_the_sdk_can_be_disabled_altogether() -> None:
    with OtlpReceiver() as receiver:
        off = _child(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_SDK_DISABLED": "true"}
        )
        assert off == {
            "exporting": False,
            "recording": False,
            "traceparent": None,
            "header": None,
            "processors": 0,
        }
        assert receiver.requests == 0
