"""The progress hub: live job updates from the internal API to every SSE stream.

Workers post progress to whichever render replica the load balancer picks; the browser's
stream may be held by another. `publish` hands a message to every subscriber of the job
on every replica: through Redis pub/sub when `RENDER_REDIS_URL` is set, in process
otherwise. Messages are small dicts:

- `{"kind": "progress", "seq": <last lifecycle seq>, "n": <counter>, "data": {...}}`
- `{"kind": "lifecycle", "seq": <seq>}`: a lifecycle event was committed; read job_events.

Delivery is best effort (a stream also re-reads job_events on its own), so nothing here
is a source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from pingvas_kit.logging import get_logger

log = get_logger("pingvas.render.progress")

#: messages a slow subscriber may fall behind by before old ones are dropped
QUEUE_SIZE = 64
#: how long the last progress of a job is remembered (Redis)
LAST_TTL_S = 3600


class _Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)

    def deliver(self, message: dict[str, Any]) -> None:
        if self.queue.full():  # keep the newest: progress supersedes progress
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(message)


class ProgressHub:
    """In-process hub; `RedisProgressHub` fans out across replicas."""

    def __init__(self) -> None:
        self._subs: dict[str, set[_Subscription]] = defaultdict(set)
        self._last: dict[str, float] = {}
        self._counter = itertools.count(1)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def subscribers(self, job_id: str) -> int:
        return len(self._subs.get(job_id, ()))

    def _deliver_local(self, job_id: str, message: dict[str, Any]) -> None:
        for sub in list(self._subs.get(job_id, ())):
            sub.deliver(message)

    async def next_n(self, job_id: str) -> int:
        return next(self._counter)

    async def publish(self, job_id: str, message: dict[str, Any]) -> None:
        if message.get("kind") == "progress":
            self._last[job_id] = float(message["data"].get("progress", 0.0))
        self._deliver_local(job_id, message)

    async def last_progress(self, job_id: str) -> float | None:
        return self._last.get(job_id)

    async def forget(self, job_id: str) -> None:
        self._last.pop(job_id, None)

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        sub = _Subscription()
        self._subs[job_id].add(sub)
        await self._on_subscribe(job_id)
        try:
            yield sub.queue
        finally:
            subs = self._subs.get(job_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[job_id]
                    await self._on_unsubscribe(job_id)

    async def _on_subscribe(self, job_id: str) -> None:
        return None

    async def _on_unsubscribe(self, job_id: str) -> None:
        return None


class RedisProgressHub(ProgressHub):
    """One pub/sub connection per replica, one channel per watched job."""

    def __init__(self, url: str, *, prefix: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)
        self._prefix = f"{prefix}:render"
        self._pubsub = self._redis.pubsub()
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def _channel(self, job_id: str) -> str:
        return f"{self._prefix}:progress:{job_id}"

    async def start(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._redis.aclose()

    async def next_n(self, job_id: str) -> int:
        key = f"{self._prefix}:n:{job_id}"
        n = await self._redis.incr(key)
        if n == 1:
            await self._redis.expire(key, LAST_TTL_S)
        return int(n)

    async def publish(self, job_id: str, message: dict[str, Any]) -> None:
        if message.get("kind") == "progress":
            await self._redis.set(
                f"{self._prefix}:last:{job_id}",
                str(float(message["data"].get("progress", 0.0))),
                ex=LAST_TTL_S,
            )
        await self._redis.publish(self._channel(job_id), json.dumps(message))

    async def last_progress(self, job_id: str) -> float | None:
        value = await self._redis.get(f"{self._prefix}:last:{job_id}")
        return float(value) if value is not None else None

    async def forget(self, job_id: str) -> None:
        await self._redis.delete(f"{self._prefix}:last:{job_id}", f"{self._prefix}:n:{job_id}")

    async def _on_subscribe(self, job_id: str) -> None:
        async with self._lock:
            await self._pubsub.subscribe(self._channel(job_id))
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(), name="progress-hub-reader")

    async def _on_unsubscribe(self, job_id: str) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(self._channel(job_id))

    async def _read(self) -> None:
        strip = len(self._prefix) + len(":progress:")
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection trouble: streams fall back to polling
                log.warning("progress.redis_error", error=type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                payload = json.loads(message["data"])
            except ValueError:
                continue
            self._deliver_local(message["channel"][strip:], payload)


def make_hub(redis_url: str | None, *, prefix: str) -> ProgressHub:
    return RedisProgressHub(redis_url, prefix=prefix) if redis_url else ProgressHub()
