"""`BatchedEngine`: the Engine interface over the batched engine's process (server.py).

The worker starts the process with the engine environment's python, talks to it over a
Unix socket in its own folder, and restarts it if it dies. Rows in flight when it dies
fail with a retryable error (the worker reports them; render runs the job again), so a
crash never leaves a job hanging. Handles are this client's own ids.

`capacity` is the rows the engine runs at once: the worker holds that many images."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import tempfile
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pingvas_render.catalog import CatalogModel

from .. import (
    EngineError,
    EngineEvent,
    EngineJob,
    EngineStartError,
    EngineUnavailable,
    ModelInstallError,
    UnknownHandle,
)
from ..process import ENGINE_RESTARTS, _die_with_parent, _engine_env
from . import wire

log = logging.getLogger("pingvas_render.engine.batched")

_MAX_ITEMS = 4000
_TERMINAL = ("completed", "failed", "cancelled")


class ModelUnsupported(ModelInstallError):
    """The batched engine cannot load this model (another engine can)."""


class _Item:
    def __init__(self, job: EngineJob) -> None:
        self.job = job
        self.events: list[EngineEvent] = []
        self.png: bytes | None = None
        self.code: str | None = None
        self._wake = asyncio.Event()

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1].terminal

    def add(self, event: EngineEvent) -> None:
        if self.done:
            return
        self.events.append(event)
        self._wake.set()
        self._wake = asyncio.Event()

    async def wait(self) -> None:
        await self._wake.wait()


def _package_path(root: Path) -> Path:
    """A folder holding only the pingvas_render package (a link to it), for the engine's
    PYTHONPATH: the engine environment must not see the services' other packages."""
    package = Path(__file__).resolve().parents[2]  # .../pingvas_render
    target = root / "pythonpath"
    target.mkdir(parents=True, exist_ok=True)
    link = target / "pingvas_render"
    if not (link.is_symlink() and link.resolve() == package):
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(package, target_is_directory=True)
    return target


