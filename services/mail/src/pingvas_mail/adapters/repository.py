"""Queries over the mail schema: the directory, preferences, messages and suppressions.
Whatever reads or writes on behalf of a caller takes the person or tenant as a keyword,
from the verified identity or the event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit.db import aware, new_id, now  # noqa: F401 - callers use repo.now() and co.

from ..domain.redact import redact
from .db import (
    memberships,
    messages,
    preferences,
    recipients,
    suppressions,
    tenant_plans,
    tenants,
)

PREFERENCE_KEYS = ("job_completed", "usage_notices", "newsletter")
DEFAULT_PREFERENCES = {"job_completed": False, "usage_notices": True, "newsletter": False}


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_into(session: AsyncSession, table: sa.Table) -> Any:
    """An INSERT with `on_conflict_do_nothing`, in the session's dialect."""
    return (pg_insert if _is_postgres(session) else sqlite_insert)(table)


async def affected(session: AsyncSession, statement: sa.Executable) -> int:
    """How many rows an INSERT/UPDATE touched (`session.execute` types its result as a
    plain Result; for DML it is a CursorResult, which has the count)."""
    return cast(CursorResult[Any], await session.execute(statement)).rowcount


def normalise_email(email: str) -> str:
    """Addresses compare case-insensitively for suppression (the local part is, in
    practice, case-insensitive at every provider we send to)."""
    return email.strip().lower()


# -- the directory ------------------------------------------------------------------------------


async def upsert_recipient(
    session: AsyncSession, *, user_id: str, email: str, name: str | None, locale: str | None
) -> None:
    """The person as user.registered describes them: it wins over what other events said."""
    values = {"user_id": user_id, "email": email, "name": name, "updated_at": now()}
    if locale:
        values["locale"] = locale
    stmt = insert_into(session, recipients).values(**values)
    update = {k: stmt.excluded[k] for k in values if k != "user_id"}
    await session.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_=update))


async def add_recipient_if_absent(
    session: AsyncSession, *, user_id: str, email: str, name: str | None, locale: str | None
) -> None:
    """What tenant.created / member.joined know of a person, when nothing better is held."""
    values = {"user_id": user_id, "email": email, "name": name, "updated_at": now()}
    if locale:
        values["locale"] = locale
    await session.execute(
        insert_into(session, recipients)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


async def set_recipient_locale(session: AsyncSession, *, user_id: str, locale: str) -> None:
    """The language the person chose on their account page (user.preferences_changed)."""
    await session.execute(
        recipients.update()
        .where(recipients.c.user_id == user_id)
        .values(locale=locale, updated_at=now())
    )


async def saved_locale_of(session: AsyncSession, email: str) -> str | None:
    """The language the person with this address reads their mail in, if they have an
    account (an invitation names an address, not a user)."""
    return (
        await session.execute(
            sa.select(recipients.c.locale).where(recipients.c.email == email.lower()).limit(1)
        )
    ).scalar()


async def recipient(session: AsyncSession, user_id: str) -> sa.Row | None:
    return (
        await session.execute(sa.select(recipients).where(recipients.c.user_id == user_id))
    ).first()


async def set_membership(session: AsyncSession, *, tenant_id: str, user_id: str, role: str) -> None:
    stmt = insert_into(session, memberships).values(tenant_id=tenant_id, user_id=user_id, role=role)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["tenant_id", "user_id"], set_={"role": role})
    )


async def remove_membership(session: AsyncSession, *, tenant_id: str, user_id: str) -> None:
    await session.execute(
        memberships.delete().where(
            memberships.c.tenant_id == tenant_id, memberships.c.user_id == user_id
        )
    )


async def members_with_roles(
    session: AsyncSession, *, tenant_id: str, roles: Sequence[str]
) -> list[sa.Row]:
    """The tenant's members in these roles whose address is known, in a stable order."""
    query = (
        sa.select(recipients, memberships.c.role)
        .join(memberships, memberships.c.user_id == recipients.c.user_id)
        .where(memberships.c.tenant_id == tenant_id, memberships.c.role.in_(list(roles)))
        .order_by(recipients.c.user_id)
    )
    return list((await session.execute(query)).all())


async def set_plan(
    session: AsyncSession, *, tenant_id: str, plan: str, updated_at: datetime
) -> None:
    """Take the plan unless what is held is newer (events arrive in any order)."""
    stmt = insert_into(session, tenant_plans).values(
        tenant_id=tenant_id, plan=plan, updated_at=updated_at
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={"plan": plan, "updated_at": updated_at},
            where=tenant_plans.c.updated_at < updated_at,
        )
    )


async def set_tenant_name(session: AsyncSession, *, tenant_id: str, name: str) -> None:
    stmt = insert_into(session, tenants).values(tenant_id=tenant_id, name=name, updated_at=now())
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id"],
            set_={"name": name, "updated_at": stmt.excluded.updated_at},
        )
    )


async def tenant_name(session: AsyncSession, tenant_id: str | None) -> str | None:
    if tenant_id is None:
        return None
    row = (
        await session.execute(sa.select(tenants.c.name).where(tenants.c.tenant_id == tenant_id))
    ).first()
    return row.name if row is not None else None


async def purge_tenant(session: AsyncSession, *, tenant_id: str) -> None:
    for table in (messages, memberships, tenant_plans, tenants):
        await session.execute(table.delete().where(table.c.tenant_id == tenant_id))


# -- preferences --------------------------------------------------------------------------------


async def get_preferences(session: AsyncSession, user_id: str) -> dict[str, bool]:
    row = (
        await session.execute(sa.select(preferences).where(preferences.c.user_id == user_id))
    ).first()
    if row is None:
        return dict(DEFAULT_PREFERENCES)
    return {k: bool(getattr(row, k)) for k in PREFERENCE_KEYS}


