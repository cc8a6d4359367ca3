"""The batched engine with the tiny SD-1 model on the CPU (float32): the same picture alone
or in a batch, the same picture as InvokeAI, rows joining a running batch, a cancelled or
broken row leaving the others untouched, and a crashed engine process coming back.

Tolerances: "the same picture" means no pixel channel differs by more than 1 of 255
(measured here: 0, the PNGs decode to identical pixels)."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import replace

import numpy as np
import pytest
import pytest_asyncio
from PIL import Image
from pingvas_render.engine import Engine, EngineEvent
from pingvas_render.engine.batched.auto import AutoEngine
from pingvas_render.engine.batched.client import BatchedEngine
from pingvas_render.engine.batched.limits import batches
from prometheus_client import REGISTRY

pytestmark = pytest.mark.asyncio(loop_scope="session")

#: the most any pixel channel may differ for two renders to count as the same picture
SAME = 1


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def batched(engine_python_path, models_dir, tiny_model, tmp_path_factory):
    eng = BatchedEngine(
        engine_python_path, models_dir, root_dir=tmp_path_factory.mktemp("batched"), max_rows=8
    )
    await eng.start()
    await eng.ensure_model(tiny_model)
    yield eng
    await eng.close()


async def run(engine, handle: str, timeout: float = 180) -> list[tuple[float, EngineEvent]]:
    async def follow() -> list[tuple[float, EngineEvent]]:
        return [(time.monotonic(), ev) async for ev in engine.events(handle)]

    return await asyncio.wait_for(follow(), timeout)


async def pixels(engine, handle: str) -> np.ndarray:
    events = await run(engine, handle)
    assert events[-1][1].kind == "completed", events[-1]
    [png] = await engine.images(handle)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB")).astype(int)


def differs(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a - b).max())


async def test_a_row_gives_the_same_picture_alone_and_in_a_batch_of_eight(batched, job):
    assert isinstance(batched, Engine)
    mine = job(prompt="a (red)1.3 fox in snow", seed=4242, cfg_scale=7.5, steps=6)
    alone = await pixels(batched, await batched.submit(mine))

    others = [
        job(prompt=f"other prompt {i}, (blue)0.8 sky", seed=100 + i, cfg_scale=2.0 + i, steps=6)
        for i in range(7)
    ]
    handles = [
        await batched.submit(j) for j in [others[0], others[1], others[2], mine, *others[3:]]
    ]
    results = [await pixels(batched, h) for h in handles]
    in_batch = results[3]
    assert differs(alone, in_batch) <= SAME
    # the others really are other pictures (the batch did not copy one row into all)
    assert all(differs(in_batch, r) > 10 for i, r in enumerate(results) if i != 3)
    stats = await batched.stats()
    assert stats["peak_rows"] >= 8


@pytest.mark.parametrize("scheduler", ["euler", "euler_a", "dpmpp_2m_k", "lms", "heun"])
async def test_the_batched_engine_draws_the_same_picture_as_invokeai(
    batched, engine, job, scheduler
):
    request = job(prompt="a (cat)1.3 on a [blue] sofa", seed=77, scheduler=scheduler, steps=6)
    ours = await pixels(batched, await batched.submit(request))
    theirs = await pixels(engine, await engine.submit(request))
    largest = differs(ours, theirs)
    print(f"largest pixel difference, {scheduler}: {largest}")
    assert largest <= SAME


async def test_a_row_submitted_mid_batch_starts_before_the_running_rows_finish(batched, job):
    long = [job(prompt=f"a long render {i}", seed=i, steps=40) for i in range(3)]
    handles = [await batched.submit(j) for j in long]
    runs = [asyncio.create_task(run(batched, h)) for h in handles]
    # wait until the batch is well under way
    first = batched._item(handles[0])
    while not any(e.kind == "progress" and e.progress >= 0.2 for e in first.events):  # noqa: ASYNC110  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    newcomer = await batched.submit(job(prompt="a newcomer", seed=9, steps=40))
    joined = await run(batched, newcomer)
    finished = [await task for task in runs]

    first_progress = next(t for t, e in joined if e.kind == "progress")
    running_done = min(events[-1][0] for events in finished)
    assert all(events[-1][1].kind == "completed" for events in finished)
    assert first_progress < running_done


async def test_cancel_mid_denoise_frees_the_row_and_leaves_the_others_unchanged(batched, job):
    keep = [job(prompt=f"keep me {i}", seed=300 + i, steps=30) for i in range(2)]
    drop = job(prompt="cancel me", seed=399, steps=30)
    reference = [await pixels(batched, await batched.submit(j)) for j in keep]

    handles = [await batched.submit(j) for j in (keep[0], drop, keep[1])]
    dropped = batched._item(handles[1])
    while not any(e.kind == "progress" for e in dropped.events):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    await batched.cancel(handles[1])
    events = await run(batched, handles[1])
    assert events[-1][1].kind == "cancelled"
    assert 0 < events[-1][1].progress < 1
    assert differs(await pixels(batched, handles[0]), reference[0]) <= SAME
    assert differs(await pixels(batched, handles[2]), reference[1]) <= SAME
    # the freed row takes new work at once
    assert (await pixels(batched, await batched.submit(job(seed=5)))).shape == (64, 64, 3)


async def test_a_row_that_goes_numerically_unstable_fails_alone(batched, job):
    broken = job(prompt="overflow", seed=1, cfg_scale=1e38)
    fine = job(prompt="fine", seed=2)
    handles = [await batched.submit(broken), await batched.submit(fine)]
    events = await run(batched, handles[0])
    assert events[-1][1].kind == "failed"
    assert "unstable" in (events[-1][1].error or "")
    assert batched.failure_code(handles[0]) == "numerical"
    assert (await pixels(batched, handles[1])).shape == (64, 64, 3)


async def test_auto_sends_what_the_batched_engine_cannot_render_to_invokeai(
    batched, engine, job, tiny_model
):
    auto = AutoEngine(batched, lambda: _ready(engine))
    await auto.ensure_model(tiny_model)
    assert not batches("ddim")
    batchable, other = job(seed=11), job(seed=11, scheduler="ddim")
    assert auto.engine_for(batchable) == "batched"
    assert auto.engine_for(other) == "invokeai"
    handles = [await auto.submit(batchable), await auto.submit(other)]
    assert handles[0].startswith("b:") and handles[1].startswith("i:")
    for handle in handles:
        events = [e async for e in auto.events(handle)]
        assert events[-1].kind == "completed", events[-1]
        assert len(await auto.images(handle)) == 1
    # a model the batched engine cannot load (not a folder here) is InvokeAI's
    hub = replace(tiny_model, key="hub-model", source="some-org/some-model")
    with pytest.raises(Exception):  # noqa: B017 - InvokeAI cannot download it either (offline)
        await auto.ensure_model(hub)
    assert auto.engine_for(job(model=hub)) == "invokeai"


async def _ready(engine):
    return engine


async def test_a_crashed_engine_process_fails_its_rows_retryably_and_comes_back(
    engine_python_path, models_dir, tiny_model, tmp_path, job
):
    def restarts() -> float:
        labels = {"engine": "batched"}
        return REGISTRY.get_sample_value("pingvas_render_engine_restarts_total", labels) or 0.0

    eng = BatchedEngine(engine_python_path, models_dir, root_dir=tmp_path / "b", max_rows=4)
    restarted_before = restarts()
    await eng.start()
    try:
        await eng.ensure_model(tiny_model)
        handle = await eng.submit(job(steps=200, seed=3))
        item = eng._item(handle)
        while not any(e.kind == "progress" for e in item.events):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await eng.kill()
        events = await run(eng, handle, timeout=30)
        assert events[-1][1].kind == "failed"
        assert eng.failure_code(handle) == "engine_lost"
        # the supervisor restarts it; the model loads again on the next ensure_model
        deadline = time.monotonic() + 120
        while eng.restarts < 1 or not eng._ready.is_set():
            assert time.monotonic() < deadline, "the engine did not come back"
            await asyncio.sleep(0.2)
        await eng.ensure_model(tiny_model)
        assert (await pixels(eng, await eng.submit(job(seed=3)))).shape == (64, 64, 3)
        assert restarts() - restarted_before == eng.restarts >= 1  # the alert's counter
        assert (await eng.stats())["gpu"] == {}  # on the CPU: no GPU figures, none made up
    finally:
        await eng.close()
