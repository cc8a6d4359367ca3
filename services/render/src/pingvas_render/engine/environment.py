"""The InvokeAI environment the engine runs in: `engine_python()` finds the python that
scripts/engine-env installs (the worker starts its engine with it, the tests and the
bench too), and fails with how to install it when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

ENGINE_VERSION = "6.14.2"
DEFAULT_ENGINE_HOME = (
    Path.home() / ".cache" / "pingvas" / "engine" / f"invokeai-{ENGINE_VERSION}-py311"
)
MARKER = ".pingvas-engine-complete"


class EngineEnvironmentMissing(RuntimeError):
    pass


def engine_python() -> Path:
    """PINGVAS_ENGINE_PYTHON, or the python of the environment scripts/engine-env installs
    (PINGVAS_ENGINE_HOME or ~/.cache/pingvas/engine/invokeai-6.14.2-py311)."""
    explicit = os.environ.get("PINGVAS_ENGINE_PYTHON")
    if explicit:
        python = Path(explicit)
        if not python.exists():
            raise EngineEnvironmentMissing(
                f"PINGVAS_ENGINE_PYTHON={explicit} does not exist; run scripts/engine-env "
                "to install InvokeAI and point it at the python it prints"
            )
        return python
    home = Path(os.environ.get("PINGVAS_ENGINE_HOME") or DEFAULT_ENGINE_HOME)
    python = home / "bin" / "python"
    if not (home / MARKER).exists() or not python.exists():
        raise EngineEnvironmentMissing(
            f"no complete InvokeAI {ENGINE_VERSION} environment at {home}: run scripts/engine-env "
            "(it installs it, about 3 minutes, and builds the tiny test model)"
        )
    return python
