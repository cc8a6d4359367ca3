"""API keys, as tenants knows them: POST /internal/api-keys/verify {"key"}, answers cached.

The cache is keyed by the key's SHA-256 (never the key itself) and remembers refusals too: a
key that does not exist cannot start existing (it is random), and a revoked one stays
revoked; so a revoked key stops working within `ttl` seconds, as docs/identity.md promises."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from litestar.stores.base import Store

from pingvas_kit.identity import HEADER as IDENTITY_HEADER
from pingvas_kit.identity import Identity, issue

VERIFY_PATH = "/internal/api-keys/verify"
_REFUSED = b"{}"


class KeyCheckUnavailable(Exception):
    """Tenants could not say whether the key is good (down, slow, or answered 5xx)."""


class ApiKeyVerifier:
    def __init__(
        self,
        *,
        tenants_url: str | None,
        client: httpx.AsyncClient,
        cache: Store,
        internal_secret: str,
        ttl: int,
    ) -> None:
        self.tenants_url = tenants_url.rstrip("/") if tenants_url else None
        self.client = client
        self.cache = cache
        self.internal_secret = internal_secret
        self.ttl = ttl

    async def verify(self, key: str, *, caller: Identity) -> dict[str, Any] | None:
        """Tenants' answer for a good key ({key_id, tenant_id, scopes, ...}); None if refused."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        cached = await self.cache.get(digest)
        if cached is not None:
            return json.loads(cached) or None
        answer = await self._ask_tenants(key, caller)
        await self.cache.set(
            digest, json.dumps(answer).encode() if answer else _REFUSED, expires_in=self.ttl
        )
        return answer

    async def _ask_tenants(self, key: str, caller: Identity) -> dict[str, Any] | None:
        if self.tenants_url is None:
            raise KeyCheckUnavailable("no tenants upstream configured")
        headers = {IDENTITY_HEADER: issue(caller, self.internal_secret, audience="tenants")}
        if caller.request_id:
            headers["x-request-id"] = caller.request_id
        try:
            response = await self.client.post(
                self.tenants_url + VERIFY_PATH, json={"key": key}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise KeyCheckUnavailable(type(exc).__name__) from None
        if response.status_code in (401, 403, 404, 410, 422):
            return None
        if response.status_code != 200:
            raise KeyCheckUnavailable(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise KeyCheckUnavailable("not JSON") from None
        if not isinstance(answer, dict):
            raise KeyCheckUnavailable("unexpected answer")
        if answer.get("valid") is False or answer.get("revoked"):
            return None
        if not (answer.get("api_key_id") or answer.get("key_id") or answer.get("id")):
            raise KeyCheckUnavailable("unexpected answer")
        return answer
