"""The gateway's fixtures live in gateway_support.py (importable by the test modules too:
pytest runs with --import-mode=importlib, which puts no test folder on sys.path)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gateway_support import client, render, settings, tenants  # noqa: E402, F401
