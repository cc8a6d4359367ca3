"""A real webhook receiver for tests and the local run: an HTTP server on 127.0.0.1 that
records every request and answers what it is told to.

    with WebhookReceiver(answers=[500, 500]) as receiver:     # then 200 for the rest
        ... receiver.url ...
        request = receiver.wait_for(lambda r: r.json["type"] == "ping")   # await .wait() in async

It checks nothing itself; tests verify the signatures with the `standardwebhooks`
package, as a partner's receiver would."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    #: the status this receiver answered
    answered: int
    at: float = field(default_factory=time.time)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self, answers: Iterable[int] = (), *, default: int = 200, delay: float = 0.0):
        self._answers = list(answers)
        self.default = default
        self.delay = delay
        self.received: list[Received] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver._answers.pop(0) if receiver._answers else receiver.default
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = json.dumps({"received": status < 300}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status,
                        )
                    )
                    receiver._lock.notify_all()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer_next(self, *statuses: int) -> None:
        with self._lock:
            self._answers.extend(statuses)

    def wait_for(
        self, match: Callable[[Received], bool], *, count: int = 1, timeout: float = 30
    ) -> list[Received]:
        """The first `count` requests that `match`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [r for r in self.received if match(r)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the receiver got {len(found)} of {count} matching requests in "
                        f"{timeout:g} s (all: {[r.body[:120] for r in self.received]})"
                    )
                self._lock.wait(left)

    async def wait(
        self, match: Callable[[Received], bool], *, count: int = 1, timeout: float = 30
    ) -> list[Received]:
        """`wait_for` from async code (in a thread: the sender may share the event loop)."""
        return await asyncio.to_thread(self.wait_for, match, count=count, timeout=timeout)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
