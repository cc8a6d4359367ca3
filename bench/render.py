"""Render throughput: the InvokeAI engine alone, the batched engine alone and the whole
path over the batched engine, for the same N jobs, in one run, on this machine.

  invokeai alone  the N jobs submitted at once straight to an InvokeAI engine (the
                  worker's Engine interface over its own invokeai-web), no services
  batched alone   the same N jobs submitted at once straight to a `BatchedEngine` (its
                  own process; --rows rows per UNet pass), no services
  full path       POST /api/v1/generations at the gateway from 4 Pro-plan tenants (one
                  more per 32 jobs beyond 128; jobs spread round robin) -> render
                  (credits, outbox) -> dispatcher -> SQS ->
                  the worker (RENDER_WORKER_ENGINE=batched, RENDER_WORKER_ENGINE_ROWS=--rows)
                  -> its batched engine -> PNG + WebP to S3 -> render's internal API -> the
                  `completed` server-sent event the client is waiting on

Every job has a prompt, a seed and a CFG scale of its own (cfg 5.0 + i % 5); each side is
warmed up with one job first (model load), which is not counted. Prints, per side,
images/s and p50/p95 latency (submit -> done); for the batched sides the engine's idle
fraction over the measured window, its mean batch occupancy (row-steps per UNet pass, and
as a fraction of its rows) and memory per model and per row (per row: GPU only); for the
full path the CPU time of the control plane (gateway, tenants, render, render-worker) per
image, with the engine's and moto's shown apart. Then the targets, PASS or FAIL:

  batched alone >= 4x invokeai alone;  full path >= 80% of batched alone;
  control plane <= 50 CPU-ms per image.

The batched engine's figures are cumulative counters (busy_s, wall_s, unet_calls,
rows_stepped, images_done): `BatchedEngine.stats()` for the engine alone, the worker's
/metrics gauges (refreshed every 2 s) for the full path, both read only while the engine is
idle (after the warm-up, after the last image), so their busy-seconds difference is exactly
the busy time inside the window, and the idle fraction is 1 - that / (first submit -> last
done, as the client saw it): the engine's own wall-clock difference would add the time the
readings took (and, from the gauges, up to 2 s either side).

--latency-check (meant for a GPU run) then measures, on the same stack, one job alone
(the median of 3, one after another) and a sustained load of jobs arriving evenly at 80% of
the full path's saturating throughput for --latency-seconds, and compares that load's p95
with 2x the single job's latency (target: p95 <= 2x single).

The tiny random-weight SD-1 model by default (the only one here); on a GPU machine:

    bench/render.py --device cuda --precision float16 --size 512 --steps 25 \\
        --models-dir DIR --model KEY [--catalog FILE] [--rows 16] --latency-check

(the batched engine loads diffusers folders on this machine: KEY's catalog source must be
one, e.g. "{models_dir}/sd15"; --catalog sets RENDER_CATALOG for the bench and the stack).

Exits 0 whether or not the targets are met (it is a benchmark); 1 only when a side could
not be measured at all.

    uv run python bench/render.py [--jobs 48] [--size 64] [--steps 8] [--rows 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pingvas_render.catalog import CatalogModel, load_catalog
from pingvas_render.engine import EngineJob, InvokeAIEngine
from pingvas_render.engine.batched.client import BatchedEngine
from pingvas_render.engine.environment import engine_python
from pingvas_render.engine.process import EngineProcess
from pingvas_render.engine.testing import ensure_tiny_model
from tqdm import tqdm

from pingvas_contracts import discover
from pingvas_contracts.envelope import new_envelope
from pingvas_contracts.plans import PLANS
from pingvas_kit.bus import build_topology, make_bus
from pingvas_kit.dev.stack import REPO, Stack, Team
from pingvas_kit.ports import free_port
from pingvas_kit.settings import ServiceSettings

PROMPTS = (
    "a red fox in snow",
    "고양이가 소파 위에서 자는 사진",
    "a lighthouse at dusk",
    "an isometric city block, soft light",
    "a bowl of ramen, studio photo",
)
SCHEDULER = "euler"
TENANTS = 4
#: a tenant may have this many jobs waiting or running (render answers 429 beyond): more
#: tenants when --jobs needs them
JOBS_PER_TENANT = 32
WARM_UP = 10_000  # the warm-up job's index (its own prompt, seed and cfg)
#: the processes whose CPU the control plane's figure counts, by what _tree_cpu names them
CONTROL_PLANE = {
    "pingvas_gateway": "gateway",
    "pingvas_tenants": "tenants",
    "pingvas_render": "render",
    "pingvas_render.worker": "render-worker",
}


def job_params(i: int) -> dict[str, Any]:
    """Job i's own prompt, seed and CFG scale."""
    return {
        "prompt": f"{PROMPTS[i % len(PROMPTS)]}, study {i}",
        "seed": 1_000 + i,
        "cfg_scale": 5.0 + (i % 5),
    }


