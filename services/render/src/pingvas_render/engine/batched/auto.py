"""`AutoEngine`: each job to the batched engine where it can go, to InvokeAI otherwise.

A job goes to InvokeAI when the batched engine cannot load its model (an SDXL model, a
hub id or single checkpoint InvokeAI installs and converts) or does not batch its
scheduler; it never fails for that. InvokeAI is started the first time a job needs it,
so a worker whose jobs all batch never pays for a second engine. Handles are prefixed
with the engine that gave them out (`b:` or `i:`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pingvas_render.catalog import CatalogModel

from .. import EngineEvent, EngineJob, UnknownHandle
from .client import BatchedEngine, ModelUnsupported
from .limits import SUPPORTED_BASES, batches

log = logging.getLogger("pingvas_render.engine.auto")


class AutoEngine:
    def __init__(
        self,
        batched: BatchedEngine,
        invokeai: Callable[[], Awaitable[Any]],
    ) -> None:
        """`invokeai`: starts and returns an InvokeAI engine (called at most once)."""
        self.batched = batched
        self._invokeai_factory = invokeai
        self._invokeai: Any = None
        self._invokeai_lock = asyncio.Lock()
        self._routes: dict[str, str] = {}
        self.routed = {"batched": 0, "invokeai": 0}

    @property
    def capacity(self) -> int:
        return self.batched.capacity

    async def start(self) -> None:
        await self.batched.start()

    async def close(self) -> None:
        await self.batched.close()
        if self._invokeai is not None:
            await self._invokeai.close()

    async def invokeai(self) -> Any:
        async with self._invokeai_lock:
            if self._invokeai is None:
                log.info("engine.auto_starting_invokeai")
                self._invokeai = await self._invokeai_factory()
            return self._invokeai

    async def ensure_model(self, model: CatalogModel) -> None:
        if model.base in SUPPORTED_BASES:
            try:
                await self.batched.ensure_model(model)
                self._routes[model.key] = "b"
                return
            except ModelUnsupported as exc:
                log.info("engine.auto_model_to_invokeai key=%s reason=%s", model.key, exc)
        self._routes[model.key] = "i"
        await (await self.invokeai()).ensure_model(model)

    def engine_for(self, job: EngineJob) -> str:
        """'batched' or 'invokeai' for this job."""
        if self._routes.get(job.model.key) == "b" and batches(job.scheduler):
            return "batched"
        return "invokeai"

    async def submit(self, job: EngineJob) -> str:
        if job.model.key not in self._routes:
            await self.ensure_model(job.model)
        which = self.engine_for(job)
        self.routed[which] += 1
        if which == "batched":
            return "b:" + await self.batched.submit(job)
        engine = await self.invokeai()
        await engine.ensure_model(job.model)
        return "i:" + await engine.submit(job)

    def _split(self, handle: str) -> tuple[Any, str]:
        prefix, _, inner = handle.partition(":")
        if prefix == "b":
            return self.batched, inner
        if prefix == "i" and self._invokeai is not None:
            return self._invokeai, inner
        raise UnknownHandle(handle)

    async def events(self, handle: str) -> AsyncIterator[EngineEvent]:
        engine, inner = self._split(handle)
        async for event in engine.events(inner):
            yield event

    async def images(self, handle: str) -> list[bytes]:
        engine, inner = self._split(handle)
        return await engine.images(inner)

    async def cancel(self, handle: str) -> None:
        engine, inner = self._split(handle)
        await engine.cancel(inner)

    def failure_code(self, handle: str) -> str | None:
        engine, inner = self._split(handle)
        getter = getattr(engine, "failure_code", None)
        return getter(inner) if getter is not None else None
