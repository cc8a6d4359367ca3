"""The batched engine's wire format, shared by the worker (client.py) and the engine
process (server.py): one JSON object per line over a Unix socket; bytes (PNGs,
previews) travel as base64 strings. Standard library only."""

from __future__ import annotations

import json
from typing import Any

#: the longest line either side reads (a 2048x2048 PNG in base64 fits)
LIMIT = 64 * 2**20


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise ValueError("a message is a JSON object")
    return value
