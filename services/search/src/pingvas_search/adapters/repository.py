"""Queries on search's own tables (adapters/db.py). Every image query names its tenant."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import (
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted
from pingvas_kit.db import now

from .db import image_state, tenant_directory

LIVE, DELETED = "live", "deleted"


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


def _utc(value: datetime) -> datetime:
    """A time as UTC-aware: SQLite reads naive datetimes back, and every stored time is
    UTC (the kit's `aware` also passes None through; these times are always there)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- image tombstones -------------------------------------------------------------------


async def claim_live(session: AsyncSession, *, tenant_id: str, image_id: str) -> bool:
    """Record the image as live unless search has heard of it before; True when it is
    live now (False: it was deleted, and stays deleted). On Postgres the insert waits for
    a concurrent delete of the same image to commit, so the two never interleave."""
    await session.execute(
        _insert(session, image_state)
        .values(image_id=image_id, tenant_id=tenant_id, state=LIVE, updated_at=now())
        .on_conflict_do_nothing(index_elements=["image_id"])
    )
    state = (
        await session.execute(
            sa.select(image_state.c.state).where(
                image_state.c.image_id == image_id, image_state.c.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    return state == LIVE


async def bury(session: AsyncSession, *, tenant_id: str, image_id: str) -> None:
    """Mark the image deleted for good (whether or not it was seen created)."""
    stmt = _insert(session, image_state).values(
        image_id=image_id, tenant_id=tenant_id, state=DELETED, updated_at=now()
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["image_id"],
            set_={"state": DELETED, "updated_at": stmt.excluded.updated_at},
            where=image_state.c.tenant_id == tenant_id,
        )
    )


async def bury_tenant(session: AsyncSession, *, tenant_id: str) -> int:
    result = await session.execute(
        image_state.update()
        .where(image_state.c.tenant_id == tenant_id, image_state.c.state == LIVE)
        .values(state=DELETED, updated_at=now())
    )
    # an UPDATE's result is a CursorResult (typed as the general Result)
    return cast("CursorResult[Any]", result).rowcount or 0


async def deleted_since(session: AsyncSession, since: datetime) -> list[tuple[str, str]]:
    """(tenant_id, image_id) of images tombstoned at or after `since` (the reindex's catch-up)."""
    rows = await session.execute(
        sa.select(image_state.c.tenant_id, image_state.c.image_id).where(
            image_state.c.state == DELETED, image_state.c.updated_at >= since
        )
    )
    return [(r.tenant_id, r.image_id) for r in rows]


async def deleted_among(session: AsyncSession, image_ids: Sequence[str]) -> set[str]:
    if not image_ids:
        return set()
    rows = await session.execute(
        sa.select(image_state.c.image_id).where(
            image_state.c.image_id.in_(list(image_ids)), image_state.c.state == DELETED
        )
    )
    return {r.image_id for r in rows}


async def deleted_tenants(session: AsyncSession) -> set[str]:
    rows = await session.execute(
        sa.select(tenant_directory.c.tenant_id).where(tenant_directory.c.status == DELETED)
    )
    return {r.tenant_id for r in rows}


# -- the operators' tenant directory ----------------------------------------------------------


def _search_text(row: dict[str, Any]) -> str:
    return " ".join(str(row.get(k) or "") for k in ("name", "slug", "owner_email")).lower()


async def _locked_row(
    session: AsyncSession, tenant_id: str, first_seen: datetime
) -> dict[str, Any]:
    """The tenant's row, created empty if this is the first event about it, and locked
    for the rest of the transaction (on Postgres a concurrent first insert waits for the
    other to commit, so no event's changes are lost)."""
    await session.execute(
        _insert(session, tenant_directory)
        .values(tenant_id=tenant_id, created_at=first_seen, updated_at=now())
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    row = (
        await session.execute(
            sa.select(tenant_directory)
            .where(tenant_directory.c.tenant_id == tenant_id)
            .with_for_update()
        )
    ).one()
    return dict(row._mapping)


async def _update(session: AsyncSession, current: dict[str, Any], changes: dict[str, Any]) -> None:
    merged = {**current, **changes}
    changes = {**changes, "search_text": _search_text(merged), "updated_at": now()}
    await session.execute(
        tenant_directory.update()
        .where(tenant_directory.c.tenant_id == current["tenant_id"])
        .values(**changes)
    )


async def tenant_created(session: AsyncSession, *, tenant_id: str, data: TenantCreated) -> None:
    current = await _locked_row(session, tenant_id, data.created_at)
    changes: dict[str, Any] = {
        "name": data.name,
        "slug": data.slug,
        "owner_user_id": data.owner_user_id,
        "locale": data.locale,
        "created_at": data.created_at,
    }
    if current["status"] != DELETED:  # a deleted tenant keeps no owner address
        changes["owner_email"] = str(data.owner_email)
    if current["billing_updated_at"] is None:  # billing's word beats the sign-up's "free"
        changes["plan"] = data.plan
    await _update(session, current, changes)


async def subscription_state(
    session: AsyncSession,
    *,
    tenant_id: str,
    data: SubscriptionActivated | SubscriptionChanged | SubscriptionCancelled | SubscriptionExpired,
    at: datetime,
) -> bool:
    """Apply a billing.subscription.* state unless the row already shows a newer one."""
    current = await _locked_row(session, tenant_id, at)
    updated = _utc(data.updated_at)
    seen = current["billing_updated_at"]
    if seen is not None and _utc(seen) > updated:
        return False
    # an expired subscription's event carries no status: it is "expired"
    status = "expired" if isinstance(data, SubscriptionExpired) else data.status
    await _update(
        session,
        current,
        {"plan": data.plan, "subscription_status": status, "billing_updated_at": updated},
    )
    return True


async def tenant_deleted(session: AsyncSession, *, tenant_id: str, data: TenantDeleted) -> None:
    current = await _locked_row(session, tenant_id, data.deleted_at)
    await _update(
        session,
        current,
        {"status": DELETED, "deleted_at": data.deleted_at, "owner_email": None, "slug": data.slug},
    )


async def is_tenant_deleted(session: AsyncSession, tenant_id: str) -> bool:
    status = (
        await session.execute(
            sa.select(tenant_directory.c.status).where(tenant_directory.c.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    return status == DELETED


def encode_cursor(created_at: datetime, tenant_id: str) -> str:
    raw = json.dumps([_utc(created_at).isoformat(), tenant_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """ValueError when it is not a cursor this service issued."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, tenant_id = json.loads(raw)
        return _utc(datetime.fromisoformat(at)), str(tenant_id)
    except Exception as exc:  # noqa: BLE001 - any garbage is the same bad cursor
        raise ValueError("not a cursor") from exc


async def list_tenants(
    session: AsyncSession,
    *,
    q: str = "",
    plan: str | None = None,
    status: str | None = None,
    subscription_status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> Sequence[sa.Row]:
    c = tenant_directory.c
    query = sa.select(tenant_directory)
    if q.strip():
        needle = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(c.search_text.like(f"%{needle}%", escape="\\"))
    if plan:
        query = query.where(c.plan == plan)
    if status:
        query = query.where(c.status == status)
    if subscription_status:
        query = query.where(c.subscription_status == subscription_status)
    if after is not None:
        at, last = after
        query = query.where(
            sa.or_(c.created_at < at, sa.and_(c.created_at == at, c.tenant_id < last))
        )
    query = query.order_by(c.created_at.desc(), c.tenant_id.desc()).limit(limit)
    return (await session.execute(query)).all()
