"""`pingvas-render-worker`: a GPU worker (settings from RENDER_WORKER_* variables).

Starts and supervises its engine (RENDER_WORKER_ENGINE: `auto`, the default, runs the
batched engine and starts InvokeAI the first time a job needs it; `batched` or `invokeai`
runs that one alone; RENDER_WORKER_ENGINE_URL names an InvokeAI already running), then
takes jobs until SIGTERM, which lets the jobs in hand finish first."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from pingvas_kit import telemetry
from pingvas_kit.logging import configure_logging, get_logger
from pingvas_kit.ports import free_port

from ..adapters.work_queue import WorkQueue
from ..engine import InvokeAIEngine
from ..engine.batched.auto import AutoEngine
from ..engine.batched.client import BatchedEngine
from ..engine.environment import engine_python
from ..engine.process import EngineProcess
from .render_api import RenderApi
from .runner import Worker
from .settings import WorkerSettings
from .storage import ImageStore

log = get_logger("pingvas.render.worker")

#: the batched engine's own figures (cumulative since it started), read every few seconds
ENGINE_GAUGES = {
    "busy_s": Gauge(
        "pingvas_render_engine_busy_seconds",
        "Seconds the batched engine spent denoising or decoding since it started",
    ),
    "wall_s": Gauge("pingvas_render_engine_up_seconds", "Seconds since the batched engine started"),
    "unet_calls": Gauge(
        "pingvas_render_engine_unet_calls",
        "UNet passes (one denoising step of one batch) since start",
    ),
    "rows_stepped": Gauge(
        "pingvas_render_engine_rows_stepped",
        "Row-steps denoised since start (occupancy = rows_stepped / unet_calls)",
    ),
    "images_done": Gauge(
        "pingvas_render_engine_images", "Images the batched engine finished since start"
    ),
    "max_rows": Gauge(
        "pingvas_render_engine_capacity_rows", "Rows the batched engine runs in one pass"
    ),
    "resident_rows": Gauge("pingvas_render_engine_resident_rows", "Rows denoising now"),
    "pending_rows": Gauge("pingvas_render_engine_pending_rows", "Rows waiting for a free slot"),
}
MODEL_BYTES = Gauge(
    "pingvas_render_engine_model_bytes", "Memory a resident model's weights take", ["model"]
)
ROW_BYTES = Gauge(
    "pingvas_render_engine_row_bytes", "Peak GPU memory per row, by size (GPU only)", ["size"]
)
BATCH_OCCUPANCY = Gauge(
    "pingvas_render_engine_batch_occupancy_ratio",
    "Rows denoising now over the rows the batched engine runs in one pass",
)
#: set only where the engine runs on a GPU (device: cuda:0 ...); absent otherwise
GPU_MEMORY = Gauge(
    "pingvas_render_gpu_memory_bytes",
    "GPU memory: used and total (the device, every process), allocated and reserved (the engine)",
    ["device", "kind"],
)
GPU_UTILIZATION = Gauge(
    "pingvas_render_gpu_utilization_ratio", "GPU busy fraction (NVML), 0..1", ["device"]
)


async def _engine_metrics(engine: Any, stop: asyncio.Event, every_s: float = 2.0) -> None:
    batched = getattr(engine, "batched", engine)
    if not hasattr(batched, "stats"):
        return
    while not stop.is_set():
        try:
            stats = await batched.stats()
            for key, gauge in ENGINE_GAUGES.items():
                gauge.set(float(stats.get(key, 0)))
            for model, size in (stats.get("models") or {}).items():
                MODEL_BYTES.labels(model=model).set(size)
            for size, per_row in (stats.get("per_row_bytes") or {}).items():
                ROW_BYTES.labels(size=size).set(per_row)
            record_occupancy_and_gpu(stats)
        except Exception as exc:  # noqa: BLE001 - figures only; the engine may be restarting
            log.debug("worker.engine_stats_failed", error=str(exc))
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass


def record_occupancy_and_gpu(stats: dict[str, Any]) -> None:
    """Batch occupancy, and the GPU's figures when the engine reports them (on a GPU)."""
    capacity = float(stats.get("max_rows") or 0)
    if capacity:
        BATCH_OCCUPANCY.set(float(stats.get("resident_rows") or 0) / capacity)
    device = str(stats.get("device") or "gpu")
    for key, value in (stats.get("gpu") or {}).items():
        if key == "utilization_ratio":
            GPU_UTILIZATION.labels(device=device).set(value)
        elif key.startswith("memory_") and key.endswith("_bytes"):
            GPU_MEMORY.labels(device=device, kind=key[len("memory_") : -len("_bytes")]).set(value)


async def _health_server(settings: WorkerSettings, ready: asyncio.Event) -> web.AppRunner:
    async def health(_request: web.Request) -> web.Response:
        if ready.is_set():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "starting the engine"}, status=503)

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", health)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    return runner


async def serve(settings: WorkerSettings, stop: asyncio.Event) -> None:
    ready = asyncio.Event()
    health = await _health_server(settings, ready)
    try:
        await _serve(settings, stop, ready)
    finally:
        await health.cleanup()


async def start_invokeai(settings: WorkerSettings) -> InvokeAIEngine:
    """An InvokeAI engine, started: at RENDER_WORKER_ENGINE_URL, or its own invokeai-web
    (stopped with it)."""
    process: EngineProcess | None = None
    if settings.engine_url:
        url = settings.engine_url
    else:
        process = EngineProcess(
            root_dir=settings.engine_root or settings.var_dir / "engine",
            python_or_bin=settings.engine_python or engine_python(),
            port=settings.engine_port or free_port(),
            device=settings.engine_device,
            precision=settings.engine_precision,
        )
        await process.start()
        url = process.base_url
    engine = InvokeAIEngine(base_url=url, models_dir=settings.models_dir, process=process)
    await engine.start()
    return engine


def batched_engine(settings: WorkerSettings) -> BatchedEngine:
    return BatchedEngine(
        settings.engine_python or engine_python(),
        settings.models_dir,
        root_dir=(settings.engine_root or settings.var_dir / "engine") / "batched",
        device=settings.engine_device,
        precision=settings.engine_precision,
        max_rows=settings.engine_rows,
        model_memory_mb=settings.engine_model_memory_mb,
        threads=settings.engine_threads,
        compile=settings.engine_compile,
    )


async def start_engine(settings: WorkerSettings) -> Any:
    """The engine RENDER_WORKER_ENGINE asks for, started."""
    if settings.engine == "invokeai":
        return await start_invokeai(settings)
    batched = batched_engine(settings)
    if settings.engine == "batched":
        await batched.start()
        return batched
    engine = AutoEngine(batched, lambda: start_invokeai(settings))
    await engine.start()
    return engine


async def _serve(settings: WorkerSettings, stop: asyncio.Event, ready: asyncio.Event) -> None:
    queue = WorkQueue(settings)
    engine: Any = None
    try:
        engine = await start_engine(settings)
        ready.set()
        metrics = asyncio.create_task(_engine_metrics(engine, stop))
        async with (
            RenderApi(settings.render_url, settings.worker_token_value()) as api,
            ImageStore(settings) as store,
        ):
            await Worker(settings, engine=engine, queue=queue, api=api, store=store).run(stop)
        metrics.cancel()
    finally:
        await queue.close()
        if engine is not None:
            await engine.close()


def main() -> None:
    settings = WorkerSettings()
    # in production: exit now unless RENDER_WORKER_WORKER_TOKEN is set and private
    settings.require_secrets()
    configure_logging("render-worker", level=settings.log_level, json=settings.log_json)
    telemetry.configure("render-worker")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
