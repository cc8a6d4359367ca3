"""One generation, one trace (issue 17, "Must show").

The whole local stack (`pingvas-dev up`: gateway, tenants, billing, render and its GPU
worker with the batched engine on the CPU, mail, search) runs with
OTEL_EXPORTER_OTLP_ENDPOINT pointing at a real OTLP/HTTP receiver this test starts
(pingvas_kit.dev.otlp: it decodes the SDK's protobuf exports). One generation through the
gateway must yield ONE trace: gateway -> render -> (work item) worker -> render ->
billing's, search's and mail's handling of the events, every span's parent in the trace.

SLOW: about 2-3 minutes, most of it six services and the engine starting."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pingvas_render.engine.testing import ensure_tiny_model

from pingvas_kit.dev.otlp import OtlpReceiver, ReceivedSpan
from pingvas_kit.dev.stack import REPO, Stack, Team, running_stack

pytestmark = [pytest.mark.timeout(600)]

MODELS = REPO / "var" / "models"
SMALL = {"model": "tiny-sd1", "width": 64, "height": 64, "steps": 4, "cfg_scale": 7.5}
COMPLETED = "pingvas.render.job.completed.v1"
IMAGE_CREATED = "pingvas.render.image.created.v1"


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver) -> Iterator[Stack]:
    ensure_tiny_model(MODELS)
    with running_stack(
        tmp_path_factory.mktemp("one-trace"),
        [
            "--only",
            "gateway,tenants,billing,render,mail,search",
            "--startup-timeout",
            "240",
        ],
        {
            "PINGVAS_MODELS_DIR": str(MODELS),
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            # the SDK's batch processor: export within a fraction of a second
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
        services=("billing", "render", "mail", "search", "render-worker"),
        timeout=300,
    ) as stack:
        yield stack


def _trace_of_job(spans: list[ReceivedSpan], job_id: str) -> str | None:
    for s in spans:
        if s.name == "render.worker.job" and s.attributes.get("pingvas.job_id") == job_id:
            return s.trace_id
    return None


def _complete(job_id: str):  # noqa: ANN202
    """Whether the job's trace has the worker's job span (it ends last in the worker,
    after the queue's delete), every consumer's handling of its events, and every span's
    parent (a span is exported when it ends: a parent ends after its children)."""

    def done(spans: list[ReceivedSpan]) -> bool:
        trace_id = _trace_of_job(spans, job_id)
        if trace_id is None:
            return False
        trace = [s for s in spans if s.trace_id == trace_id]
        ids = {s.span_id for s in trace}
        names = {(s.service, s.name) for s in trace}
        return {
            ("billing", f"billing consume {COMPLETED}"),
            ("search", f"search consume {IMAGE_CREATED}"),
            ("mail", f"mail consume {COMPLETED}"),
        } <= names and all(not s.parent_span_id or s.parent_span_id in ids for s in trace)

    return done


def test_one_generation_is_one_trace_from_the_gateway_to_every_consumer(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    team = Team(stack, "tracer")
    team.entitlements()  # tenant.created reached render
    job = team.generate("a lighthouse at dawn", seed=42, **SMALL)
    deadline = time.monotonic() + 180
    while team.http.get(f"/generations/{job['id']}").json()["status"] != "completed":
        assert time.monotonic() < deadline, "the job did not complete"
        time.sleep(0.5)

    spans = receiver.wait_for(_complete(job["id"]), timeout=60)
    trace_id = _trace_of_job(spans, job["id"])
    trace = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in trace}
    assert len(by_id) == len(trace), "span ids are unique"

    def parent(s: ReceivedSpan) -> ReceivedSpan:
        assert s.parent_span_id in by_id, f"{s.service}: {s.name}'s parent is not in the trace"
        return by_id[s.parent_span_id]

    def one(service: str, name: str, **attributes: object) -> ReceivedSpan:
        found = [
            s
            for s in trace
            if s.service == service
            and s.name == name
            and all(s.attributes.get(k) == v for k, v in attributes.items())
        ]
        assert found, f"no {service}: {name} {attributes} in the trace"
        return found[0]

    def server(service: str, path: str) -> ReceivedSpan:
        found = [
            s
            for s in trace
            if s.service == service
            and s.kind == "server"
            and (s.attributes.get("url.path") or s.attributes.get("http.target")) == path
        ]
        assert found, f"no {service} server span for {path}: {sorted(_names(trace))}"
        return found[0]

    # every span but the root has its parent in this same trace
    roots = [s for s in trace if not s.parent_span_id]
    assert len(roots) == 1, [f"{s.service}: {s.name}" for s in roots]
    for s in trace:
        if s.parent_span_id:
            parent(s)

    # gateway -> render: the request, proxied
    root = roots[0]
    assert root.service == "gateway" and root.kind == "server"
    assert (root.attributes.get("url.path") or root.attributes.get("http.target")) == (
        "/api/v1/generations"
    )
    accepted = server("render", "/api/v1/generations")
    proxied = parent(accepted)
    assert (proxied.service, proxied.kind) == ("gateway", "client")
    assert parent(proxied) is root

    # render -> worker: the work item carries the request's trace
    job_span = one("render-worker", "render.worker.job", **{"pingvas.job_id": job["id"]})
    assert parent(job_span).service == "render"
    batch = one("render-worker", "render.engine.batch")
    assert parent(batch) is job_span
    rows = [s for s in trace if s.name == "render.engine.row"]
    assert len(rows) == 1 and parent(rows[0]) is batch
    uploads = [s for s in trace if s.name == "S3.PutObject"]
    assert len(uploads) == 2 and all(parent(s) is batch for s in uploads)  # png, thumbnail

    # worker -> render: its calls are render's requests, children of the job's span
    completed = server("render", f"/internal/v1/jobs/{job['id']}/complete")
    assert parent(parent(completed)) is job_span
    started = server("render", f"/internal/v1/jobs/{job['id']}/start")
    assert parent(parent(started)) is job_span

    # render -> the bus -> billing, search, mail: each consumer's handling is a child of
    # the span that wrote the event (render's completion request)
    for service, event in (("billing", COMPLETED), ("search", IMAGE_CREATED), ("mail", COMPLETED)):
        handled = one(service, f"{service} consume {event}")
        assert handled.kind == "consumer"
        assert parent(handled) is completed
        # its database work (the inbox row, the effect) sits under the handling
        statements = [s for s in trace if s.parent_span_id == handled.span_id]
        assert any(s.kind == "client" and "db.statement" in s.attributes for s in statements), (
            service
        )
    publish = one("render", f"render publish {COMPLETED}")
    assert publish.kind == "producer" and parent(publish) is completed

    services = {s.service for s in trace}
    assert {"gateway", "render", "render-worker", "billing", "search", "mail"} <= services
    others = sorted(
        {f"{s.service}: {s.name}" for s in spans if not s.parent_span_id}
        - {f"{root.service}: {root.name}"}
    )
    print(
        f"\none trace {trace_id}: {len(trace)} spans from {sorted(services)}; "
        f"{len(spans)} spans received in all, other roots: {others}\n{_tree(root, trace)}"
    )


def _tree(root: ReceivedSpan, trace: list[ReceivedSpan]) -> str:
    children: dict[str, list[ReceivedSpan]] = {}
    for s in sorted(trace, key=lambda s: s.start_ns):
        children.setdefault(s.parent_span_id, []).append(s)
    lines: list[str] = []

    def walk(s: ReceivedSpan, depth: int) -> None:
        ms = (s.end_ns - s.start_ns) / 1e6
        lines.append(f"{'  ' * depth}{s.service}: {s.kind} {s.name} ({ms:.1f} ms)")
        for child in children.get(s.span_id, []):
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines)


def _names(spans: list[ReceivedSpan]) -> set[str]:
    return {f"{s.service}: {s.kind} {s.name}" for s in spans}
