"""The batched engine: compatible rows of any tenants denoised together in one GPU pass,
rows joining and leaving at step boundaries (docs/render.md, "The batched engine").

- `core.py` and `server.py` run in the engine environment (torch, diffusers, InvokeAI),
  in a process of their own that the worker starts;
- `client.py` (`BatchedEngine`) is the `Engine` the worker drives over a Unix socket;
- `auto.py` (`AutoEngine`) sends each job to the batched engine where it can and to
  InvokeAI for everything else;
- `wire.py` is the line format both sides speak.

Importing this package loads neither torch nor aiohttp."""

from __future__ import annotations

from typing import Any

__all__ = ["AutoEngine", "BatchedEngine"]


def __getattr__(name: str) -> Any:
    if name == "BatchedEngine":
        from .client import BatchedEngine

        return BatchedEngine
    if name == "AutoEngine":
        from .auto import AutoEngine

        return AutoEngine
    raise AttributeError(name)
