"""The batched engine's process: `python -m pingvas_render.engine.batched.server --socket PATH`.

Started by `BatchedEngine` (client.py) with the engine environment's python; it imports
only the standard library, torch, diffusers, compel and InvokeAI. It listens on a Unix
socket (mode 0600, in the worker's own folder) and speaks JSON lines (wire.py): requests
carry an `id` and get one reply; row events (`queued`, `started`, `progress`,
`completed`, `failed`, `cancelled`) are pushed as they happen. One client at a time: when
it goes, its rows are cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import os
import signal
import sys
import threading
from typing import Any

import torch

from pingvas_render.engine.batched import wire
from pingvas_render.engine.batched.core import (
    Batcher,
    ModelStore,
    Unsupported,
    memory_budget,
    rows_for_memory,
)

log = logging.getLogger("pingvas.batched")

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class Server:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = torch.device(args.device)
        dtype = DTYPES[args.precision]
        if self.device.type == "cpu" and dtype is not torch.float32:
            dtype = (
                torch.float32
            )  # half precision on a CPU is slow and lossy: InvokeAI does the same
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        self.store = ModelStore(
            self.device,
            dtype,
            memory_budget(self.device, args.model_memory_mb),
            channels_last=self.device.type == "cuda",
            compile_unet=args.compile,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.owned: set[str] = set()
        self.batcher = Batcher(
            self.store,
            self._emit_threadsafe,
            max_rows=rows_for_memory(self.device, args.max_rows, 0),
            models_dir=args.models_dir,
        )

    # -- events from the denoising thread ----------------------------------------------

    def _emit_threadsafe(self, handle: str, kind: str, **data: Any) -> None:
        loop = self.loop
        if loop is not None:
            loop.call_soon_threadsafe(self._emit, handle, kind, data)

    def _emit(self, handle: str, kind: str, data: dict[str, Any]) -> None:
        message: dict[str, Any] = {"event": kind, "handle": handle}
        for key, value in data.items():
            message[key] = base64.b64encode(value).decode() if isinstance(value, bytes) else value
        if kind in ("completed", "failed", "cancelled"):
            self.owned.discard(handle)
        self._send(message)

    def _send(self, message: dict[str, Any]) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(wire.encode(message))

    # -- requests ----------------------------------------------------------------------

    async def handle_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self.writer is not None:
            writer.write(
                wire.encode({"reply": 0, "ok": False, "error": "another client is connected"})
            )
            writer.close()
            return
        self.writer = writer
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                try:
                    request = wire.decode(line)
                except ValueError:
                    continue
                await self._dispatch(request)
                await writer.drain()
        finally:
            for handle in list(self.owned):
                self.batcher.cancel(handle)
            self.owned.clear()
            self.writer = None
            writer.close()

    async def _dispatch(self, request: dict[str, Any]) -> None:
        op, rid = request.get("op"), request.get("id", 0)
        try:
            if op == "hello":
                answer = {
                    "max_rows": self.batcher.max_rows,
                    "device": str(self.device),
                    "dtype": str(self.store.dtype).replace("torch.", ""),
                    "pid": os.getpid(),
                }
            elif op == "load":
                loop = asyncio.get_running_loop()
                model = await loop.run_in_executor(
                    None, self.store.get, request["model"], self.args.models_dir, set()
                )
                answer = {"bytes": model.bytes}
            elif op == "submit":
                handle = str(request["handle"])
                self.owned.add(handle)
                self.batcher.submit(handle, request["spec"])
                self._send({"event": "queued", "handle": handle})
                answer = {}
            elif op == "cancel":
                self.batcher.cancel(str(request["handle"]))
                answer = {}
            elif op == "stats":
                answer = self.batcher.stats()
            else:
                raise ValueError(f"unknown op {op!r}")
        except Unsupported as exc:
            self._send({"reply": rid, "ok": False, "code": "unsupported", "error": str(exc)})
            return
        except Exception as exc:  # noqa: BLE001 - the client learns why
            log.exception("batched.request_failed op=%s", op)
            self._send(
                {
                    "reply": rid,
                    "ok": False,
                    "code": "internal",
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
            return
        self._send({"reply": rid, "ok": True, **answer})

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        thread = threading.Thread(target=self.batcher.run, name="denoise", daemon=True)
        thread.start()
        path = self.args.socket
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        old = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(
                self.handle_client, path=path, limit=wire.LIMIT
            )
        finally:
            os.umask(old)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, stop.set)
        print(
            f"pingvas-batched ready socket={path} device={self.device} rows={self.batcher.max_rows}",
            flush=True,
        )
        async with server:
            await stop.wait()
        self.batcher.stop()
        thread.join(timeout=10)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--max-rows", type=int, default=8)
    parser.add_argument("--model-memory-mb", type=int, default=0)
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    asyncio.run(Server(args).serve())


if __name__ == "__main__":
    main()