# -- figures ---------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    #: the batched engine's figures over the window (see `engine_figures`)
    engine: dict[str, Any] | None = None
    #: the InvokeAI engine's idle fraction between its queue items
    idle_between: float | None = None
    #: CPU seconds by process over the window (full path)
    cpu: dict[str, float] | None = None
    #: HTTP requests each service answered over the window, by method (full path)
    requests: dict[str, Counter] | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    #: cores other processes on this machine used over the window
    others: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.latencies) and self.seconds > 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.ok else float("nan")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def engine_figures(
    before: dict[str, Any], after: dict[str, Any], window_s: float | None = None
) -> dict[str, Any]:
    """The batched engine's figures between two readings of its cumulative counters: idle
    fraction (1 - busy / window; the window is the engine's own wall-clock difference
    unless given), occupancy (row-steps per UNet pass), images, model and per-row bytes."""
    d = {
        k: float(after.get(k, 0)) - float(before.get(k, 0))
        for k in ("busy_s", "wall_s", "unet_calls", "rows_stepped", "images_done")
    }
    window = window_s if window_s is not None else d["wall_s"]
    max_rows = int(after.get("max_rows") or 0)
    occupancy = d["rows_stepped"] / d["unet_calls"] if d["unet_calls"] > 0 else float("nan")
    return {
        "busy_s": d["busy_s"],
        "window_s": window,
        "idle": 1 - d["busy_s"] / window if window > 0 else float("nan"),
        "unet_calls": int(d["unet_calls"]),
        "rows_stepped": int(d["rows_stepped"]),
        "images": int(d["images_done"]),
        "occupancy": occupancy,
        "max_rows": max_rows,
        "peak_rows": after.get("peak_rows"),
        "models": dict(after.get("models") or {}),
        "per_row_bytes": dict(after.get("per_row_bytes") or {}),
        "device": after.get("device"),
        "dtype": after.get("dtype"),
    }


def _mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process under `root`, by name: the
    first argument that starts with `pingvas_` (the module of `python -m pingvas_x`),
    `invokeai-web`, `moto`, `pingvas-dev`, or the program's name."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    stats: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        args = [a.decode(errors="replace") for a in cmdline if a]
        name = next((a for a in args if a.startswith("pingvas_")), None)
        if name is None and args:
            head = [Path(a).name for a in args[:3]]
            if "pingvas-dev" in head[:2]:
                name = "pingvas-dev"
            elif any("moto" in a for a in head):
                name = "moto"
            elif any("invokeai" in a for a in args[:2]):
                name = "invokeai-web"
            else:
                name = head[0]
        stats[pid] = (name or "?", (int(fields[11]) + int(fields[12])) / ticks)
    inside = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in inside and pid not in inside:
                inside.add(pid)
                changed = True
    totals: dict[str, float] = {}
    for pid in inside:
        if pid in stats:
            name, seconds = stats[pid]
            totals[name] = totals.get(name, 0.0) + seconds
    return totals


class _Others:
    """CPU the machine spent outside this bench's process tree (other people's work on a
    shared machine) over a window, in cores: what makes the figures noisy."""

    def __init__(self) -> None:
        self.began = self._now()

    @staticmethod
    def _now() -> tuple[float, float, float]:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
        machine = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        own = sum(_tree_cpu(os.getpid()).values())
        return time.monotonic(), machine, own

    def cores(self) -> float:
        t0, machine0, own0 = self.began
        t1, machine1, own1 = self._now()
        return max(0.0, ((machine1 - machine0) - (own1 - own0)) / max(1e-9, t1 - t0))


