"""Generation with the real invokeai-web and the tiny SD-1 model."""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from PIL import Image
from pingvas_render.engine import Engine, EngineError, EngineEvent
from pingvas_render.engine.invokeai import InvokeAIEngine

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def collect(
    engine: InvokeAIEngine, handle: str, timeout: float = 120
) -> list[tuple[float, EngineEvent]]:
    async def run() -> list[tuple[float, EngineEvent]]:
        return [(time.monotonic(), ev) async for ev in engine.events(handle)]

    return await asyncio.wait_for(run(), timeout)


async def test_a_generation_gives_a_png_of_the_requested_size(engine, job):
    assert isinstance(engine, Engine)
    handle = await engine.submit(job(width=96, height=64))
    events = [ev for _, ev in await collect(engine, handle)]
    assert events[-1].kind == "completed", events[-1]

    images = await engine.images(handle)
    assert len(images) == 1
    png = Image.open(io.BytesIO(images[0]))
    assert png.format == "PNG"
    assert png.size == (96, 64)
    png.load()  # the whole file decodes


async def test_progress_arrives_in_order_and_ends_with_completion(engine, job):
    handle = await engine.submit(job(steps=6, seed=7))
    events = [ev for _, ev in await collect(engine, handle)]
    kinds = [ev.kind for ev in events]

    assert kinds[0] == "queued"
    assert kinds[1] == "started"
    assert kinds[-1] == "completed" and events[-1].progress == 1.0
    assert kinds.count("completed") == 1
    progress = [ev for ev in events if ev.kind == "progress"]
    assert len(progress) >= 3, kinds
    assert set(kinds[2:-1]) == {"progress"}
    values = [ev.progress for ev in progress]
    assert values == sorted(values) and 0.0 <= values[0] and values[-1] <= 1.0
    assert values[-1] >= 0.8
    previews = [ev.preview for ev in progress if ev.preview]
    assert previews and all(p.startswith("data:image/") and ";base64," in p for p in previews)


async def test_back_to_back_items_are_queued_in_the_engine_and_both_complete(engine, job):
    # submitted together: the second waits in the engine's queue while the first denoises
    first = await engine.submit(job(width=128, height=128, steps=12, seed=1))
    second = await engine.submit(job(width=128, height=128, steps=12, seed=2))
    async with asyncio.timeout(60):
        async for ev in engine.events(first):
            if ev.kind == "progress":
                break
    assert await engine.status(first) == "started"
    assert await engine.status(second) == "queued"  # waiting in the engine, not in the worker
    a, b = await asyncio.gather(collect(engine, first), collect(engine, second))

    assert a[-1][1].kind == "completed" and b[-1][1].kind == "completed"
    first_done = a[-1][0]
    second_started = next(t for t, ev in b if ev.kind == "started")
    second_progress = next(t for t, ev in b if ev.kind == "progress")
    assert second_progress >= first_done - 0.05  # one item at a time, in order
    assert second_started >= next(t for t, ev in a if ev.kind == "started")
    one, two = await engine.images(first), await engine.images(second)
    assert Image.open(io.BytesIO(one[0])).size == (128, 128)
    assert one[0] != two[0]  # different seeds, different pictures


async def test_cancel_mid_denoise_stops_quickly_without_an_image(engine, job):
    handle = await engine.submit(job(width=256, height=256, steps=150, seed=5))
    events: list[EngineEvent] = []
    cancelled_at = None
    async with asyncio.timeout(120):
        async for ev in engine.events(handle):
            events.append(ev)
            if ev.kind == "progress" and ev.progress > 0 and cancelled_at is None:
                cancelled_at = time.monotonic()
                await engine.cancel(handle)
    ended = time.monotonic()

    assert cancelled_at is not None, [e.kind for e in events]
    assert events[-1].kind == "cancelled", events[-1]
    assert "completed" not in [e.kind for e in events]
    assert events[-1].progress < 1.0
    assert ended - cancelled_at < 5.0
    with pytest.raises(EngineError):
        await engine.images(handle)


async def test_a_queued_item_can_be_cancelled_before_it_starts(engine, job):
    running = await engine.submit(job(width=128, height=128, steps=20, seed=11))
    waiting = await engine.submit(job(seed=12))
    await engine.cancel(waiting)
    b = [ev.kind for _, ev in await collect(engine, waiting)]
    a = [ev.kind for _, ev in await collect(engine, running)]
    assert b == ["queued", "cancelled"]
    assert a[-1] == "completed"


async def test_events_still_end_without_the_socket(engine_process, models_dir, tiny_model, job):
    # a second client whose socket is gone: polling alone must carry the item to its end
    other = InvokeAIEngine(engine_process.base_url, models_dir, poll_interval=0.5)
    await other.start()
    try:
        for _ in range(50):
            if other.socket_connected:
                break
            await asyncio.sleep(0.1)
        other._socket_task.cancel()
        await other._sio.disconnect()
        assert not other.socket_connected
        handle = await other.submit(job(seed=21))
        kinds = [ev.kind for _, ev in await collect(other, handle, timeout=60)]
        assert kinds[0] == "queued" and kinds[-1] == "completed"
        assert len(await other.images(handle)) == 1
    finally:
        await other.close()


async def test_an_installed_model_is_reused(engine_process, engine, models_dir, tiny_model):
    other = InvokeAIEngine(engine_process.base_url, models_dir)
    await other.start()
    try:
        again = await other.installed_model(tiny_model)
        assert again == await engine.installed_model(tiny_model)
        listing = await other._call("GET", "/api/v2/models/", params={"model_type": "main"})
        assert [m["name"] for m in listing["models"]] == ["tiny-sd1"]
    finally:
        await other.close()
