"""`pingvas-render-worker`: a GPU worker (settings from RENDER_WORKER_* variables).

Starts and supervises its own InvokeAI engine unless RENDER_WORKER_ENGINE_URL names one,
then takes jobs until SIGTERM, which lets the jobs in hand finish first."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pingvas_kit.emulator import free_port
from pingvas_kit.logging import configure_logging, get_logger

from ..adapters.work_queue import WorkQueue
from ..engine import InvokeAIEngine
from ..engine.process import EngineProcess
from ..engine.testing import engine_python
from .render_api import RenderApi
from .runner import Worker
from .settings import WorkerSettings
from .storage import ImageStore

log = get_logger("pingvas.render.worker")


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


async def _serve(settings: WorkerSettings, stop: asyncio.Event, ready: asyncio.Event) -> None:
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
    engine = InvokeAIEngine(base_url=url, models_dir=settings.models_dir)
    queue = WorkQueue(settings)
    try:
        await engine.start()
        ready.set()
        async with (
            RenderApi(settings.render_url, settings.worker_token_value()) as api,
            ImageStore(settings) as store,
        ):
            await Worker(settings, engine=engine, queue=queue, api=api, store=store).run(stop)
    finally:
        await queue.close()
        await engine.close()
        if process is not None:
            await process.stop()


def main() -> None:
    settings = WorkerSettings()
    configure_logging("render-worker", level=settings.log_level, json=settings.log_json)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
