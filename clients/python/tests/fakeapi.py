"""A real HTTP server on 127.0.0.1 for the client's unit tests: a ThreadingHTTPServer
speaking HTTP/1.1, answering with a test's handler function and recording every request.

    def handle(req: Seen, reply: Reply) -> None:
        reply.json(200, {...}, headers={"Retry-After": "2"})
        # or reply.sse(["id: 1", "event: status", "data: {}", ""], drop=True)
        # or reply.hang_up()            (close the connection without an answer)

    with FakeAPI(handle) as api:
        Pingvas(api_key="pvk_x", base_url=api.url)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Reply:
    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._h = handler

    def json(self, status: int, body: Any = None, *, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        kind = "application/problem+json" if status >= 400 else "application/json"
        self._h.send_response(status)
        self._h.send_header("Content-Type", kind)
        self._h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self._h.send_header(k, v)
        self._h.end_headers()
        self._h.wfile.write(data)

    def problem(self, status: int, code: str, *, headers: dict[str, str] | None = None) -> None:
        self.json(
            status,
            {
                "type": f"https://pingvas.dev/problems/{code.replace('_', '-')}",
                "title": f"Title of {code}",
                "status": status,
                "detail": f"Detail of {code}.",
                "code": code,
            },
            headers=headers,
        )

    def sse(self, lines: list[str], *, drop: bool = False) -> None:
        """A text/event-stream, chunked; `drop` hangs up in the middle of the body (no last
        chunk), as a broken connection does."""
        self._h.send_response(200)
        self._h.send_header("Content-Type", "text/event-stream")
        self._h.send_header("Transfer-Encoding", "chunked")
        self._h.end_headers()
        for line in lines:
            data = (line + "\n").encode()
            self._h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self._h.wfile.flush()
        if drop:
            self.hang_up()
        else:
            self._h.wfile.write(b"0\r\n\r\n")

    def hang_up(self) -> None:
        self._h.close_connection = True
        self._h.wfile.flush()
        self._h.connection.shutdown(2)


class FakeAPI:
    def __init__(self, handle: Callable[[Seen, Reply], None]) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                split = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    split.path,
                    {k: v[0] for k, v in parse_qs(split.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with api._lock:
                    api.seen.append(seen)
                handle(seen, Reply(self))

            do_GET = do_POST = do_PATCH = do_DELETE = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def job(job_id: str = "job_1", status: str = "queued", **extra: Any) -> dict[str, Any]:
    """A generation as the API answers it."""
    return {
        "id": job_id,
        "status": status,
        "attempts": 0,
        "cancel_requested": False,
        "created_at": "2026-12-06T01:00:00Z",
        "credits_reserved": 1,
        "credits_used": None,
        "error": None,
        "finished_at": None,
        "image_ids": [],
        "progress": 0.0,
        "queue_position": 1,
        "request": {"prompt": "a cat", "model": "tiny-sd1"},
        "seed": 42,
        "started_at": None,
        **extra,
    }


def image(image_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": image_id,
        "job_id": "job_1",
        "index": 0,
        "cfg_scale": 7.5,
        "created_at": "2026-12-06T01:00:00Z",
        "width": 64,
        "height": 64,
        "model": "tiny-sd1",
        "prompt": "a cat",
        "negative_prompt": "",
        "scheduler": "euler",
        "seed": 42,
        "size_bytes": 100,
        "steps": 4,
        "url": f"/files/{image_id}.png",
        "thumbnail_url": f"/files/{image_id}.webp",
        "download_name": "pingvas-2026-12-06-a-cat.png",
        "download_url": f"/files/{image_id}.png?response-content-disposition=attachment",
        **extra,
    }


def pages(path: str, items: list[dict], size: int):
    """A handler paging `items` by an opaque cursor (the index, base-16)."""

    def handle(seen: Seen, reply: Reply) -> None:
        if seen.path != path:
            return reply.json(404)
        start = int(seen.query.get("cursor", "0"), 16)
        page = items[start : start + size]
        more = start + size < len(items)
        extra = {"total": len(items), "engine": "x", "took_ms": 1} if "search" in path else {}
        reply.json(
            200, {"items": page, "next_cursor": f"{start + size:x}" if more else None, **extra}
        )

    return handle


def sse_job(drops: int):
    """A generation whose event stream breaks `drops` times after two events each; each
    reconnect must resume after the Last-Event-ID it sent."""
    events = [
        ("1", "queued", {"job_id": "job_1", "queue_position": 0}),
        ("2", "started", {"job_id": "job_1"}),
        ("2.1", "progress", {"step": 1, "steps": 4}),
        ("2.2", "progress", {"step": 2, "steps": 4}),
        ("2.3", "progress", {"step": 3, "steps": 4}),
        ("3", "completed", {"job_id": "job_1", "image_ids": ["img_1"]}),
    ]
    state = {"drops": drops}

    def handle(seen: Seen, reply: Reply) -> None:
        if seen.path == "/api/v1/generations":
            return reply.json(202, job())
        if seen.path == "/api/v1/generations/job_1":
            return reply.json(200, job(status="completed", image_ids=["img_1"], progress=1.0))
        if seen.path != "/api/v1/generations/job_1/events":
            return reply.json(404)
        last = seen.headers.get("last-event-id")
        ids = [e[0] for e in events]
        rest = events[ids.index(last) + 1 :] if last else events
        drop = state["drops"] > 0
        state["drops"] -= 1
        send = rest[:2] if drop else rest
        lines = ["retry: 7", ": keep-alive", ""]
        for eid, name, data in send:
            lines += [f"id: {eid}", f"event: {name}", f"data: {json.dumps(data)}", ""]
        if drop:
            lines += ["id: 99", "event: progress", 'data: {"half": ']  # cut mid-event
        reply.sse(lines, drop=drop)

    return handle
