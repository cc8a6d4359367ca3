"""Shared fixtures: a throw-away copy of the contracts directory (tests never touch the
committed schemas, released schemas or catalog)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pingvas_contracts.schemagen import default_root

ROOT = default_root()


@pytest.fixture
def contracts_copy(tmp_path: Path) -> Path:
    """A copy of contracts/{schemas,released,CATALOG.md} under tmp_path."""
    root = tmp_path / "contracts"
    root.mkdir()
    for name in ("schemas", "released"):
        shutil.copytree(ROOT / name, root / name)
    if (ROOT / "CATALOG.md").exists():
        shutil.copyfile(ROOT / "CATALOG.md", root / "CATALOG.md")
    return root