async def set_preferences(
    session: AsyncSession, user_id: str, values: dict[str, bool]
) -> dict[str, bool]:
    """Set some preferences (the others keep their value, or their default)."""
    current = await get_preferences(session, user_id)
    current.update({k: bool(v) for k, v in values.items() if k in PREFERENCE_KEYS})
    stmt = insert_into(session, preferences).values(user_id=user_id, updated_at=now(), **current)
    update = {k: stmt.excluded[k] for k in (*PREFERENCE_KEYS, "updated_at")}
    await session.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_=update))
    return current


async def add_preferences_if_absent(session: AsyncSession, user_id: str, **values: bool) -> None:
    await session.execute(
        insert_into(session, preferences)
        .values(user_id=user_id, updated_at=now(), **{**DEFAULT_PREFERENCES, **values})
        .on_conflict_do_nothing(index_elements=["user_id"])
    )


# -- suppressions -------------------------------------------------------------------------------


async def is_suppressed(session: AsyncSession, email: str) -> bool:
    row = (
        await session.execute(
            sa.select(suppressions.c.email).where(suppressions.c.email == normalise_email(email))
        )
    ).first()
    return row is not None


async def suppress(session: AsyncSession, *, email: str, reason: str, detail: str | None) -> bool:
    """Put an address on the list; False when it was there already."""
    added = await affected(
        session,
        insert_into(session, suppressions)
        .values(
            email=normalise_email(email),
            reason=reason,
            detail=(detail or None) and detail[:500],
            created_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["email"]),
    )
    return added == 1


# -- messages -----------------------------------------------------------------------------------


async def add_message(session: AsyncSession, **values: Any) -> str | None:
    """Insert a message; None when one with the same (causation, address, template) exists."""
    message_id = values.setdefault("id", new_id())
    values.setdefault("created_at", now())
    values.setdefault("attempts", 0)
    added = await affected(
        session,
        insert_into(session, messages)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["causation_id", "to_email", "template"]),
    )
    return message_id if added == 1 else None


async def claim(session: AsyncSession, *, at: datetime, limit: int) -> list[sa.Row]:
    """Take up to `limit` due pending messages for sending: `sending`, `claimed_at`,
    one more attempt. Postgres: FOR UPDATE SKIP LOCKED, so senders never share a row."""
    m = messages.c
    due = (
        sa.select(m.id)
        .where(m.status == "pending")
        .where(sa.or_(m.next_attempt_at.is_(None), m.next_attempt_at <= at))
        .order_by(m.created_at, m.id)
        .limit(limit)
    )
    if _is_postgres(session):
        due = due.with_for_update(skip_locked=True)
    ids = [r.id for r in (await session.execute(due)).all()]
    if not ids:
        return []
    await session.execute(
        messages.update()
        .where(m.id.in_(ids), m.status == "pending")
        .values(status="sending", claimed_at=at, attempts=m.attempts + 1)
    )
    rows = (
        await session.execute(sa.select(messages).where(m.id.in_(ids), m.status == "sending"))
    ).all()
    order = {message_id: i for i, message_id in enumerate(ids)}
    return sorted(rows, key=lambda r: order[r.id])


async def set_status(session: AsyncSession, message_id: str, *, expect: str, **values: Any) -> bool:
    """Move a message on from `expect`; False when it was not in that state any more."""
    moved = await affected(
        session,
        messages.update()
        .where(messages.c.id == message_id, messages.c.status == expect)
        .values(**values),
    )
    return moved == 1


async def forget_links(session: AsyncSession, message_ids: list[str]) -> None:
    """Store these messages without the secrets in their links (pingvas_mail.redact): for a
    message that is sent or will never be."""
    if not message_ids:
        return
    m = messages.c
    rows = (
        await session.execute(
            sa.select(m.id, m.html, m.text).where(
                m.id.in_(message_ids), m.status.not_in(["pending", "sending"])
            )
        )
    ).all()
    for row in rows:
        html, text = redact(row.html), redact(row.text)
        if (html, text) != (row.html, row.text):
            await session.execute(
                messages.update().where(m.id == row.id).values(html=html, text=text)
            )


async def expire_leases(session: AsyncSession, *, before: datetime) -> list[str]:
    """Messages claimed before `before` and never recorded become `unknown`: SES may or
    may not have taken them, and without an idempotency key a resend could be a duplicate."""
    m = messages.c
    ids = [
        r.id
        for r in (
            await session.execute(
                sa.select(m.id).where(m.status == "sending", m.claimed_at < before)
            )
        ).all()
    ]
    if ids:
        await session.execute(
            messages.update()
            .where(m.id.in_(ids), m.status == "sending")
            .values(
                status="unknown", error="the sender stopped after handing it to SES; not resent"
            )
        )
    return ids


async def message_by_provider_id(session: AsyncSession, provider_message_id: str) -> sa.Row | None:
    return (
        await session.execute(
            sa.select(messages)
            .where(messages.c.provider_message_id == provider_message_id)
            .limit(1)
        )
    ).first()


async def recent_messages(session: AsyncSession, *, limit: int = 100) -> list[sa.Row]:
    return list(
        (
            await session.execute(
                sa.select(messages)
                .order_by(messages.c.created_at.desc(), messages.c.id.desc())
                .limit(limit)
            )
        ).all()
    )


async def message(session: AsyncSession, message_id: str) -> sa.Row | None:
    return (await session.execute(sa.select(messages).where(messages.c.id == message_id))).first()
