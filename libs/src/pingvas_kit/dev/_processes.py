"""Child processes: their own process group, dying with the runner, logs, the emulator probe.

A child is signalled as a group so anything it started goes too; it gets SIGTERM if
the runner dies, even by SIGKILL (Linux); it inherits SIGINT ignored, so Ctrl-C reaches
only the runner, which stops things in order."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from ..settings import private_file

TAIL_LINES = 40


_PR_SET_PDEATHSIG = 1
try:
    _libc: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _libc = None


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the runner dies (even by SIGKILL)."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pid: int, sig: int) -> None:
    """Signal a service's whole process group (it was started in its own session), so
    anything it started goes too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """The exit code, as soon as the process itself has exited. (Process.wait() also waits
    for its output pipe to close, which a grandchild left running can hold open forever.)"""
    while proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only event
        await asyncio.sleep(0.1)
    return proc.returncode


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A child started meanwhile inherits SIGINT ignored (Python keeps an ignored SIGINT),
    so Ctrl-C in the terminal reaches only the runner, which stops things in order."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def _emulator_at(url: str) -> str | None:
    """'LocalStack' or 'moto' if that is what answers at `url`, else None."""
    async with httpx.AsyncClient(timeout=2.0) as client:
        for path, kind in (("/_localstack/health", "LocalStack"), ("/moto-api/", "moto")):
            try:
                response = await client.get(url + path)
            except httpx.HTTPError:
                return None
            if response.status_code == 200:
                return kind
    return None


def _open_log(path: Path) -> BinaryIO:
    """Append-only log file, readable by its owner only; local writes are short enough to
    do on the event loop."""
    return private_file(path).open("ab")


@dataclass
class Child:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    colour: str
    module: str = ""
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    restarts: list[float] = field(default_factory=list)
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class StartFailed(Exception):
    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(reason)
        self.child = child
        self.reason = reason