class BatchedEngine:
    def __init__(
        self,
        python: str | os.PathLike[str],
        models_dir: str | os.PathLike[str] | None = None,
        *,
        root_dir: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        precision: str = "float32",
        max_rows: int = 8,
        model_memory_mb: int = 0,
        threads: int = 0,
        compile: bool = False,
        startup_timeout: float = 180.0,
        restart: bool = True,
    ) -> None:
        self.python = Path(python)
        self.models_dir = os.fspath(Path(models_dir).resolve()) if models_dir is not None else None
        self.root_dir = Path(root_dir or tempfile.mkdtemp(prefix="pingvas-batched-")).resolve()
        self.device = device
        self.precision = precision
        self.max_rows = max_rows
        self.model_memory_mb = model_memory_mb
        self.threads = threads
        self.compile = compile
        self.startup_timeout = startup_timeout
        self.restart = restart
        self.capacity = max_rows
        self.restarts = 0
        self.info: dict[str, Any] = {}
        self.log_path = self.root_dir / "batched-engine.log"
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._items: OrderedDict[str, _Item] = OrderedDict()
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._models: set[str] = set()
        self._unsupported: dict[str, str] = {}
        self._model_lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._closing = False
        self._read_task: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def socket_path(self) -> Path:
        # AF_UNIX paths are short (108 bytes): fall back to a private temporary folder
        path = self.root_dir / "engine.sock"
        if len(os.fsencode(path)) < 100:
            return path
        return Path(tempfile.gettempdir()) / f"pingvas-batched-{os.getpid()}-{id(self):x}.sock"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._supervisor is not None:
            return
        self._closing = False
        await self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="batched-engine-supervisor")

    async def close(self) -> None:
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._disconnect()
        await self._terminate()

    async def __aenter__(self) -> BatchedEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def kill(self) -> None:
        """SIGKILL the engine process, as a crash would (tests of supervision)."""
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def _spawn(self) -> None:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        if not self.python.exists():
            raise EngineStartError(
                f"{self.python} not found: run scripts/engine-env to install the engine"
            )
        sock = self.socket_path
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()
        env = _engine_env({"PYTHONPATH": str(_package_path(self.root_dir))}, offline=True)
        args = [
            str(self.python),
            "-m",
            "pingvas_render.engine.batched.server",
            "--socket",
            str(sock),
            "--device",
            self.device,
            "--precision",
            self.precision,
            "--max-rows",
            str(self.max_rows),
            "--model-memory-mb",
            str(self.model_memory_mb),
            "--threads",
            str(self.threads),
        ]
        if self.models_dir:
            args += ["--models-dir", self.models_dir]
        if self.compile:
            args.append("--compile")
        started = time.monotonic()
        with open(self.log_path, "ab") as out:  # noqa: ASYNC230 - opened once per start
            self._proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=str(self.root_dir),
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = started + self.startup_timeout
        while True:
            if self._proc.returncode is not None:
                raise EngineStartError(
                    f"the batched engine exited with {self._proc.returncode} while starting; "
                    f"last lines of {self.log_path}:\n{self._log_tail()}"
                )
            if sock.exists():
                try:
                    reader, writer = await asyncio.open_unix_connection(str(sock), limit=wire.LIMIT)
                    break
                except (ConnectionRefusedError, FileNotFoundError):
                    pass
            if time.monotonic() > deadline:
                await self._terminate()
                raise EngineStartError(
                    f"the batched engine did not start within {self.startup_timeout:.0f}s"
                )
            await asyncio.sleep(0.1)
        self._reader, self._writer = reader, writer
        self._read_task = asyncio.create_task(self._read(reader), name="batched-engine-reader")
        self.info = await self._request({"op": "hello"}, timeout=30)
        self.capacity = int(self.info.get("max_rows", self.max_rows))
        self._models.clear()
        self._ready.set()
        log.info(
            "engine.batched_started pid=%s rows=%s device=%s in %.1fs",
            self.pid,
            self.capacity,
            self.info.get("device"),
            time.monotonic() - started,
        )

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._closing:
            assert self._proc is not None
            rc = await self._proc.wait()
            self._ready.clear()
            await self._disconnect()
            if self._closing:
                return
            log.warning("engine.batched_exited rc=%s; restarting in %.0fs", rc, backoff)
            if not self.restart:
                return
            await asyncio.sleep(backoff)
            try:
                self.restarts += 1
                ENGINE_RESTARTS.labels(engine="batched").inc()
                await self._spawn()
                backoff = 1.0
            except EngineStartError as exc:
                log.error("engine.batched_restart_failed %s", str(exc).splitlines()[0])
                backoff = min(backoff * 2, 30.0)
                await asyncio.sleep(backoff)

    async def _disconnect(self) -> None:
        if self._read_task is not None:
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._read_task
            self._read_task = None
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._lost("the batched engine stopped")

    def _lost(self, reason: str) -> None:
        for future in self._replies.values():
            if not future.done():
                future.set_exception(EngineUnavailable(reason))
        self._replies.clear()
        for item in self._items.values():
            if not item.done:
                item.code = "engine_lost"
                item.add(EngineEvent("failed", error=reason))

    async def _terminate(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    # -- the wire ------------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                self._lost("the batched engine closed the connection")
                return
            try:
                message = wire.decode(line)
            except ValueError:
                continue
            if "reply" in message:
                future = self._replies.pop(int(message["reply"]), None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif "event" in message:
                self._on_event(message)

    def _on_event(self, message: dict[str, Any]) -> None:
        item = self._items.get(str(message.get("handle")))
        if item is None:
            return
        kind = message["event"]
        progress = float(message.get("progress") or 0.0)
        if kind == "progress":
            preview = message.get("preview")
            url = f"data:image/png;base64,{preview}" if preview else None
            item.add(EngineEvent("progress", progress=progress, preview=url))
        elif kind == "completed":
            item.png = base64.b64decode(message["png"])
            item.add(EngineEvent("completed", progress=1.0))
        elif kind == "failed":
            item.code = message.get("code")
            item.add(
                EngineEvent(
                    "failed", progress=progress, error=message.get("error") or "the engine failed"
                )
            )
        elif kind in ("queued", "started", "cancelled"):
            item.add(EngineEvent(kind, progress=progress))

    async def _request(self, body: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        if self._writer is None:
            try:
                await asyncio.wait_for(self._ready.wait(), self.startup_timeout)
            except TimeoutError as exc:
                raise EngineUnavailable("the batched engine is not running") from exc
        writer = self._writer
        if writer is None:
            raise EngineUnavailable("the batched engine is not running")
        self._next_id += 1
        rid = self._next_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[rid] = future
        writer.write(wire.encode({**body, "id": rid}))
        try:
            await writer.drain()
            answer = await asyncio.wait_for(future, timeout)
        except (ConnectionError, TimeoutError) as exc:
            self._replies.pop(rid, None)
            raise EngineUnavailable(
                f"the batched engine did not answer {body.get('op')}: {exc!r}"
            ) from exc
        if not answer.get("ok"):
            error = answer.get("error") or "the engine refused"
            if answer.get("code") == "unsupported":
                raise ModelUnsupported(error)
            raise EngineError(error)
        return answer

    # -- the Engine interface ------------------------------------------------------------

    def unsupported_reason(self, model: CatalogModel) -> str | None:
        return self._unsupported.get(model.key)

    async def ensure_model(self, model: CatalogModel) -> None:
        if model.key in self._models:
            return
        if model.key in self._unsupported:
            raise ModelUnsupported(self._unsupported[model.key])
        async with self._model_lock:
            if model.key in self._models:
                return
            try:
                await self._request({"op": "load", "model": model.as_dict()}, timeout=3600)
            except ModelUnsupported as exc:
                self._unsupported[model.key] = str(exc)
                raise
            except EngineUnavailable:
                raise
            except EngineError as exc:
                raise ModelInstallError(f"loading {model.key!r} failed: {exc}") from exc
            self._models.add(model.key)

    async def submit(self, job: EngineJob) -> str:
        if job.width % 8 or job.height % 8 or job.width <= 0 or job.height <= 0:
            raise EngineError(
                f"width and height must be positive multiples of 8, not {job.width}x{job.height}"
            )
        handle = uuid.uuid4().hex
        item = _Item(job)
        self._items[handle] = item
        while len(self._items) > _MAX_ITEMS:
            oldest = next(iter(self._items))
            if not self._items[oldest].done:
                break
            self._items.popitem(last=False)
        spec = {
            "model": job.model.as_dict(),
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "width": job.width,
            "height": job.height,
            "steps": job.steps,
            "cfg_scale": job.cfg_scale,
            "scheduler": job.scheduler,
            "seed": job.seed,
        }
        try:
            await self._request({"op": "submit", "handle": handle, "spec": spec})
        except BaseException:
            self._items.pop(handle, None)
            raise
        return handle

    def _item(self, handle: str) -> _Item:
        item = self._items.get(handle)
        if item is None:
            raise UnknownHandle(handle)
        return item

    async def events(self, handle: str) -> AsyncIterator[EngineEvent]:
        item = self._item(handle)
        seen = 0
        while True:
            while seen < len(item.events):
                event = item.events[seen]
                seen += 1
                yield event
                if event.terminal:
                    return
            await item.wait()

    def failure_code(self, handle: str) -> str | None:
        return self._item(handle).code

    async def images(self, handle: str) -> list[bytes]:
        item = self._item(handle)
        if item.png is None:
            raise EngineError(
                f"item {handle} has no image (it is {item.events[-1].kind if item.events else 'new'})"
            )
        png, item.png = item.png, None
        self._items.pop(handle, None)
        return [png]

    async def cancel(self, handle: str) -> None:
        item = self._item(handle)
        if item.done:
            return
        with contextlib.suppress(EngineUnavailable):
            await self._request({"op": "cancel", "handle": handle})

    async def stats(self) -> dict[str, Any]:
        return await self._request({"op": "stats"})

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


__all__ = ["BatchedEngine", "ModelUnsupported"]
