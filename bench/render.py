"""Render throughput: N jobs through the whole path against the engine driven directly,
in one run, on this machine.

  full path  POST /api/v1/generations at the gateway (a Pro-plan tenant, so up to 4 of its
             jobs run at once) -> render (credits, outbox) -> dispatcher -> SQS -> the GPU
             worker -> its InvokeAI engine -> PNG + WebP to S3 -> render's internal API ->
             the `completed` server-sent event the client is waiting on
  engine     the same N jobs submitted straight to an InvokeAI engine (the worker's Engine
             interface), no queue, no services

Both use the tiny random-weight SD-1 model by default (the only one here); on a GPU machine
pass --model-dir with an SD1.5-architecture model and --size 512 --steps 25 --device cuda
--precision float16. Prints images/s and p50/p95 latency (submit -> done) for each and
their ratio (target: the full path keeps at least 90% of the engine's throughput), and
the engine's idle fraction between jobs on the full path (from its queue items' start and
end times).

    uv run python bench/render.py [--jobs 24] [--size 64] [--steps 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from pingvas_render.catalog import load_catalog
from pingvas_render.engine import EngineJob, InvokeAIEngine
from pingvas_render.engine.process import EngineProcess
from pingvas_render.engine.testing import engine_python, ensure_tiny_model
from tqdm import tqdm

from pingvas_contracts import discover
from pingvas_contracts.envelope import new_envelope
from pingvas_contracts.plans import PLANS
from pingvas_kit.bus import build_topology, make_bus
from pingvas_kit.settings import ServiceSettings
from pingvas_kit.stack import REPO, Stack
from pingvas_kit.testing import free_port

PASSWORD = "correct horse battery"
PROMPTS = ("a red fox in snow", "고양이가 소파 위에서 자는 사진", "a lighthouse at dusk")


def _tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process under `root`, by name."""
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
        name = next((a for a in args if a.startswith("pingvas_") or "moto" in a), None)
        if name is None and args:
            name = Path(args[0]).name
            if "invokeai" in " ".join(args[:2]):
                name = "invokeai-web"
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


