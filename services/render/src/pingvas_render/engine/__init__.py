"""The engine a GPU worker drives: `Engine` (the interface, docs/render.md "The engine
interface"), its job and event types and errors. `InvokeAIEngine` (engine/invokeai.py)
implements it over invokeai-web's REST API and socket.io; `EngineProcess`
(engine/process.py) starts and supervises an invokeai-web process.

Only the standard library and the catalog are imported here, so the worker can import
the types without aiohttp or socket.io being loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from pingvas_render.catalog import CatalogModel

if TYPE_CHECKING:
    from .invokeai import InvokeAIEngine
    from .process import EngineProcess

__all__ = [
    "TERMINAL_KINDS",
    "Engine",
    "EngineError",
    "EngineEvent",
    "EngineEventKind",
    "EngineJob",
    "EngineProcess",
    "EngineStartError",
    "EngineUnavailable",
    "InvokeAIEngine",
    "ModelInstallError",
    "UnknownHandle",
]

EngineEventKind = Literal["queued", "started", "progress", "completed", "failed", "cancelled"]
TERMINAL_KINDS: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class EngineJob:
    """One image's worth of work. A job of n images submits n of these (seed, seed+1, …)."""

    prompt: str
    model: CatalogModel
    width: int
    height: int
    steps: int
    cfg_scale: float
    scheduler: str
    seed: int
    negative_prompt: str = ""


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """What happened to one submitted item. `progress` is 0..1 (1.0 on `completed`);
    `preview` is a `data:image/...;base64,` URL or None; `error` is set on `failed`."""

    kind: EngineEventKind
    progress: float = 0.0
    preview: str | None = None
    error: str | None = None

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL_KINDS


class EngineError(Exception):
    """Something the engine could not do. `retryable`: whether running the same job again
    (on this or another worker) may succeed."""

    retryable: bool = False


class EngineUnavailable(EngineError):
    """The engine did not answer (down, restarting) within the time allowed."""

    retryable = True


class EngineStartError(EngineUnavailable):
    """invokeai-web did not start or did not become ready."""


class ModelInstallError(EngineError):
    """A catalog model could not be installed into the engine (missing weights, wrong base)."""


class UnknownHandle(EngineError, KeyError):
    """A handle this engine did not give out (or has forgotten)."""


@runtime_checkable
class Engine(Protocol):
    async def start(self) -> None: ...  # start/supervise or connect

    async def close(self) -> None: ...

    async def ensure_model(self, model: CatalogModel) -> None: ...  # install on first use

    async def submit(self, job: EngineJob) -> str: ...  # a handle; queued in the engine

    def events(self, handle: str) -> AsyncIterator[EngineEvent]: ...  # .. done|failed|cancelled

    async def images(self, handle: str) -> list[bytes]: ...  # PNGs, in order

    async def cancel(self, handle: str) -> None: ...


def __getattr__(name: str):  # the implementations load aiohttp/socket.io only when asked for
    if name == "InvokeAIEngine":
        from .invokeai import InvokeAIEngine

        return InvokeAIEngine
    if name == "EngineProcess":
        from .process import EngineProcess

        return EngineProcess
    raise AttributeError(name)
