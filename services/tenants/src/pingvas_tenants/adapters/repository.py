"""Queries over the tenants schema. Every function that touches a tenant's resources takes
`tenant_id` as a keyword, from the verified identity, so it cannot be forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast, overload

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit import db as kit_db
from pingvas_kit.db import new_id, now  # noqa: F401 - the callers use repo.now() and co.

from .db import (
    api_keys,
    audit_log,
    email_tokens,
    invitations,
    memberships,
    refresh_tokens,
    tenants,
    users,
)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    """The kit's `aware`, typed so that a stored time that is never NULL stays a datetime."""
    return kit_db.aware(value)


def _inserted(row: sa.Row | None) -> sa.Row:
    """The row just inserted, read back in the same transaction: it cannot be missing."""
    if row is None:
        raise RuntimeError("a row inserted in this transaction is not there")
    return row


def _rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (its result is a cursor result at run time)."""
    return cast("sa.CursorResult[Any]", result).rowcount


# -- tenants -------------------------------------------------------------------------------


async def slug_taken(session: AsyncSession, slug: str) -> bool:
    return (await session.scalar(sa.select(tenants.c.id).where(tenants.c.slug == slug))) is not None


async def insert_tenant(session: AsyncSession, *, name: str, slug: str, locale: str) -> sa.Row:
    tenant_id = new_id()
    row = {
        "id": tenant_id,
        "name": name,
        "slug": slug,
        "locale": locale,
        "plan": "free",
        "created_at": now(),
    }
    await session.execute(tenants.insert().values(**row))
    return _inserted(await get_tenant(session, tenant_id=tenant_id))


async def get_tenant(session: AsyncSession, *, tenant_id: str) -> sa.Row | None:
    """An active (not deleted) tenant."""
    return (
        await session.execute(
            sa.select(tenants).where(tenants.c.id == tenant_id, tenants.c.deleted_at.is_(None))
        )
    ).first()


async def mark_tenant_deleted(session: AsyncSession, *, tenant_id: str, at: datetime) -> None:
    await session.execute(tenants.update().where(tenants.c.id == tenant_id).values(deleted_at=at))


# -- users ---------------------------------------------------------------------------------


async def get_user(session: AsyncSession, *, user_id: str) -> sa.Row | None:
    return (await session.execute(sa.select(users).where(users.c.id == user_id))).first()


async def find_user_by_email(session: AsyncSession, email: str) -> sa.Row | None:
    return (await session.execute(sa.select(users).where(users.c.email == email.lower()))).first()


async def insert_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    locale: str,
    password_hash: str,
    verified: bool = False,
) -> sa.Row:
    at = now()
    user_id = new_id()
    row = {
        "id": user_id,
        "email": email.lower(),
        "name": name,
        "locale": locale,
        "password_hash": password_hash,
        "email_verified_at": at if verified else None,
        "created_at": at,
    }
    await session.execute(users.insert().values(**row))
    return _inserted(await get_user(session, user_id=user_id))


async def update_user(session: AsyncSession, *, user_id: str, **values: Any) -> None:
    await session.execute(users.update().where(users.c.id == user_id).values(**values))


async def raise_token_version(session: AsyncSession, *, user_id: str) -> None:
    """Every access token of the person issued before now stops working (the gateway
    compares their `uver` with this)."""
    await session.execute(
        users.update().where(users.c.id == user_id).values(token_version=users.c.token_version + 1)
    )


async def session_state(
    session: AsyncSession, *, user_id: str, tenant_id: str | None
) -> tuple[int | None, datetime | None]:
    """(the person's token version, None for no such person; since when they are a member
    of `tenant_id`, None when they are not, or the tenant is deleted, or no tenant)."""
    version = await session.scalar(sa.select(users.c.token_version).where(users.c.id == user_id))
    since = None
    if version is not None and tenant_id is not None:
        since = await session.scalar(
            sa.select(memberships.c.created_at)
            .join(tenants, tenants.c.id == memberships.c.tenant_id)
            .where(
                memberships.c.tenant_id == tenant_id,
                memberships.c.user_id == user_id,
                tenants.c.deleted_at.is_(None),
            )
        )
    return version, since


async def users_with_platform_role(session: AsyncSession, *, role: str) -> list[sa.Row]:
    """The platform's staff with `role`, by address (no tenant: platform roles span them)."""
    query = sa.select(users).where(users.c.platform_role == role).order_by(users.c.email)
    return list((await session.execute(query)).all())


# -- memberships ---------------------------------------------------------------------------


