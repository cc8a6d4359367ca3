"""`InvokeAIEngine`: the Engine interface over invokeai-web's REST API and socket.io.

One socket.io connection per engine carries every item's events (`queue_item_status_changed`,
`invocation_progress`); they are demultiplexed per queue item into that item's event log,
which `events(handle)` replays and then follows. Whenever an item has been quiet for
`poll_interval` seconds (and right after the socket reconnects) its status is read over
REST, so an event lost while the socket was down can never leave a job hanging.

Handles are the engine's queue item ids, as strings. Items are queued in the engine as
soon as `submit` returns, so a worker that submits the next image while one denoises keeps
the engine busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as _json
import logging
import os
import time
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import socketio

from pingvas_render.catalog import CatalogModel

from . import (
    EngineError,
    EngineEvent,
    EngineJob,
    EngineUnavailable,
    ModelInstallError,
    UnknownHandle,
)
from .graph import DENOISE_NODE, OUTPUT_NODE, InstalledModel, text_to_image_graph
from .process import EngineProcess

log = logging.getLogger("pingvas_render.engine.invokeai")

_RANK = {"pending": 0, "waiting": 0, "in_progress": 1, "completed": 2, "failed": 2, "canceled": 2}
_MAX_ITEMS = 2000  # handles remembered; the oldest finished ones are forgotten first
_MAX_ORPHANS = 256  # events for items whose submit() has not returned yet


class _Item:
    """One queue item's event log and state machine: queued → started → progress* → end."""

    def __init__(self, item_id: int) -> None:
        self.item_id = item_id
        self.events: list[EngineEvent] = [EngineEvent("queued")]
        self.rank = 0
        self.progress = 0.0
        self.cancel_requested = False
        self.last_activity = time.monotonic()
        self._wake = asyncio.Event()

    @property
    def done(self) -> bool:
        return self.rank == 2

    @property
    def state(self) -> str:
        return self.events[-1].kind if self.done else ("started" if self.rank == 1 else "queued")

    def _emit(self, event: EngineEvent) -> None:
        self.events.append(event)
        self.last_activity = time.monotonic()
        self._wake.set()
        self._wake = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        wake = self._wake
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout)

    def apply_status(self, status: str, error: str | None = None) -> None:
        self.last_activity = time.monotonic()
        rank = _RANK.get(status)
        if rank is None or rank <= self.rank or self.done:
            return
        # an item cancelled (or dropped) while still queued never started
        if self.rank == 0 and (rank == 1 or status == "completed"):
            self.rank = 1
            self._emit(EngineEvent("started", progress=0.0))
        if rank == 2:
            self.rank = 2
            if status == "completed":
                self._emit(EngineEvent("completed", progress=1.0))
            elif status == "failed":
                self._emit(
                    EngineEvent(
                        "failed", progress=self.progress, error=error or "the engine failed"
                    )
                )
            elif self.cancel_requested:
                self._emit(EngineEvent("cancelled", progress=self.progress))
            else:
                self._emit(
                    EngineEvent(
                        "failed",
                        progress=self.progress,
                        error="the engine dropped the item (it restarted or its queue was cleared)",
                    )
                )

    def apply_progress(self, fraction: float, preview: str | None) -> None:
        self.last_activity = time.monotonic()
        if self.done:
            return
        if self.rank == 0:
            self.apply_status("in_progress")
        fraction = min(1.0, max(0.0, fraction))
        if fraction < self.progress or (fraction == self.progress and preview is None):
            return
        self.progress = fraction
        self._emit(EngineEvent("progress", progress=fraction, preview=preview))


def _error_text(data: dict[str, Any]) -> str | None:
    kind, message = data.get("error_type"), data.get("error_message")
    if kind or message:
        return f"{kind or 'Error'}: {message or ''}".strip()
    return None


