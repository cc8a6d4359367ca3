"""Helpers for tests (and the local run) that use the real engine.

- `ensure_tiny_model(models_dir)`: the tiny random-weight SD-1 model, built if missing.
- `running_engine(root_dir)`: an EngineProcess on a free port, stopped afterwards.

`engine_python()` lives in `engine/environment.py` (the worker uses it at runtime).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pingvas_kit.ports import free_port

from .environment import engine_python
from .process import EngineProcess

TINY_MODEL = "tiny-sd1"
# services/render/src/pingvas_render/engine/testing.py -> services/render
_RENDER_DIR = Path(__file__).resolve().parents[3]
BUILD_TINY_MODEL = _RENDER_DIR / "tools" / "build_tiny_model.py"
REPO_ROOT = _RENDER_DIR.parents[1]


def ensure_tiny_model(models_dir: str | os.PathLike[str]) -> Path:
    """<models_dir>/tiny-sd1, built with the engine's python if it is not there."""
    target = Path(models_dir).resolve() / TINY_MODEL
    if (target / "model_index.json").exists():
        return target
    result = subprocess.run(
        [str(engine_python()), str(BUILD_TINY_MODEL), str(target)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    if result.returncode != 0 or not (target / "model_index.json").exists():
        raise RuntimeError(
            f"building the tiny model failed:\n{result.stdout}\n{result.stderr[-4000:]}"
        )
    return target


@asynccontextmanager
async def running_engine(
    root_dir: str | os.PathLike[str], *, port: int | None = None, **kwargs: Any
) -> AsyncIterator[EngineProcess]:
    """An invokeai-web (CPU, float32) on a free loopback port, rooted in root_dir."""
    process = EngineProcess(root_dir, engine_python(), port or free_port(), **kwargs)
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