async def engine_idle(base_url: str, item_ids: list[int]) -> float | None:
    """The engine's idle fraction between its first start and last end over these queue
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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _report(
    name: str, latencies: list[float], seconds: float, images: int, idle: float | None
) -> float:
    rate = images / seconds
    idle_text = "n/a" if idle is None else f"{idle:.1%}"
    print(
        f"  {name:<10} {images:>4} images in {seconds:6.1f} s  {rate:6.2f} images/s  "
        f"p50 {statistics.median(latencies):6.2f} s  p95 {_percentile(latencies, 0.95):6.2f} s  "
        f"engine idle between jobs {idle_text}"
    )
    return rate


# -- the engine alone ----------------------------------------------------------------------


async def engine_alone(args: argparse.Namespace, models_dir: Path) -> tuple[float, list[float]]:
    model = load_catalog().get(args.model)
    assert model is not None
    with tempfile.TemporaryDirectory(prefix="pingvas-bench-engine-") as root:
        process = EngineProcess(
            root, engine_python(), free_port(), device=args.device, precision=args.precision
        )
        async with process:
            engine = InvokeAIEngine(base_url=process.base_url, models_dir=models_dir)
            await engine.start()
            try:
                await engine.ensure_model(model)

                handles: list[str] = []

                async def one(i: int, bar: tqdm | None) -> float:
                    began = time.perf_counter()
                    handle = await engine.submit(
                        EngineJob(
                            prompt=PROMPTS[i % len(PROMPTS)],
                            model=model,
                            width=args.size,
                            height=args.size,
                            steps=args.steps,
                            cfg_scale=7.5,
                            scheduler="euler",
                            seed=i,
                        )
                    )
                    handles.append(handle)
                    async for event in engine.events(handle):
                        if event.terminal:
                            assert event.kind == "completed", event
                            break
                    await engine.images(handle)
                    if bar is not None:
                        bar.update()
                    return time.perf_counter() - began

                await one(10_000, None)  # warm-up: model load, first graph
                began = time.perf_counter()
                with tqdm(total=args.jobs, desc="engine alone", unit="img") as bar:
                    latencies = await asyncio.gather(*(one(i, bar) for i in range(args.jobs)))
                seconds = time.perf_counter() - began
                idle = await engine_idle(process.base_url, [int(h) for h in handles[1:]])
            finally:
                await engine.close()
    return seconds, list(latencies), idle


# -- the full path -------------------------------------------------------------------------


def _sign_up(stack: Stack) -> tuple[httpx.Client, str]:
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    base = stack.url + "/api/v1"
    body = {"email": email, "password": PASSWORD, "name": "Bench", "team_name": "Bench"}
    assert httpx.post(f"{base}/auth/signup", json=body).status_code == 202
    link = stack.outbox_link(
        "pingvas.tenants.user.verification_requested.v1", "verification_url", email
    )
    token = parse_qs(urlsplit(link).query)["token"][0]
    httpx.post(f"{base}/auth/verify-email", json={"token": token}).raise_for_status()
    login = httpx.post(f"{base}/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    client = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    tenant_id = client.get("/me").json()["tenant"]["id"]
    return client, tenant_id


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
    async with client.stream("GET", f"/generations/{job_id}/events", timeout=600) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
                if kind in ("completed", "failed", "cancelled"):
                    assert kind == "completed", kind
                    return


async def full_path(args: argparse.Namespace, models_dir: Path) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory(prefix="pingvas-bench-stack-") as root:
        stack = Stack(
            Path(root),
            args=["--only", "gateway,tenants,render", "--startup-timeout", "300"],
            env={
                "PINGVAS_MODELS_DIR": str(models_dir),
                "PINGVAS_LOG_LEVEL": "WARNING",
                "RENDER_WORKER_ENGINE_DEVICE": args.device,
                "RENDER_WORKER_ENGINE_PRECISION": args.precision,
            },
        )
        try:
            stack.wait_ready(timeout=300)
            stack.wait(lambda: stack.service_url("render-worker") is not None, 60, "the worker")
            worker = stack.service_url("render-worker")

            def worker_up() -> bool:
                try:
                    return httpx.get(f"{worker}/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            stack.wait(worker_up, 300, "the worker's engine")
            client, tenant_id = _sign_up(stack)
            stack.wait(lambda: client.get("/entitlements").status_code == 200, 30, "entitlements")
            await _upgrade_to_pro(stack, tenant_id)
            stack.wait(
                lambda: client.get("/entitlements").json()["plan"] == "pro", 30, "the Pro plan"
            )
            headers = dict(client.headers)
            async with httpx.AsyncClient(
                base_url=str(client.base_url), headers=headers, timeout=60
            ) as http:

                async def one(i: int, bar: tqdm | None) -> float:
                    began = time.perf_counter()
                    body = {
                        "prompt": PROMPTS[i % len(PROMPTS)],
                        "model": args.model,
                        "width": args.size,
                        "height": args.size,
                        "steps": args.steps,
                        "cfg_scale": 7.5,
                        "scheduler": "euler",
                        "seed": i,
                        "num_images": 1,
                    }
                    response = await http.post(
                        "/generations", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )
                    assert response.status_code == 202, response.text
                    await _wait_done(http, response.json()["id"])
                    if bar is not None:
                        bar.update()
                    return time.perf_counter() - began

                await one(10_000, None)  # warm-up: model install and load, first graph
                cpu_before = _tree_cpu(stack.proc.pid)
                began = time.perf_counter()
                with tqdm(total=args.jobs, desc="full path", unit="img") as bar:
                    latencies = await asyncio.gather(*(one(i, bar) for i in range(args.jobs)))
                seconds = time.perf_counter() - began
                cpu_after = _tree_cpu(stack.proc.pid)
            config = json.loads((stack.var / "engine" / "invokeai.yaml").read_text())
            # the worker's engine is fresh: item 1 was the warm-up
            idle = await engine_idle(
                f"http://127.0.0.1:{config['port']}", list(range(2, args.jobs + 2))
            )
            used = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
            print(f"  CPU seconds during the full-path run ({seconds:.1f} s of wall time):")
            for name, cpu in sorted(used.items(), key=lambda kv: -kv[1]):
                if cpu >= 0.05:
                    print(f"    {name:<28} {cpu:6.1f}")
        finally:
            stack.stop()
    return seconds, list(latencies), idle


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=24)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--model", default="tiny-sd1", help="catalog key (default tiny-sd1)")
    parser.add_argument("--models-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args()
    if args.model == "tiny-sd1":
        ensure_tiny_model(args.models_dir)

    print(
        f"render bench: {args.jobs} jobs, {args.model} {args.size}x{args.size}, "
        f"{args.steps} steps, {args.device}"
    )
    path_s, path_lat, path_idle = await full_path(args, args.models_dir)
    engine_s, engine_lat, engine_idle_ = await engine_alone(args, args.models_dir)
    print()
    full = _report("full path", path_lat, path_s, args.jobs, path_idle)
    alone = _report("engine", engine_lat, engine_s, args.jobs, engine_idle_)
    ratio = full / alone
    print(f"  ratio      full path keeps {ratio:.0%} of the engine's throughput (target 90%)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
