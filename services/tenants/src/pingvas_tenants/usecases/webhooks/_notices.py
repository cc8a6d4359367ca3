"""Telling a team that one of its endpoints was disabled: the audit log, and an event
mail turns into a message to each owner, in their language."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.tenants import Recipient, WebhookDisabled

from ...adapters import repository as repo
from .._context import Context


async def announce_disabled(
    ctx: Context, session: AsyncSession, endpoint: sa.Row, *, reason: str, at: datetime
) -> None:
    await repo.audit(
        session,
        tenant_id=endpoint.tenant_id,
        action="webhook.disabled",
        actor_id=None,
        actor_kind="system",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        details={"reason": reason, "consecutive_failures": endpoint.consecutive_failures + 1},
    )
    members = await repo.members_of_tenant(session, tenant_id=endpoint.tenant_id)
    owners = []
    for member in members:
        if member.role != "owner":
            continue
        user = await repo.get_user(session, user_id=member.user_id)
        locale = user.locale if user is not None and user.locale in ("ko", "en") else "en"
        owners.append(Recipient(email=member.email, display_name=member.name, locale=locale))
    await ctx.runtime.outbox.add(
        session,
        WebhookDisabled(
            endpoint_id=endpoint.id,
            url=endpoint.url,
            reason=reason,
            failing_since=repo.aware(endpoint.failing_since) or at,
            consecutive_failures=endpoint.consecutive_failures + 1,
            owners=owners,
            settings_url=ctx.link("/webhooks"),
            disabled_at=at,
        ),
        tenant_id=endpoint.tenant_id,
        subject=endpoint.id,
    )