def _cpu_kind(name: str) -> str:
    if name in CONTROL_PLANE:
        return "control"
    if name.startswith("pingvas_render.engine") or name == "invokeai-web":
        return "engine"
    if name in ("pingvas_kit.dev.emulator", "moto"):
        return "moto"
    return "other"


# -- 1. the InvokeAI engine alone -------------------------------------------------------


async def invokeai_idle(base_url: str, item_ids: list[int]) -> float | None:
    """InvokeAI's idle fraction between its first start and last end over these queue
    items: 1 - (time some item was running) / (the whole span)."""
    spans: list[tuple[datetime, datetime]] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for item_id in item_ids:
            response = await client.get(f"/api/v1/queue/default/i/{item_id}")
            if response.status_code != 200:
                continue
            item = response.json()
            if item.get("status") == "completed" and item.get("started_at"):
                spans.append(
                    (
                        datetime.fromisoformat(item["started_at"]),
                        datetime.fromisoformat(item["completed_at"]),
                    )
                )
    if len(spans) < 2:
        return None
    spans.sort()
    busy, (cur_start, cur_end) = 0.0, spans[0]
    for start, end in spans[1:]:
        if start > cur_end:
            busy += (cur_end - cur_start).total_seconds()
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    busy += (cur_end - cur_start).total_seconds()
    whole = (max(e for _, e in spans) - spans[0][0]).total_seconds()
    return 1 - busy / whole if whole > 0 else None


def _engine_job(args: argparse.Namespace, model: CatalogModel, i: int) -> EngineJob:
    return EngineJob(
        model=model,
        width=args.size,
        height=args.size,
        steps=args.steps,
        scheduler=SCHEDULER,
        **job_params(i),
    )


async def _run_engine_job(engine: Any, job: EngineJob, handles: list[str] | None = None) -> float:
    began = time.perf_counter()
    handle = await engine.submit(job)
    if handles is not None:
        handles.append(handle)
    async for event in engine.events(handle):
        if event.terminal:
            if event.kind != "completed":
                raise RuntimeError(f"an engine job ended {event.kind}: {event.error}")
            break
    images = await engine.images(handle)
    assert images and images[0].startswith(b"\x89PNG"), "the engine gave no PNG"
    return time.perf_counter() - began


async def invokeai_alone(args: argparse.Namespace, model: CatalogModel) -> Result:
    result = Result("invokeai alone")
    with tempfile.TemporaryDirectory(prefix="pingvas-bench-invokeai-") as root:
        process = EngineProcess(
            root, engine_python(), free_port(), device=args.device, precision=args.precision
        )
        async with process:
            engine = InvokeAIEngine(base_url=process.base_url, models_dir=args.models_dir)
            await engine.start()
            try:
                await engine.ensure_model(model)
                warm: list[str] = []
                await _run_engine_job(engine, _engine_job(args, model, WARM_UP), warm)
                handles: list[str] = []
                with tqdm(total=args.jobs, desc="invokeai alone", unit="img") as bar:

                    async def one(i: int) -> float:
                        seconds = await _run_engine_job(
                            engine, _engine_job(args, model, i), handles
                        )
                        bar.update()
                        return seconds

                    began, others = time.perf_counter(), _Others()
                    latencies = await asyncio.gather(*(one(i) for i in range(args.jobs)))
                    result.seconds = time.perf_counter() - began
                    result.others = others.cores()
                result.latencies = list(latencies)
                try:
                    result.idle_between = await invokeai_idle(
                        process.base_url, [int(h) for h in handles]
                    )
                except (ValueError, httpx.HTTPError):
                    result.idle_between = None
            finally:
                await engine.close()
    return result


# -- 2. the batched engine alone --------------------------------------------------------


async def _settled_stats(engine: BatchedEngine, timeout: float = 30) -> dict[str, Any]:
    """The engine's figures once it is idle: no row resident or pending and busy_s no
    longer moving (a row's `completed` can reach us just before its step's busy time is
    added)."""
    deadline = time.monotonic() + timeout
    last = await engine.stats()
    while True:
        await asyncio.sleep(0.1)
        now = await engine.stats()
        idle = not now.get("resident_rows") and not now.get("pending_rows")
        if (idle and now.get("busy_s") == last.get("busy_s")) or time.monotonic() > deadline:
            return now
        last = now


