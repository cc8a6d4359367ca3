"""Where the gateway keeps its little state (rate-limit counters, deny-listed sessions,
verified API keys, log-in failures, people's session state): Litestar stores, in Redis when GATEWAY_REDIS_URL is set,
else in process.

In process, each store is a `BoundedMemoryStore`: Litestar's MemoryStore forgets an expired
entry only when that very key is read again, so counters for a million rotating addresses
(or keys, or e-mail addresses) would stay forever. This one sweeps expired entries at most
every `sweep_interval` seconds while it is written to, and holds at most `max_entries`: past
that it drops the entries written longest ago (a rate-limit counter forgotten early lets its
caller start over, which is the lesser harm than the process running out of memory)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from litestar.stores.base import StorageObject, Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

RATE_LIMITS = "rate_limit"
DENY_LIST = "session_deny_list"
API_KEYS = "api_key_cache"
LOGIN_FAILURES = "login_failures"
SESSION_STATE = "session_state_cache"

DEFAULT_MAX_ENTRIES = 100_000


class BoundedMemoryStore(MemoryStore):
    """A MemoryStore that evicts expired entries and never holds more than `max_entries`."""

    __slots__ = ("_last_sweep", "max_entries", "sweep_interval")

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, sweep_interval: float = 30.0
    ) -> None:
        super().__init__()
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.sweep_interval = sweep_interval
        self._last_sweep = time.monotonic()

    def __len__(self) -> int:
        return len(self._store)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        if isinstance(value, str):
            value = value.encode("utf-8")
        async with self._lock:
            # re-inserted at the end: the dict's order is the order of the last write
            self._store.pop(key, None)
            self._store[key] = StorageObject.new(data=value, expires_in=expires_in)
            now = time.monotonic()
            if now - self._last_sweep >= self.sweep_interval or len(self._store) > self.max_entries:
                if now - self._last_sweep >= min(self.sweep_interval, 1.0):
                    self._sweep()
                    self._last_sweep = now
                while len(self._store) > self.max_entries:
                    del self._store[next(iter(self._store))]

    async def exists(self, key: str) -> bool:
        # MemoryStore's says True for an expired entry it has not dropped yet
        storage_obj = self._store.get(key)
        return storage_obj is not None and not storage_obj.expired

    def _sweep(self) -> None:
        self._store = {k: v for k, v in self._store.items() if not v.expired}


def store_registry(
    redis_url: str | None, *, max_entries: int = DEFAULT_MAX_ENTRIES
) -> tuple[StoreRegistry, RedisStore | None]:
    """The registry, and the Redis store to close at shutdown (its connections serve all)."""
    factory: Callable[[str], Store]
    root = None
    if redis_url:
        root = RedisStore.with_client(url=redis_url, namespace="pingvas_gateway")
        factory = root.with_namespace
    else:

        def factory(_name: str) -> Store:
            return BoundedMemoryStore(max_entries=max_entries)

    return StoreRegistry(default_factory=factory), root
