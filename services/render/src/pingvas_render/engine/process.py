"""A supervised invokeai-web process.

    proc = EngineProcess(root_dir, engine_python, port)
    await proc.start()            # writes invokeai.yaml, starts it, waits until it answers
    ...                           # it is restarted if it dies
    await proc.stop()             # SIGTERM to its process group, then SIGKILL

The process runs in its own process group (its children go with it) and, on Linux, gets
SIGTERM when the process that started it dies, so no engine outlives its worker. Its
output goes to `<root_dir>/invokeai-web.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import Counter

from . import EngineStartError

log = logging.getLogger("pingvas_render.engine.process")

#: engine: invokeai (its invokeai-web) or batched; counted as the supervisor starts it again
ENGINE_RESTARTS = Counter(
    "pingvas_render_engine_restarts_total",
    "Times a worker's engine process died and was started again",
    ["engine"],
)
for _engine in ("invokeai", "batched"):  # from 0: increase() sees the first restart
    ENGINE_RESTARTS.labels(engine=_engine)

# invokeai.yaml's schema in InvokeAI 6.14.x (an older one is migrated and rewritten)
CONFIG_SCHEMA_VERSION = "4.0.3"

# environment variables the engine never needs; not handed to it
_PRIVATE_ENV_PREFIXES = ("AWS_", "RENDER_", "PINGVAS_")
_PRIVATE_ENV_WORDS = ("SECRET", "PASSWORD", "TOKEN", "CREDENTIAL")


def _engine_env(extra: Mapping[str, str] | None, offline: bool) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_PRIVATE_ENV_PREFIXES)
        and not any(w in k.upper() for w in _PRIVATE_ENV_WORDS)
    }
    if offline:
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001, S110
            pass


def resolve_invokeai_web(python_or_bin: str | os.PathLike[str]) -> Path:
    """The invokeai-web executable: given it directly, or the python of its environment."""
    path = Path(python_or_bin)
    if path.name.startswith("python"):
        path = path.parent / "invokeai-web"
    return path


class EngineProcess:
    """invokeai-web under supervision. `base_url` is where it answers."""

    def __init__(
        self,
        root_dir: str | os.PathLike[str],
        python_or_bin: str | os.PathLike[str],
        port: int,
        device: str = "cpu",
        precision: str = "float32",
        *,
        host: str = "127.0.0.1",
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        offline: bool = True,
        startup_timeout: float = 180.0,
        stop_timeout: float = 20.0,
        restart: bool = True,
        max_backoff: float = 30.0,
    ) -> None:
        self.root_dir = Path(root_dir).resolve()
        self.executable = resolve_invokeai_web(python_or_bin)
        self.host = host
        self.port = port
        self.device = device
        self.precision = precision
        self.config = dict(config or {})
        self.env = _engine_env(env, offline)
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.restart = restart
        self.max_backoff = max_backoff
        self.log_path = self.root_dir / "invokeai-web.log"
        self.restarts = 0  # how many times the supervisor brought it back
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.running

    def write_config(self) -> Path:
        """`invokeai.yaml` in the root folder (JSON is valid YAML)."""
        config: dict[str, Any] = {
            "schema_version": CONFIG_SCHEMA_VERSION,
            "host": self.host,
            "port": self.port,
            "device": self.device,
            "precision": self.precision,
            "log_format": "plain",
            "hashing_algorithm": "random",  # do not hash model files on install
            "max_queue_history": 200,  # pruned at start-up
        }
        config.update(self.config)
        self.root_dir.mkdir(parents=True, exist_ok=True)
        path = self.root_dir / "invokeai.yaml"
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return path

    async def start(self) -> None:
        if self._supervisor is not None:
            return
        if not self.executable.exists():
            raise EngineStartError(
                f"{self.executable} not found: run scripts/engine-env to install InvokeAI"
            )
        self._stopping = False
        self.write_config()
        started = time.monotonic()
        await self._spawn()
        try:
            await self._wait_until_up()
        except BaseException:
            await self._terminate()
            raise
        log.info(
            "engine.started pid=%s url=%s in %.1fs",
            self.pid,
            self.base_url,
            time.monotonic() - started,
        )
        if self.restart:
            self._supervisor = asyncio.create_task(self._supervise(), name="engine-supervisor")

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Until the engine answers (during a restart: until it is back)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        await self._terminate()

    async def kill(self) -> None:
        """SIGKILL the engine's process group as a crash would (tests of supervision)."""
        if self.running:
            assert self._proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)

    async def __aenter__(self) -> EngineProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- internals

    async def _spawn(self) -> None:
        self._ready.clear()
        with self._open_log() as out:
            self._proc = await asyncio.create_subprocess_exec(
                str(self.executable),
                "--root",
                str(self.root_dir),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=str(self.root_dir),
                env=self.env,
                start_new_session=True,  # its own process group: stop() takes its children too
                preexec_fn=_die_with_parent,
            )

    async def _wait_until_up(self) -> None:
        assert self._proc is not None
        proc = self._proc
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/api/v1/app/version"
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                if proc.returncode is not None:
                    raise EngineStartError(
                        f"invokeai-web exited with {proc.returncode} while starting; "
                        f"last lines of {self.log_path}:\n{self._log_tail()}"
                    )
                try:
                    async with http.get(url) as resp:
                        if resp.status == 200:
                            await resp.read()
                            self._ready.set()
                            return
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise EngineStartError(
                        f"invokeai-web did not answer on {url} within {self.startup_timeout:.0f}s; "
                        f"last lines of {self.log_path}:\n{self._log_tail()}"
                    )
                await asyncio.sleep(0.25)

    async def _supervise(self) -> None:
        backoff = 1.0
        while not self._stopping:
            assert self._proc is not None
            rc = await self._proc.wait()
            self._ready.clear()
            if self._stopping:
                return
            log.warning("engine.exited rc=%s; restarting in %.0fs", rc, backoff)
            await asyncio.sleep(backoff)
            if self._stopping:
                return
            self.restarts += 1
            ENGINE_RESTARTS.labels(engine="invokeai").inc()
            started = time.monotonic()
            try:
                await self._spawn()
                await self._wait_until_up()
            except EngineStartError as exc:
                log.error("engine.restart_failed %s", str(exc).splitlines()[0])
                await self._terminate()
                backoff = min(backoff * 2, self.max_backoff)
                continue
            except OSError as exc:
                log.error("engine.restart_failed %s", exc)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            backoff = 1.0
            log.info("engine.restarted pid=%s in %.1fs", self.pid, time.monotonic() - started)

    async def _terminate(self) -> None:
        self._ready.clear()
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self.stop_timeout)
            except TimeoutError:
                log.warning("engine.stop_timeout pid=%s; killing it", proc.pid)
        # whatever is left of its process group (children that ignored SIGTERM)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode is None:
            await proc.wait()

    def _open_log(self):
        out = open(self.log_path, "ab")  # noqa: SIM115
        out.write(f"\n--- pingvas: starting {self.executable} ---\n".encode())
        out.flush()
        return out

    def _log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16000))
                return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
