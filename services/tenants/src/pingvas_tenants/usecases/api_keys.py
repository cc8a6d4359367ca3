"""API keys for partners: shown once, stored hashed, listed by prefix, revocable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from pingvas_contracts.events.tenants import ApiKeyCreated, ApiKeyRevoked

from ..adapters import repository as repo
from ..domain import tokens
from ..domain.errors import EmailNotVerified, NotAuthenticated, NotFound
from ._context import Context

#: how stale a key's `last_used_at` may get: one write a minute at most, not one per request
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    """A key just made; `key` itself is never stored nor shown again."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    key: str


async def list_api_keys(ctx: Context, *, tenant_id: str) -> list[sa.Row]:
    async with ctx.db.sessionmaker() as session:
        return await repo.api_keys_of_tenant(session, tenant_id=tenant_id)


async def create_api_key(
    ctx: Context,
    *,
    tenant_id: str,
    name: str,
    scopes: list[str],
    actor_id: str,
    ip: str | None,
) -> NewApiKey:
    """A new key for the team; only someone with a verified address makes one."""
    key, prefix = tokens.new_api_key()
    scopes = sorted(set(scopes))
    at = repo.now()
    key_id = repo.new_id()
    async with ctx.db.transaction() as session:
        creator = await repo.get_user(session, user_id=actor_id)
        if creator is None or creator.email_verified_at is None:
            raise EmailNotVerified("Verify your email address before creating API keys.")
        await repo.insert_api_key(
            session,
            id=key_id,
            tenant_id=tenant_id,
            name=name,
            prefix=prefix,
            key_hash=tokens.digest(key),
            scopes=scopes,
            created_by=actor_id,
            created_at=at,
        )
        await repo.audit(
            session,
            tenant_id=tenant_id,
            action="apikey.created",
            actor_id=actor_id,
            target_type="api_key",
            target_id=key_id,
            ip=ip,
            details={"name": name, "prefix": prefix, "scopes": scopes},
        )
        await ctx.runtime.outbox.add(
            session,
            ApiKeyCreated(
                api_key_id=key_id,
                name=name,
                prefix=prefix,
                scopes=scopes,
                created_by_user_id=actor_id,
                created_at=at,
            ),
            tenant_id=tenant_id,
        )
    return NewApiKey(id=key_id, name=name, prefix=prefix, scopes=scopes, created_at=at, key=key)


async def revoke_api_key(
    ctx: Context, *, tenant_id: str, api_key_id: str, actor_id: str, ip: str | None
) -> None:
    """The key stops working (at the gateway within seconds, by `apikey.revoked`); revoking
    a revoked key again changes nothing. NotFound for a key of another team."""
    at = repo.now()
    async with ctx.db.transaction() as session:
        row = await repo.get_api_key(session, tenant_id=tenant_id, api_key_id=api_key_id)
        if row is None:
            raise NotFound("No such API key.")
        if await repo.revoke_api_key(session, tenant_id=tenant_id, api_key_id=api_key_id, at=at):
            await repo.audit(
                session,
                tenant_id=tenant_id,
                action="apikey.revoked",
                actor_id=actor_id,
                target_type="api_key",
                target_id=api_key_id,
                ip=ip,
                details={"name": row.name, "prefix": row.prefix},
            )
            await ctx.runtime.outbox.add(
                session,
                ApiKeyRevoked(
                    api_key_id=api_key_id,
                    prefix=row.prefix,
                    revoked_by_user_id=actor_id,
                    reason="user",
                    revoked_at=at,
                ),
                tenant_id=tenant_id,
            )


async def verify_api_key(ctx: Context, *, key: str) -> sa.Row:
    """The live key (with its creator's verification time), its use noted; NotAuthenticated
    for anything else."""
    if not tokens.looks_like_api_key(key):
        raise NotAuthenticated("This API key is not valid.", code="invalid-api-key")
    async with ctx.db.sessionmaker() as session:
        row = await repo.find_live_api_key(session, tokens.digest(key))
    if row is None:
        raise NotAuthenticated("This API key is not valid.", code="invalid-api-key")
    at = repo.now()
    last = repo.aware(row.last_used_at)
    if last is None or at - last >= LAST_USED_EVERY:
        async with ctx.db.transaction() as session:
            await repo.touch_api_key(session, api_key_id=row.id, at=at, every=LAST_USED_EVERY)
    return row
