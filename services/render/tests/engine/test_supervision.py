"""The engine process is supervised: killed, it comes back, and work goes on.
(Runs after test_generation.py: it restarts the session's engine.)"""

from __future__ import annotations

import asyncio

import pytest
from pingvas_render.engine.environment import EngineEnvironmentMissing, engine_python


@pytest.mark.asyncio(loop_scope="session")
async def test_a_killed_engine_is_restarted_and_the_next_job_succeeds(engine, engine_process, job):
    in_flight = await engine.submit(job(width=256, height=256, steps=150, seed=3))
    async with asyncio.timeout(60):
        async for ev in engine.events(in_flight):
            if ev.kind == "progress":
                break
    old_pid = engine_process.pid
    await engine_process.kill()

    # the item that was running ends (it never hangs), as a failure to retry
    async with asyncio.timeout(120):
        last = [ev async for ev in engine.events(in_flight)][-1]
    assert last.kind == "failed" and last.error

    await engine_process.wait_ready(timeout=120)
    assert engine_process.restarts == 1
    assert engine_process.pid != old_pid

    handle = await engine.submit(job(seed=4))
    async with asyncio.timeout(120):
        kinds = [ev.kind async for ev in engine.events(handle)]
    assert kinds[-1] == "completed"
    assert len(await engine.images(handle)) == 1


def test_a_missing_engine_environment_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.delenv("PINGVAS_ENGINE_PYTHON", raising=False)
    monkeypatch.setenv("PINGVAS_ENGINE_HOME", str(tmp_path / "nothing-here"))
    with pytest.raises(EngineEnvironmentMissing, match="scripts/engine-env"):
        engine_python()