async def batched_alone(args: argparse.Namespace, model: CatalogModel) -> Result:
    result = Result("batched alone")
    with tempfile.TemporaryDirectory(prefix="pingvas-bench-batched-") as root:
        engine = BatchedEngine(
            engine_python(),
            args.models_dir,
            root_dir=root,
            device=args.device,
            precision=args.precision,
            max_rows=args.rows,
        )
        try:
            await engine.start()
            await engine.ensure_model(model)
            await _run_engine_job(engine, _engine_job(args, model, WARM_UP))
            if engine.capacity != args.rows:
                result.notes.append(
                    f"the engine runs {engine.capacity} rows (asked for {args.rows}: "
                    "lowered to what free GPU memory holds)"
                )
            with tqdm(total=args.jobs, desc="batched alone", unit="img") as bar:

                async def one(i: int) -> float:
                    seconds = await _run_engine_job(engine, _engine_job(args, model, i))
                    bar.update()
                    return seconds

                before = await _settled_stats(engine)
                began, others = time.perf_counter(), _Others()
                latencies = await asyncio.gather(*(one(i) for i in range(args.jobs)))
                result.seconds = time.perf_counter() - began
                result.others = others.cores()
                after = await _settled_stats(engine)
            result.latencies = list(latencies)
            result.engine = engine_figures(before, after, window_s=result.seconds)
        except Exception:
            print(f"  (the batched engine's log, last lines:)\n{engine._log_tail()}")
            raise
        finally:
            await engine.close()
    return result


# -- 3. the full path -------------------------------------------------------------------


