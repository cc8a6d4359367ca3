"""deploy/'s fixtures live in deploy_support.py (importable by the test modules too:
pytest runs with --import-mode=importlib, which puts no test folder on sys.path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from deploy_support import checkov, node  # noqa: E402, F401
