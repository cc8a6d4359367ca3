"""The real engine for these tests: one invokeai-web (CPU, float32) per session, with the
tiny random-weight SD-1 model installed. A missing engine environment fails the tests
with what to run (scripts/engine-env); it never skips them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pingvas_render.catalog import CatalogModel, load_catalog
from pingvas_render.engine import EngineJob
from pingvas_render.engine.environment import EngineEnvironmentMissing, engine_python
from pingvas_render.engine.invokeai import InvokeAIEngine
from pingvas_render.engine.process import EngineProcess
from pingvas_render.engine.testing import REPO_ROOT, ensure_tiny_model, running_engine


@pytest.fixture(scope="session")
def engine_python_path() -> Path:
    try:
        return engine_python()
    except EngineEnvironmentMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def models_dir(engine_python_path: Path) -> Path:
    models = REPO_ROOT / "var" / "models"
    ensure_tiny_model(models)
    return models


@pytest.fixture(scope="session")
def tiny_model() -> CatalogModel:
    model = load_catalog().get("tiny-sd1")
    assert model is not None
    return model


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine_process(
    engine_python_path: Path, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EngineProcess]:
    async with running_engine(tmp_path_factory.mktemp("invokeai-root")) as process:
        yield process


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(
    engine_process: EngineProcess, models_dir: Path, tiny_model: CatalogModel
) -> AsyncIterator[InvokeAIEngine]:
    eng = InvokeAIEngine(
        engine_process.base_url, models_dir, process=engine_process, poll_interval=1.0
    )
    await eng.start()
    await eng.ensure_model(tiny_model)
    yield eng
    await eng.close()


@pytest.fixture
def job(tiny_model: CatalogModel):
    def make(**overrides) -> EngineJob:
        spec = dict(
            prompt="a red cat on a blue sofa",
            negative_prompt="blurry",
            model=tiny_model,
            width=64,
            height=64,
            steps=4,
            cfg_scale=7.5,
            scheduler="euler",
            seed=123,
        )
        spec.update(overrides)
        return EngineJob(**spec)

    return make