async def _upgrade_to_pro(stack: Stack, tenant_id: str) -> None:
    """What billing will publish when the tenant pays: the Pro plan's entitlements."""
    state = json.loads((stack.var / "run" / "pingvas-dev.json").read_text())
    settings = ServiceSettings(
        aws_endpoint_url=state["aws_endpoint_url"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
    data = {
        "subscription_id": str(uuid.uuid4()),
        "plan": "pro",
        "status": "active",
        "interval": "month",
        "lemon_squeezy": None,
        "entitlements": PLANS["pro"].model_dump(),
        "current_period_start": now,
        "current_period_end": later,
        "updated_at": now,
        "trial_ends_at": None,
    }
    envelope = new_envelope(
        "pingvas.billing.subscription.activated.v1", data, source="bench", tenant_id=tenant_id
    )
    async with make_bus(settings, build_topology(discover(), prefix=settings.bus_prefix)) as bus:
        await bus.publish([envelope])


async def _wait_done(client: httpx.AsyncClient, job_id: str) -> None:
    async with client.stream(
        "GET", f"/generations/{job_id}/events", timeout=httpx.Timeout(60, read=1800)
    ) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
                if kind in ("completed", "failed", "cancelled"):
                    if kind != "completed":
                        raise RuntimeError(f"job {job_id} ended {kind}")
                    return
    raise RuntimeError(f"the event stream of job {job_id} ended before the job did")


def _parse_metrics(text: str) -> dict[str, Any]:
    """The batched engine's gauges from the worker's /metrics, shaped as `stats()` is."""
    names = {
        "pingvas_render_engine_busy_seconds": "busy_s",
        "pingvas_render_engine_up_seconds": "wall_s",
        "pingvas_render_engine_unet_calls": "unet_calls",
        "pingvas_render_engine_rows_stepped": "rows_stepped",
        "pingvas_render_engine_images": "images_done",
        "pingvas_render_engine_capacity_rows": "max_rows",
        "pingvas_render_engine_resident_rows": "resident_rows",
        "pingvas_render_engine_pending_rows": "pending_rows",
    }
    out: dict[str, Any] = {"models": {}, "per_row_bytes": {}}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, labels = head.partition("{")
        try:
            number = float(value)
        except ValueError:
            continue
        label = labels.rstrip("}").partition("=")[2].strip('"')
        if metric in names:
            out[names[metric]] = number
        elif metric == "pingvas_render_engine_model_bytes":
            out["models"][label] = number
        elif metric == "pingvas_render_engine_row_bytes":
            out["per_row_bytes"][label] = number
    return out


async def _fresh_gauges(http: httpx.AsyncClient, worker: str, timeout: float = 30) -> dict:
    """The worker's engine gauges as refreshed after this call began (up_seconds moved),
    with the engine idle (no row resident or pending)."""
    first: float | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = await http.get(f"{worker}/metrics", timeout=5)
            gauges = _parse_metrics(response.text)
        except httpx.HTTPError:
            gauges = {}
        wall = gauges.get("wall_s")
        if wall is not None and wall > 0:
            if first is None:
                first = wall
            elif (
                wall != first and not gauges.get("resident_rows") and not gauges.get("pending_rows")
            ):
                return gauges
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the worker's engine gauges at {worker}/metrics did not refresh")


_LABEL = re.compile(r'(\w+)="([^"]*)"')


async def _http_requests(http: httpx.AsyncClient, urls: dict[str, str]) -> dict[str, Counter]:
    """pingvas_http_requests_total of each service so far, by method."""
    out: dict[str, Counter] = {}
    for name, url in urls.items():
        counts: Counter = Counter()
        try:
            text = (await http.get(f"{url}/metrics", timeout=5)).text
        except httpx.HTTPError:
            continue
        for line in text.splitlines():
            if not line.startswith("pingvas_http_requests_total{"):
                continue
            head, _, value = line.rpartition(" ")
            labels = dict(_LABEL.findall(head))
            counts[labels.get("method", "?")] += float(value)
        if counts:  # (the gateway keeps no such counter)
            out[name] = counts
    return out


class Tenants:
    """`count` signed-up Pro tenants (TENANTS, or more for many jobs), each with an async
    client; jobs spread round robin."""

    def __init__(self, stack: Stack, count: int = TENANTS) -> None:
        self.stack = stack
        self.count = count
        self.teams: list[Team] = []
        self.clients: list[httpx.AsyncClient] = []

    async def sign_up(self) -> None:
        for k in range(self.count):
            team = Team(self.stack, f"bench{k}")
            team.entitlements()  # tenant.created has reached render
            tenant_id = team.http.get("/me").json()["tenant"]["id"]
            await _upgrade_to_pro(self.stack, tenant_id)
            self.teams.append(team)
        for team in self.teams:
            self.stack.wait(
                lambda team=team: team.http.get("/entitlements").json().get("plan") == "pro",
                30,
                "the Pro plan",
            )
            self.clients.append(
                httpx.AsyncClient(
                    base_url=str(team.http.base_url),
                    headers={"Authorization": team.http.headers["Authorization"]},
                    timeout=60,
                    limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
                )
            )

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        for team in self.teams:
            team.http.close()

    async def job(self, args: argparse.Namespace, i: int) -> float:
        """Job i from tenant i % count: POST, then its events until `completed`."""
        http = self.clients[i % len(self.clients)]
        body = {
            "model": args.model,
            "width": args.size,
            "height": args.size,
            "steps": args.steps,
            "scheduler": SCHEDULER,
            "num_images": 1,
            **job_params(i),
        }
        began = time.perf_counter()
        response = await http.post(
            "/generations", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert response.status_code == 202, response.text
        await _wait_done(http, response.json()["id"])
        return time.perf_counter() - began


@dataclass
class LatencyCheck:
    single: list[float]
    rate: float
    arrivals: int
    offered_s: float
    seconds: float
    latencies: list[float]


async def full_path(
    args: argparse.Namespace, models_dir: Path
) -> tuple[Result, LatencyCheck | None]:
    result = Result("full path")
    check: LatencyCheck | None = None
    env = {
        "PINGVAS_MODELS_DIR": str(models_dir),
        "PINGVAS_LOG_LEVEL": "WARNING",
        "RENDER_WORKER_ENGINE": "batched",
        "RENDER_WORKER_ENGINE_ROWS": str(args.rows),
        "RENDER_WORKER_ENGINE_DEVICE": args.device,
        "RENDER_WORKER_ENGINE_PRECISION": args.precision,
        "PINGVAS_ENGINE_PYTHON": str(engine_python()),
        # every job's client follows its own event stream: lift the per-team stream cap
        # (20) for the stack this bench starts
        "GATEWAY_MAX_STREAMS_PER_TENANT": "10000",
        "GATEWAY_STREAM_POOL_SIZE": "2000",
    }
    if args.catalog:
        env["RENDER_CATALOG"] = str(args.catalog)
    with tempfile.TemporaryDirectory(prefix="pingvas-bench-stack-") as root:
        stack = Stack(
            Path(root),
            args=["--only", "gateway,tenants,render", "--startup-timeout", "300"],
            env=env,
        )
        tenants = Tenants(stack, max(TENANTS, math.ceil(args.jobs / JOBS_PER_TENANT)))
        try:
            stack.wait_ready(timeout=300)
            stack.wait(lambda: stack.service_url("render-worker") is not None, 60, "the worker")
            worker = stack.service_url("render-worker")
            assert worker is not None
            stack.wait(lambda: stack.healthy("render-worker"), 300, "the worker's engine")
            await tenants.sign_up()
            services = {"gateway": stack.url}
            for name in ("tenants", "render"):
                url = stack.service_url(name)
                if url:
                    services[name] = url
            async with httpx.AsyncClient() as probe:
                await tenants.job(args, WARM_UP)  # warm-up: the model's load, first batch
                before = await _fresh_gauges(probe, worker)
                if int(before.get("max_rows") or 0) != args.rows:
                    result.notes.append(
                        f"the worker's engine runs {int(before.get('max_rows') or 0)} rows "
                        f"(asked for {args.rows})"
                    )
                with tqdm(total=args.jobs, desc="full path", unit="img") as bar:

                    async def one(i: int) -> float:
                        seconds = await tenants.job(args, i)
                        bar.update()
                        return seconds

                    requests_before = await _http_requests(probe, services)
                    cpu_before = _tree_cpu(stack.proc.pid)
                    began, others = time.perf_counter(), _Others()
                    latencies = await asyncio.gather(*(one(i) for i in range(args.jobs)))
                    result.seconds = time.perf_counter() - began
                    result.others = others.cores()
                    cpu_after = _tree_cpu(stack.proc.pid)
                    requests_after = await _http_requests(probe, services)
                result.requests = {
                    name: after_counts - requests_before.get(name, Counter())
                    for name, after_counts in requests_after.items()
                }
                result.latencies = list(latencies)
                after = await _fresh_gauges(probe, worker)
                result.engine = engine_figures(before, after, window_s=result.seconds)
                if result.engine["images"] != args.jobs:
                    result.notes.append(
                        f"the engine counted {result.engine['images']} images in the window, "
                        f"not {args.jobs}"
                    )
                result.cpu = {}
                for name, seconds in cpu_after.items():
                    used = seconds - cpu_before.get(name, 0.0)
                    if used < 0:
                        result.notes.append(f"{name} restarted during the window")
                        used = seconds
                    result.cpu[name] = used
                if args.latency_check and result.ok:
                    check = await latency_check(args, tenants, result.rate)
        except BaseException as exc:
            if not isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
                tail = "\n".join(stack.output.splitlines()[-40:])
                print(f"  (pingvas-dev output, last lines:)\n{tail}")
            raise
        finally:
            await tenants.close()
            stack.stop()
    return result, check


async def latency_check(
    args: argparse.Namespace, tenants: Tenants, saturated_rate: float
) -> LatencyCheck:
    single = []
    for k in tqdm(range(3), desc="single job", unit="img"):
        single.append(await tenants.job(args, 20_000 + k))
    rate = 0.8 * saturated_rate
    count = max(args.jobs, math.ceil(rate * args.latency_seconds))
    interval = 1.0 / rate
    with tqdm(total=count, desc=f"load {rate:.2f}/s", unit="img") as bar:

        async def one(k: int, at: float) -> float:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            seconds = await tenants.job(args, 30_000 + k)
            bar.update()
            return seconds

        began = time.perf_counter()
        latencies = await asyncio.gather(*(one(k, began + k * interval) for k in range(count)))
        seconds = time.perf_counter() - began
    return LatencyCheck(
        single=single,
        rate=rate,
        arrivals=count,
        offered_s=count * interval,
        seconds=seconds,
        latencies=list(latencies),
    )


# -- the report -------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    args: argparse.Namespace,
    results: list[Result],
    check: LatencyCheck | None,
) -> None:
    by = {r.name: r for r in results}
    print()
    print(
        f"render bench: {args.jobs} jobs, {args.model} {args.size}x{args.size}, {args.steps} "
        f"steps, {SCHEDULER}, {args.device} {args.precision}, {args.rows} rows; "
        f"a prompt, seed and cfg (5-9) per job"
    )
    print()
    print(
        f"  {'':<16} {'images':>6} {'seconds':>8} {'images/s':>9} {'p50 s':>8} {'p95 s':>8}"
        f"   others' CPU (of {os.cpu_count()} cores)"
    )
    for r in results:
        if not r.ok:
            print(f"  {r.name:<16} not measured: {r.error}")
            continue
        others = "" if r.others is None else f"   {r.others:.2f} cores"
        print(
            f"  {r.name:<16} {len(r.latencies):>6} {r.seconds:>8.1f} {r.rate:>9.2f} "
            f"{statistics.median(r.latencies):>8.2f} {_percentile(r.latencies, 0.95):>8.2f}"
            f"{others}"
        )
    if any(r.others is not None and r.others > 0.25 for r in results):
        print(
            "  (others' CPU: what processes outside this bench used meanwhile; figures taken "
            "beside them are not comparable)"
        )
    inv = by.get("invokeai alone")
    if inv is not None and inv.ok and inv.idle_between is not None:
        print(f"  (invokeai alone: the engine idle between its queue items {inv.idle_between:.1%})")

    batched = [r for r in results if r.ok and r.engine is not None]
    if batched:
        print()
        print("  the batched engine over the measured window")
        for r in batched:
            e = r.engine
            assert e is not None
            frac = e["occupancy"] / e["max_rows"] if e["max_rows"] else float("nan")
            peak = f", peak {int(e['peak_rows'])}" if e.get("peak_rows") is not None else ""
            print(
                f"  {r.name:<16} idle {e['idle']:6.1%} (busy {e['busy_s']:.1f} s of "
                f"{e['window_s']:.1f} s)   occupancy {e['occupancy']:.2f} of {e['max_rows']} rows "
                f"({frac:.0%}; {e['rows_stepped']} row-steps in {e['unet_calls']} UNet passes"
                f"{peak})"
            )
            models = ", ".join(f"{k} {_mib(v)}" for k, v in sorted(e["models"].items())) or "n/a"
            rows = (
                ", ".join(f"{k} {_mib(v)}" for k, v in sorted(e["per_row_bytes"].items()))
                if e["per_row_bytes"]
                else "GPU only"
            )
            where = f"{e['device']} {e['dtype']}" if e.get("device") else ""
            print(f"  {'':<16} memory per model: {models}; per row: {rows} {where}".rstrip())

    full = by.get("full path")
    control_ms = float("nan")
    if full is not None and full.ok and full.cpu is not None:
        n = len(full.latencies)
        kinds: dict[str, dict[str, float]] = {}
        for name, seconds in full.cpu.items():
            kinds.setdefault(_cpu_kind(name), {})[name] = seconds
        control = kinds.get("control", {})
        control_s = sum(control.values())
        control_ms = control_s * 1000 / n
        print()
        print(f"  full path CPU seconds over the window ({full.seconds:.1f} s wall, {n} images)")
        parts = ", ".join(f"{CONTROL_PLANE[k]} {control.get(k, 0.0):.2f}" for k in CONTROL_PLANE)
        print(f"    control plane  {control_s:6.2f} s = {control_ms:6.1f} ms per image  ({parts})")
        for kind, label in (("engine", "engine"), ("moto", "moto"), ("other", "other")):
            group = kinds.get(kind, {})
            if not group or sum(group.values()) < 0.005:
                continue
            names = ", ".join(f"{k} {v:.2f}" for k, v in sorted(group.items()) if v >= 0.005)
            total = sum(group.values())
            print(
                f"    {label:<14} {total:6.2f} s = {total * 1000 / n:6.1f} ms per image  ({names})"
            )

    if full is not None and full.ok and full.requests:
        n = len(full.latencies)
        parts = []
        for name, counts in full.requests.items():
            if sum(counts.values()) / n < 0.05:
                continue
            methods = ", ".join(f"{m} {c / n:.1f}" for m, c in sorted(counts.items()) if c)
            parts.append(f"{name} {sum(counts.values()) / n:.1f} ({methods})")
        if parts:
            print(f"    HTTP requests answered per image: {'; '.join(parts)}")

    for r in results:
        for note in r.notes:
            print(f"  note ({r.name}): {note}")

    print()
    print("  targets")
    b, i, f = by.get("batched alone"), by.get("invokeai alone"), by.get("full path")
    if b is not None and i is not None and b.ok and i.ok:
        x = b.rate / i.rate
        print(
            f"    batched alone / invokeai alone   {x:6.2f}x   (target >= 4x)     {_verdict(x >= 4)}"
        )
    else:
        print("    batched alone / invokeai alone   n/a (a side was not measured)   FAIL")
    if f is not None and b is not None and f.ok and b.ok:
        x = f.rate / b.rate
        print(
            f"    full path / batched alone        {x:6.1%}    (target >= 80%)    "
            f"{_verdict(x >= 0.8)}"
        )
    else:
        print("    full path / batched alone        n/a (a side was not measured)   FAIL")
    if not math.isnan(control_ms):
        print(
            f"    control plane CPU per image      {control_ms:6.1f} ms (target <= 50 ms)  "
            f"{_verdict(control_ms <= 50)}"
        )
    else:
        print("    control plane CPU per image      n/a (the full path was not measured)   FAIL")
    if args.latency_check:
        if check is None:
            print("    latency at 80% load              n/a (not measured)   FAIL")
        else:
            single = statistics.median(check.single)
            p95 = _percentile(check.latencies, 0.95)
            print(
                f"    latency at 80% load              p95 {p95:.2f} s vs 2x single "
                f"{2 * single:.2f} s (target p95 <= 2x)  {_verdict(p95 <= 2 * single)}"
            )
            print(
                f"      single job alone: {', '.join(f'{s:.2f}' for s in check.single)} s "
                f"(median {single:.2f} s); load: {check.arrivals} jobs arriving every "
                f"{1 / check.rate:.2f} s ({check.rate:.2f}/s = 80% of the full path's "
                f"{check.rate / 0.8:.2f}/s) over {check.offered_s:.0f} s, done in "
                f"{check.seconds:.1f} s ({check.arrivals / check.seconds:.2f}/s), "
                f"p50 {statistics.median(check.latencies):.2f} s"
            )


async def _side(name: str, run: Any) -> Any:
    try:
        return await run
    except Exception as exc:  # noqa: BLE001 - the other sides still run; reported below
        traceback.print_exc()
        return Result(name, error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=48)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rows", type=int, default=8, help="the batched engine's rows per pass")
    parser.add_argument("--model", default="tiny-sd1", help="catalog key (default tiny-sd1)")
    parser.add_argument("--models-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--catalog", type=Path, default=None, help="RENDER_CATALOG for all sides")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="float32")
    parser.add_argument(
        "--latency-check",
        action="store_true",
        help="then: one job alone, and p95 at 80%% of the full path's throughput (GPU)",
    )
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument(
        "--only",
        default="invokeai,batched,full",
        help="sides to run (comma-separated; default all three)",
    )
    args = parser.parse_args()
    args.models_dir = args.models_dir.resolve()
    if args.catalog is not None:
        args.catalog = args.catalog.resolve()
        os.environ["RENDER_CATALOG"] = str(args.catalog)
    if args.model == "tiny-sd1":
        ensure_tiny_model(args.models_dir)
    model = load_catalog().get(args.model)
    if model is None:
        parser.error(f"{args.model!r} is not in the catalog")
    sides = {s.strip() for s in args.only.split(",") if s.strip()}
    # SIGTERM as Ctrl-C: unwind, so the stack and the engines are stopped
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)

    print(
        f"render bench: {args.jobs} jobs, {args.model} {args.size}x{args.size}, "
        f"{args.steps} steps, {args.device} {args.precision}, {args.rows} rows"
    )
    results: list[Result] = []
    check: LatencyCheck | None = None
    if "invokeai" in sides:
        results.append(await _side("invokeai alone", invokeai_alone(args, model)))
    if "batched" in sides:
        results.append(await _side("batched alone", batched_alone(args, model)))
    if "full" in sides:
        out = await _side("full path", full_path(args, args.models_dir))
        if isinstance(out, Result):
            results.append(out)
        else:
            results.append(out[0])
            check = out[1]
    report(args, results, check)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("\nrender bench: interrupted; what it started is stopped", file=sys.stderr)
        sys.exit(130)
