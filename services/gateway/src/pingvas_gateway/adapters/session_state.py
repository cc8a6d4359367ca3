"""Whether a person's access token still holds, as tenants knows it (docs/identity.md,
"Revocation"): POST /internal/sessions/state {"user_id", "tenant_id"}, answers cached.

A signature and an expiry say a token was issued; they cannot say it was taken back. Tenants
keeps, per person, a token version that a password reset raises (the token carries the value
it was issued with as `uver`), and the memberships, which a member's removal and a tenant's
deletion end. The gateway asks for the current state of (person, tenant) and remembers it
for `ttl` seconds (5 by default, in Redis when configured, so every replica shares it): a
revocation takes effect within that time.

When tenants cannot answer, the last answer it gave (kept up to one access-token lifetime)
still counts: every revocation goes through tenants, so while it is down no new one can
happen, and at most one made in the `ttl` before it went down is missed until it is back or
the token expires. A (person, tenant) with no answer remembered is refused with 503, as an
API key that cannot be checked is: the gateway never lets a token through unchecked."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from litestar.stores.base import Store

from pingvas_kit.identity import HEADER as IDENTITY_HEADER
from pingvas_kit.identity import Identity, issue
from pingvas_kit.logging import get_logger

STATE_PATH = "/internal/sessions/state"

log = get_logger("pingvas.gateway.auth")


class StateCheckUnavailable(Exception):
    """Tenants could not say whether the token still holds, and nothing is remembered."""


@dataclass(frozen=True, slots=True)
class SessionState:
    user_exists: bool
    token_version: int
    #: epoch seconds; None: not a member of the tenant asked about (or none was asked)
    member_since: int | None

    def refuses(self, claims: dict[str, Any], *, leeway: int) -> str | None:
        """Why a token with these claims no longer holds; None when it does."""
        if not self.user_exists:
            return "no such person"
        if _int(claims.get("uver")) < self.token_version:
            return "issued before the password was reset"
        if claims.get("tid") is not None:
            if self.member_since is None:
                return "not a member of the tenant (removed, or the tenant is deleted)"
            # removed and invited again: a token from before the new membership stays refused
            if _int(claims.get("iat")) + leeway < self.member_since:
                return "issued before the current membership"
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class SessionStateChecker:
    def __init__(
        self,
        *,
        tenants_url: str | None,
        client: httpx.AsyncClient,
        cache: Store,
        internal_secret: str,
        ttl: float,
        keep: int,
    ) -> None:
        self.tenants_url = tenants_url.rstrip("/") if tenants_url else None
        self.client = client
        self.cache = cache
        self.internal_secret = internal_secret
        #: how long an answer counts as current
        self.ttl = ttl
        #: how long it is kept for when tenants cannot answer (an access token's lifetime)
        self.keep = max(1, keep)

    async def state(self, *, user_id: str, tenant_id: str | None, caller: Identity) -> SessionState:
        key = f"{user_id}|{tenant_id or ''}"
        cached = await self.cache.get(key)
        remembered = json.loads(cached) if cached is not None else None
        if remembered is not None and time.time() - remembered["at"] < self.ttl:
            return _state(remembered)
        try:
            answer = await self._ask_tenants(user_id, tenant_id, caller)
        except StateCheckUnavailable as exc:
            if remembered is None:
                raise
            log.warning("auth.session_state_stale", reason=str(exc))
            return _state(remembered)
        answer["at"] = time.time()
        await self.cache.set(key, json.dumps(answer).encode(), expires_in=self.keep)
        return _state(answer)

    async def forget(self, *, user_id: str, tenant_id: str | None) -> None:
        """Drop what is remembered of (person, tenant): the next request asks tenants again
        (after a removal from the team that went through this gateway)."""
        await self.cache.delete(f"{user_id}|{tenant_id or ''}")

    async def _ask_tenants(
        self, user_id: str, tenant_id: str | None, caller: Identity
    ) -> dict[str, Any]:
        if self.tenants_url is None:
            raise StateCheckUnavailable("no tenants upstream configured")
        headers = {IDENTITY_HEADER: issue(caller, self.internal_secret, audience="tenants")}
        if caller.request_id:
            headers["x-request-id"] = caller.request_id
        try:
            response = await self.client.post(
                self.tenants_url + STATE_PATH,
                json={"user_id": user_id, "tenant_id": tenant_id},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise StateCheckUnavailable(type(exc).__name__) from None
        if response.status_code != 200:
            raise StateCheckUnavailable(f"HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise StateCheckUnavailable("not JSON") from None
        try:
            since = answer["member_since"]
            return {
                "user_exists": answer["user_exists"] is True,
                "token_version": int(answer["token_version"]),
                "member_since": None if since is None else int(since),
            }
        except (KeyError, TypeError, ValueError):
            raise StateCheckUnavailable("unexpected answer") from None


def _state(entry: dict[str, Any]) -> SessionState:
    return SessionState(
        user_exists=bool(entry["user_exists"]),
        token_version=int(entry["token_version"]),
        member_since=entry["member_since"],
    )
