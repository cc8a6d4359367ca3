"""Starting and continuing sessions: one refresh-token family per log-in, one token pair per use.

Every function here works in the caller's transaction; the events it stages are sent only
if that transaction commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.tenants import ApiKeyRevoked, UserRegistered

from ..adapters import repository as repo
from ..domain import tokens
from ..domain.roles import platform_roles
from ._context import Context


@dataclass(frozen=True)
class SignedIn:
    """A session's new token pair, with whom and where it is for (rows of users and tenants)."""

    access_token: str
    expires_in: int
    refresh_token: str
    user: sa.Row
    tenant: sa.Row | None
    role: str | None


async def issue_pair(
    session: AsyncSession,
    ctx: Context,
    *,
    user: sa.Row,
    tenant: sa.Row | None,
    role: str | None,
    family_id: str | None = None,
) -> SignedIn:
    """A new refresh token (in `family_id`, or a new family) and its access token."""
    settings = ctx.settings
    family_id = family_id or repo.new_id()
    refresh = tokens.new_refresh_token()
    await repo.insert_refresh_token(
        session,
        token_hash=tokens.digest(refresh),
        family_id=family_id,
        user_id=user.id,
        tenant_id=tenant.id if tenant else None,
        ttl=settings.refresh_token_ttl,
    )
    access = tokens.issue_access_token(
        secret=settings.jwt_secret.get_secret_value(),
        ttl=settings.access_token_ttl,
        user_id=user.id,
        tenant_id=tenant.id if tenant else None,
        role=role,
        # read now, at log-in and at every refresh: a revoked operator loses it within one
        # access-token lifetime
        platform_roles=platform_roles(user.platform_role),
        email_verified=user.email_verified_at is not None,
        session_id=family_id,
        user_version=user.token_version or 0,
    )
    return SignedIn(
        access_token=access,
        expires_in=settings.access_token_ttl,
        refresh_token=refresh,
        user=user,
        tenant=tenant,
        role=role,
    )


async def revoke_keys(
    session: AsyncSession,
    ctx: Context,
    keys: Sequence[sa.Row],
    *,
    tenant_id: str,
    by_user_id: str,
    reason: str,
    at: datetime,
    audit_ip: str | None = None,
    audit: bool = False,
) -> list[str]:
    """Revoke each key (rows of live_api_keys); each one this revoked is announced as
    `apikey.revoked` with `reason` (and, with `audit`, written to the audit log). The ids it
    revoked."""
    revoked = []
    for key in keys:
        if not await repo.revoke_api_key(session, tenant_id=tenant_id, api_key_id=key.id, at=at):
            continue  # revoked meanwhile
        revoked.append(key.id)
        if audit:
            await repo.audit(
                session,
                tenant_id=tenant_id,
                action="apikey.revoked",
                actor_id=by_user_id,
                target_type="api_key",
                target_id=key.id,
                ip=audit_ip,
                details={"name": key.name, "prefix": key.prefix, "reason": reason},
            )
        await ctx.runtime.outbox.add(
            session,
            ApiKeyRevoked(
                api_key_id=key.id,
                prefix=key.prefix,
                revoked_by_user_id=by_user_id,
                reason=reason,
                revoked_at=at,
            ),
            tenant_id=tenant_id,
        )
    return revoked


async def announce_registered(
    session: AsyncSession, ctx: Context, *, user: sa.Row, via: str, tenant_id: str
) -> None:
    """`user.registered` for a new account (by sign-up or by accepting an invitation)."""
    await ctx.runtime.outbox.add(
        session,
        UserRegistered(
            user_id=user.id,
            email=user.email,
            display_name=user.name,
            locale=user.locale,
            via=via,
            registered_at=repo.aware(user.created_at),
        ),
        tenant_id=tenant_id,
    )


async def new_email_token(
    session: AsyncSession, *, user_id: str, purpose: str, ttl: int
) -> tuple[str, datetime, datetime]:
    """A fresh single-use link token for `purpose` (older ones of that purpose stop
    working); stored only as its digest. Returns (token, issued at, expires at)."""
    token = tokens.new_link_token()
    at = repo.now()
    expires_at = at + timedelta(seconds=ttl)
    await repo.expire_email_tokens(session, user_id=user_id, purpose=purpose)
    await repo.insert_email_token(
        session,
        token_hash=tokens.digest(token),
        user_id=user_id,
        purpose=purpose,
        expires_at=expires_at,
    )
    return token, at, expires_at