async def add_membership(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    await session.execute(
        memberships.insert().values(
            tenant_id=tenant_id, user_id=user_id, role=role, created_at=now()
        )
    )


async def get_membership(session: AsyncSession, *, tenant_id: str, user_id: str) -> sa.Row | None:
    """The membership with its tenant's name, if the tenant is active."""
    return (
        await session.execute(
            sa.select(memberships, tenants.c.name.label("tenant_name"), tenants.c.slug)
            .join(tenants, tenants.c.id == memberships.c.tenant_id)
            .where(
                memberships.c.tenant_id == tenant_id,
                memberships.c.user_id == user_id,
                tenants.c.deleted_at.is_(None),
            )
        )
    ).first()


async def memberships_of_user(session: AsyncSession, *, user_id: str) -> list[sa.Row]:
    """The user's memberships of active tenants, oldest first (the first is the default)."""
    return list(
        (
            await session.execute(
                sa.select(memberships, tenants.c.name.label("tenant_name"), tenants.c.slug)
                .join(tenants, tenants.c.id == memberships.c.tenant_id)
                .where(memberships.c.user_id == user_id, tenants.c.deleted_at.is_(None))
                .order_by(memberships.c.created_at, memberships.c.tenant_id)
            )
        ).all()
    )


async def members_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(
                    memberships.c.user_id,
                    memberships.c.role,
                    memberships.c.created_at,
                    users.c.email,
                    users.c.name,
                    users.c.email_verified_at,
                )
                .join(users, users.c.id == memberships.c.user_id)
                .where(memberships.c.tenant_id == tenant_id)
                .order_by(memberships.c.created_at, users.c.email)
            )
        ).all()
    )


async def count_owners(session: AsyncSession, *, tenant_id: str) -> int:
    return (
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(memberships)
            .where(memberships.c.tenant_id == tenant_id, memberships.c.role == "owner")
        )
        or 0
    )


async def set_role(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    await session.execute(
        memberships.update()
        .where(memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id)
        .values(role=role)
    )


async def remove_membership(session: AsyncSession, *, tenant_id: str, user_id: str) -> None:
    await session.execute(
        memberships.delete().where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
        )
    )


# -- refresh tokens ------------------------------------------------------------------------


async def insert_refresh_token(
    session: AsyncSession,
    *,
    token_hash: str,
    family_id: str,
    user_id: str,
    tenant_id: str | None,
    ttl: int,
) -> None:
    at = now()
    await session.execute(
        refresh_tokens.insert().values(
            token_hash=token_hash,
            family_id=family_id,
            user_id=user_id,
            tenant_id=tenant_id,
            created_at=at,
            expires_at=at + timedelta(seconds=ttl),
        )
    )


async def get_refresh_token(session: AsyncSession, token_hash: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        )
    ).first()


async def use_refresh_token(session: AsyncSession, token_hash: str) -> bool:
    """Mark it used; False when it already was (a concurrent rotation won)."""
    result = await session.execute(
        refresh_tokens.update()
        .where(
            refresh_tokens.c.token_hash == token_hash,
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(used_at=now())
    )
    return _rowcount(result) == 1


async def revoke_refresh_tokens(
    session: AsyncSession,
    *,
    family_id: str | None = None,
    user_id: str | None = None,
    tenant_id: str | None = None,
) -> None:
    """Revoke every token matching all the given filters (a family, a user's, a tenant's)."""
    conditions: list[sa.ColumnElement[bool]] = [refresh_tokens.c.revoked_at.is_(None)]
    if family_id is not None:
        conditions.append(refresh_tokens.c.family_id == family_id)
    if user_id is not None:
        conditions.append(refresh_tokens.c.user_id == user_id)
    if tenant_id is not None:
        conditions.append(refresh_tokens.c.tenant_id == tenant_id)
    if len(conditions) == 1:
        raise ValueError("refusing to revoke every refresh token")
    await session.execute(refresh_tokens.update().where(*conditions).values(revoked_at=now()))


# -- email tokens (verification, reset) -------------------------------------------------------


async def insert_email_token(
    session: AsyncSession, *, token_hash: str, user_id: str, purpose: str, expires_at: datetime
) -> None:
    await session.execute(
        email_tokens.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            purpose=purpose,
            created_at=now(),
            expires_at=expires_at,
        )
    )


async def consume_email_token(
    session: AsyncSession, *, token_hash: str, purpose: str
) -> str | None:
    """Use a live token once; returns its user id, or None when unknown, used or expired."""
    at = now()
    row = (
        await session.execute(
            sa.select(email_tokens.c.user_id).where(
                email_tokens.c.token_hash == token_hash,
                email_tokens.c.purpose == purpose,
                email_tokens.c.used_at.is_(None),
                email_tokens.c.expires_at > at,
            )
        )
    ).first()
    if row is None:
        return None
    result = await session.execute(
        email_tokens.update()
        .where(email_tokens.c.token_hash == token_hash, email_tokens.c.used_at.is_(None))
        .values(used_at=at)
    )
    return row.user_id if _rowcount(result) == 1 else None


async def email_token_times(
    session: AsyncSession, *, user_id: str, purpose: str, since: datetime
) -> list[datetime]:
    """When the links of `purpose` issued to the user since `since` were made, oldest first."""
    rows = await session.execute(
        sa.select(email_tokens.c.created_at)
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.created_at >= since,
        )
        .order_by(email_tokens.c.created_at)
    )
    return [aware(r) for r in rows.scalars() if r is not None]


async def expire_email_tokens(session: AsyncSession, *, user_id: str, purpose: str) -> None:
    """A new link supersedes the older ones."""
    await session.execute(
        email_tokens.update()
        .where(
            email_tokens.c.user_id == user_id,
            email_tokens.c.purpose == purpose,
            email_tokens.c.used_at.is_(None),
        )
        .values(used_at=now())
    )


