"""models.py is what datamodel-code-generator makes of docs/api/openapi.json today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_models.py"


def test_the_committed_models_are_generated_from_the_current_openapi():
    spec = importlib.util.spec_from_file_location("generate_models", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OPENAPI.exists()
    fresh = module.generate()
    assert "class JobOut(BaseModel)" in fresh
    assert module.MODELS.read_text() == fresh, (
        "clients/python/src/pingvas_client/models.py is stale against docs/api/openapi.json: "
        "run `.venv/bin/python clients/python/scripts/generate_models.py` and commit it"
    )
