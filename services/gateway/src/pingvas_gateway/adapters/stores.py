"""Where the gateway keeps its little state (rate-limit counters, deny-listed sessions,
verified API keys): Litestar stores, in Redis when GATEWAY_REDIS_URL is set, else in process."""

from __future__ import annotations

from collections.abc import Callable

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry

RATE_LIMITS = "rate_limit"
DENY_LIST = "session_deny_list"
API_KEYS = "api_key_cache"


def store_registry(redis_url: str | None) -> tuple[StoreRegistry, RedisStore | None]:
    """The registry, and the Redis store to close at shutdown (its connections serve all)."""
    factory: Callable[[str], Store]
    root = None
    if redis_url:
        root = RedisStore.with_client(url=redis_url, namespace="pingvas_gateway")
        factory = root.with_namespace
    else:
        factory = _memory
    return StoreRegistry(default_factory=factory), root


def _memory(_name: str) -> Store:
    return MemoryStore()