# -- invitations ---------------------------------------------------------------------------


async def insert_invitation(session: AsyncSession, **values: Any) -> None:
    await session.execute(invitations.insert().values(**values))


async def invitations_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    """Open invitations (neither accepted nor revoked), newest first."""
    return list(
        (
            await session.execute(
                sa.select(invitations)
                .where(
                    invitations.c.tenant_id == tenant_id,
                    invitations.c.accepted_at.is_(None),
                    invitations.c.revoked_at.is_(None),
                )
                .order_by(invitations.c.created_at.desc())
            )
        ).all()
    )


async def find_invitation(session: AsyncSession, token_hash: str) -> sa.Row | None:
    """An invitation of an active tenant, by its token."""
    return (
        await session.execute(
            sa.select(invitations, tenants.c.name.label("tenant_name"))
            .join(tenants, tenants.c.id == invitations.c.tenant_id)
            .where(invitations.c.token_hash == token_hash, tenants.c.deleted_at.is_(None))
        )
    ).first()


async def accept_invitation(session: AsyncSession, *, invitation_id: str, user_id: str) -> bool:
    result = await session.execute(
        invitations.update()
        .where(
            invitations.c.id == invitation_id,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
        )
        .values(accepted_at=now(), accepted_by=user_id)
    )
    return _rowcount(result) == 1


async def revoke_invitations(
    session: AsyncSession, *, tenant_id: str, invitation_id: str | None = None
) -> int:
    conditions = [
        invitations.c.tenant_id == tenant_id,
        invitations.c.accepted_at.is_(None),
        invitations.c.revoked_at.is_(None),
    ]
    if invitation_id is not None:
        conditions.append(invitations.c.id == invitation_id)
    result = await session.execute(invitations.update().where(*conditions).values(revoked_at=now()))
    return _rowcount(result)


# -- API keys ------------------------------------------------------------------------------


async def insert_api_key(session: AsyncSession, **values: Any) -> None:
    await session.execute(api_keys.insert().values(**values))


async def api_keys_of_tenant(session: AsyncSession, *, tenant_id: str) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(api_keys)
                .where(api_keys.c.tenant_id == tenant_id)
                .order_by(api_keys.c.created_at.desc(), api_keys.c.id)
            )
        ).all()
    )


async def get_api_key(session: AsyncSession, *, tenant_id: str, api_key_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(api_keys).where(
                api_keys.c.tenant_id == tenant_id, api_keys.c.id == api_key_id
            )
        )
    ).first()


async def live_api_keys(
    session: AsyncSession, *, tenant_id: str, created_by: str | None = None
) -> list[sa.Row]:
    conditions = [api_keys.c.tenant_id == tenant_id, api_keys.c.revoked_at.is_(None)]
    if created_by is not None:
        conditions.append(api_keys.c.created_by == created_by)
    return list((await session.execute(sa.select(api_keys).where(*conditions))).all())


async def revoke_api_key(
    session: AsyncSession, *, tenant_id: str, api_key_id: str, at: datetime
) -> bool:
    result = await session.execute(
        api_keys.update()
        .where(
            api_keys.c.tenant_id == tenant_id,
            api_keys.c.id == api_key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return _rowcount(result) == 1


async def find_live_api_key(session: AsyncSession, key_hash: str) -> sa.Row | None:
    """A key that is not revoked, of an active tenant; with `creator_verified_at`, when the
    person who made it verified their address (None: not verified, or no such person)."""
    return (
        await session.execute(
            sa.select(api_keys, users.c.email_verified_at.label("creator_verified_at"))
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .outerjoin(users, users.c.id == api_keys.c.created_by)
            .where(
                api_keys.c.key_hash == key_hash,
                api_keys.c.revoked_at.is_(None),
                tenants.c.deleted_at.is_(None),
            )
        )
    ).first()


async def touch_api_key(
    session: AsyncSession, *, api_key_id: str, at: datetime, every: timedelta
) -> None:
    """Record use, at most once per `every` (a conditional update: no write most times)."""
    await session.execute(
        api_keys.update()
        .where(
            api_keys.c.id == api_key_id,
            sa.or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at <= at - every),
        )
        .values(last_used_at=at)
    )


# -- audit log -----------------------------------------------------------------------------


async def audit(
    session: AsyncSession,
    *,
    tenant_id: str | None,
    action: str,
    actor_id: str | None,
    actor_kind: str | None = "user",
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await session.execute(
        audit_log.insert().values(
            tenant_id=tenant_id,
            action=action,
            actor_id=actor_id,
            actor_kind=actor_kind,
            target_type=target_type,
            target_id=target_id,
            ip=ip,
            details=details,
            created_at=now(),
        )
    )


async def audit_page(
    session: AsyncSession, *, tenant_id: str, before: int | None, limit: int
) -> list[sa.Row]:
    """Newest first; `before` is the id the previous page ended at."""
    query = sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    return list((await session.execute(query.order_by(audit_log.c.id.desc()).limit(limit))).all())