class InvokeAIEngine:
    """Drives one invokeai-web. Give it `base_url` of a running engine, or `process` (an
    EngineProcess it then starts, supervises and stops with itself)."""

    def __init__(
        self,
        base_url: str | None = None,
        models_dir: str | os.PathLike[str] | None = None,
        *,
        process: EngineProcess | None = None,
        queue_id: str = "default",
        poll_interval: float = 2.0,
        request_timeout: float = 60.0,
        unavailable_timeout: float = 180.0,
        install_timeout: float = 3600.0,
        keep_images: bool = False,
    ) -> None:
        if base_url is None and process is None:
            raise ValueError("InvokeAIEngine needs base_url or process")
        self.base_url = (base_url or process.base_url).rstrip("/")  # type: ignore[union-attr]
        self.models_dir = os.fspath(models_dir) if models_dir is not None else None
        self.process = process
        self.queue_id = queue_id
        self.poll_interval = poll_interval
        self.request_timeout = request_timeout
        self.unavailable_timeout = unavailable_timeout
        self.install_timeout = install_timeout
        self.keep_images = keep_images
        self._http: aiohttp.ClientSession | None = None
        self._sio: socketio.AsyncClient | None = None
        self._socket_task: asyncio.Task[None] | None = None
        self._items: OrderedDict[int, _Item] = OrderedDict()
        self._orphans: OrderedDict[int, list[tuple[str, dict[str, Any]]]] = OrderedDict()
        self._models: dict[str, InstalledModel] = {}
        self._model_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle

    async def start(self) -> None:
        if self._http is not None:
            return
        if self.process is not None:
            await self.process.start()
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.request_timeout)
        )
        await self._call("GET", "/api/v1/app/version")
        self._sio = socketio.AsyncClient(
            reconnection=True,
            reconnection_attempts=0,
            reconnection_delay=0.5,
            reconnection_delay_max=5,
        )
        self._sio.on("connect", self._on_connect)
        self._sio.on("queue_item_status_changed", self._on_status)
        self._sio.on("invocation_progress", self._on_progress)
        self._socket_task = asyncio.create_task(self._keep_socket(), name="invokeai-socket")

    async def close(self) -> None:
        if self._socket_task is not None:
            self._socket_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._socket_task
            self._socket_task = None
        if self._sio is not None:
            with contextlib.suppress(Exception):
                await self._sio.disconnect()
            self._sio = None
        for task in list(self._tasks):
            task.cancel()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.process is not None:
            await self.process.stop()

    async def __aenter__(self) -> InvokeAIEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def socket_connected(self) -> bool:
        return self._sio is not None and self._sio.connected

    # -- models

    async def ensure_model(self, model: CatalogModel) -> None:
        await self.installed_model(model)

    async def installed_model(self, model: CatalogModel) -> InstalledModel:
        """The engine's record of a catalog model, installing it on first use."""
        if (found := self._models.get(model.key)) is not None:
            return found
        async with self._model_locks[model.key]:
            if (found := self._models.get(model.key)) is not None:
                return found
            if "{models_dir}" in model.source and self.models_dir is None:
                raise ModelInstallError(
                    f"model {model.key!r} needs models_dir (its source is {model.source!r})"
                )
            source = model.resolved_source(self.models_dir or "")
            found = await self._find_model(model, source)
            if found is None:
                started = time.monotonic()
                found = await self._install(model, source)
                log.info(
                    "engine.model_installed key=%s in %.1fs", model.key, time.monotonic() - started
                )
            if found.base != model.base:
                raise ModelInstallError(
                    f"model {model.key!r} at {source!r} is {found.base!r} in the engine, the catalog says {model.base!r}"
                )
            self._models[model.key] = found
            return found

    async def _find_model(self, model: CatalogModel, source: str) -> InstalledModel | None:
        listing = await self._call("GET", "/api/v2/models/", params={"model_type": "main"})
        models = listing.get("models", [])
        by_source = [m for m in models if source in (m.get("source"), m.get("path"))]
        by_name = [m for m in models if m.get("name") == model.key and m.get("base") == model.base]
        for m in by_source + by_name:
            return InstalledModel(
                key=m["key"], hash=m["hash"], name=m["name"], base=m["base"], type=m["type"]
            )
        return None

    async def _install(self, model: CatalogModel, source: str) -> InstalledModel:
        job = await self._call(
            "POST",
            "/api/v2/models/install",
            params={"source": source, "inplace": "true"},
            json={"name": model.key},
            expect=(200, 201),
        )
        deadline = time.monotonic() + self.install_timeout
        while job.get("status") not in ("completed", "error", "cancelled"):
            if time.monotonic() > deadline:
                raise ModelInstallError(
                    f"installing {model.key!r} from {source!r} took over {self.install_timeout:.0f}s"
                )
            await asyncio.sleep(0.25)
            job = await self._call("GET", f"/api/v2/models/install/{job['id']}")
        if job["status"] == "completed" and job.get("config_out"):
            c = job["config_out"]
            return InstalledModel(
                key=c["key"], hash=c["hash"], name=c["name"], base=c["base"], type=c["type"]
            )
        # someone else installed it meanwhile (a duplicate is an error to the engine)
        if (found := await self._find_model(model, source)) is not None:
            return found
        reason = job.get("error_reason") or job.get("error") or job["status"]
        raise ModelInstallError(f"installing {model.key!r} from {source!r} failed: {reason}")

    # -- jobs

    async def submit(self, job: EngineJob) -> str:
        if job.width % 8 or job.height % 8 or job.width <= 0 or job.height <= 0:
            raise EngineError(
                f"width and height must be positive multiples of 8, not {job.width}x{job.height}"
            )
        model = await self.installed_model(job.model)
        graph = text_to_image_graph(job, model)
        body = {"batch": {"graph": graph, "runs": 1, "origin": "pingvas"}, "prepend": False}
        result = await self._call(
            "POST", f"/api/v1/queue/{self.queue_id}/enqueue_batch", json=body, expect=(200, 201)
        )
        item_id = int(result["item_ids"][0])
        item = self._track(item_id)
        for kind, data in self._orphans.pop(item_id, []):
            self._dispatch(item, kind, data)
        return str(item_id)

    async def events(self, handle: str) -> AsyncIterator[EngineEvent]:
        """The item's events from `queued` on, ending with completed, failed or cancelled."""
        item = self._item(handle)
        seen = 0
        while True:
            while seen < len(item.events):
                event = item.events[seen]
                seen += 1
                yield event
                if event.terminal:
                    return
            quiet = time.monotonic() - item.last_activity
            if quiet >= self.poll_interval or not self.socket_connected:
                await self._poll(item)
                if seen < len(item.events):
                    continue
                await item.wait(self.poll_interval if self.socket_connected else 0.5)
            else:
                await item.wait(self.poll_interval - quiet)

    async def images(self, handle: str) -> list[bytes]:
        """The finished item's PNGs. Unless keep_images, they are then deleted from the
        engine (it is a worker-local scratch space): call this once and keep the bytes."""
        item = self._item(handle)
        data = await self._call("GET", f"/api/v1/queue/{self.queue_id}/i/{item.item_id}")
        if data.get("status") != "completed":
            raise EngineError(f"item {handle} is {data.get('status')}, not completed")
        session = data.get("session") or {}
        results = session.get("results") or {}
        prepared = (session.get("source_prepared_mapping") or {}).get(OUTPUT_NODE) or [
            k for k, v in results.items() if k.startswith(OUTPUT_NODE)
        ]
        names = [results[p]["image"]["image_name"] for p in prepared if p in results]
        if not names:
            raise EngineError(f"item {handle} completed without an image")
        images = [
            await self._call("GET", f"/api/v1/images/i/{name}/full", raw=True) for name in names
        ]
        if not self.keep_images:
            for name in names:
                with contextlib.suppress(EngineError):
                    await self._call("DELETE", f"/api/v1/images/i/{name}", expect=(200, 204, 404))
        return images

    async def cancel(self, handle: str) -> None:
        item = self._item(handle)
        if item.done:
            return
        item.cancel_requested = True
        try:
            await self._call("PUT", f"/api/v1/queue/{self.queue_id}/i/{item.item_id}/cancel")
        except EngineUnavailable:
            raise
        except EngineError as exc:  # gone or finished meanwhile: its status tells
            log.info("engine.cancel_refused item=%s %s", handle, exc)
        await self._poll(item)

    async def status(self, handle: str) -> str:
        """The item's state, read from the engine now: queued, started, completed, failed
        or cancelled."""
        item = self._item(handle)
        if not item.done:
            await self._poll(item)
        return item.state

    # -- items

    def _track(self, item_id: int) -> _Item:
        item = self._items.get(item_id)
        if item is None:
            item = self._items[item_id] = _Item(item_id)
            while len(self._items) > _MAX_ITEMS:
                oldest = next((k for k, v in self._items.items() if v.done), None)
                self._items.pop(oldest if oldest is not None else next(iter(self._items)))
        return item

    def _item(self, handle: str) -> _Item:
        try:
            return self._items[int(handle)]
        except (KeyError, ValueError):
            raise UnknownHandle(handle) from None

    async def _poll(self, item: _Item) -> None:
        try:
            data = await self._call(
                "GET", f"/api/v1/queue/{self.queue_id}/i/{item.item_id}", wait=False
            )
        except EngineUnavailable:
            # down or restarting: the item's fate is read once it is back, unless that
            # takes longer than unavailable_timeout
            if time.monotonic() - item.last_activity > self.unavailable_timeout:
                item.apply_status("failed", "the engine is unavailable")
            return
        except EngineError as exc:
            if "404" in str(exc):
                item.apply_status("failed", "the engine lost the item")
                return
            raise
        item.apply_status(data.get("status", ""), _error_text(data))

    # -- socket.io

    async def _keep_socket(self) -> None:
        """Connect once (retrying); the client then reconnects by itself."""
        assert self._sio is not None
        while not self._sio.connected:
            try:
                await self._sio.connect(
                    self.base_url,
                    socketio_path="/ws/socket.io",
                    transports=["websocket"],
                    wait_timeout=10,
                )
                return
            except (TimeoutError, socketio.exceptions.ConnectionError, OSError) as exc:
                log.info("engine.socket_connect_failed %s", exc)
                await asyncio.sleep(1.0)

    async def _on_connect(self) -> None:
        assert self._sio is not None
        await self._sio.emit("subscribe_queue", {"queue_id": self.queue_id})
        # events may have been missed while disconnected: read every open item's status
        for item in [i for i in self._items.values() if not i.done]:
            task = asyncio.create_task(self._poll_quietly(item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _poll_quietly(self, item: _Item) -> None:
        with contextlib.suppress(EngineError):
            await self._poll(item)

    def _route(self, kind: str, data: dict[str, Any]) -> None:
        if data.get("queue_id", self.queue_id) != self.queue_id or "item_id" not in data:
            return
        item_id = int(data["item_id"])
        item = self._items.get(item_id)
        if item is None:  # submit() has not seen its answer yet (or not ours)
            self._orphans.setdefault(item_id, []).append((kind, data))
            while len(self._orphans) > _MAX_ORPHANS:
                self._orphans.popitem(last=False)
            return
        self._dispatch(item, kind, data)

    @staticmethod
    def _dispatch(item: _Item, kind: str, data: dict[str, Any]) -> None:
        if kind == "status":
            item.apply_status(data.get("status", ""), _error_text(data))
        elif kind == "progress":
            if data.get("invocation_source_id") != DENOISE_NODE or data.get("percentage") is None:
                item.last_activity = time.monotonic()
                return
            image = data.get("image") or {}
            preview = image.get("dataURL")
            if not (isinstance(preview, str) and preview.startswith("data:image/")):
                preview = None
            item.apply_progress(float(data["percentage"]), preview)

    async def _on_status(self, data: dict[str, Any]) -> None:
        self._route("status", data)

    async def _on_progress(self, data: dict[str, Any]) -> None:
        self._route("progress", data)

    # -- REST

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
        raw: bool = False,
        wait: bool = True,
    ) -> Any:
        """One REST call. While the engine is unreachable (restarting) it is retried for
        up to unavailable_timeout (with wait=False: not at all), then EngineUnavailable.
        A request that may have reached the engine (a POST) is never sent twice."""
        if self._http is None:
            raise EngineError("the engine is not started")
        deadline = time.monotonic() + (self.unavailable_timeout if wait else 0)
        url = f"{self.base_url}{path}"
        idempotent = method in ("GET", "PUT", "DELETE")
        while True:
            try:
                async with self._http.request(method, url, params=params, json=json) as resp:
                    body = await resp.read()
                    if resp.status not in expect:
                        text = body[:500].decode(errors="replace")
                        raise EngineError(f"{method} {path}: HTTP {resp.status}: {text}")
                    if raw:
                        return body
                    if not body:
                        return None
                    return _json.loads(body)
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
                failure: Exception = exc
                if isinstance(exc, aiohttp.ServerDisconnectedError) and not idempotent:
                    raise EngineUnavailable(
                        f"{method} {path}: the engine went away ({exc})"
                    ) from exc
            except (TimeoutError, aiohttp.ClientError) as exc:
                if not idempotent:
                    raise EngineUnavailable(f"{method} {path}: {exc!r}") from exc
                failure = exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EngineUnavailable(f"{method} {path}: the engine is unavailable ({failure!r})")
            if self.process is not None and not self.process.ready:
                with contextlib.suppress(asyncio.TimeoutError):
                    await self.process.wait_ready(min(remaining, 5.0))
            else:
                await asyncio.sleep(min(remaining, 0.5))
