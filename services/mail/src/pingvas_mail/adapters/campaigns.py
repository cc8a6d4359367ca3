"""Campaign rows and the audience queries, each in the caller's session or transaction.

`audience_query` is the audience a campaign fixes when it starts (`fix_audience`);
`pending` reads the recipients still to queue together with what changed since (the
preference, the suppression list); `queue` moves one recipient out of `pending` and writes
its message row, which the messages' unique key (causation_id, to_email, template) keeps
to one per address even from two sends at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit.db import aware, now

from ..domain.campaigns import FREE_PLAN, LOCALES, Campaign, Progress, locale_of, normalize_audience
from .db import (
    campaign_recipients,
    campaigns,
    memberships,
    messages,
    preferences,
    recipients,
    suppressions,
    tenant_plans,
)
from .repository import affected, insert_into

log = structlog.get_logger("pingvas_mail.campaigns")

#: campaigns.content when the table has it; until then the content rides in the subjects
#: JSON under this key (Campaign.subjects never shows it)
_CONTENT_COLUMN = "content" in campaigns.c
_CONTENT_IN_SUBJECTS = "content"


def campaign_from_row(row: sa.Row) -> Campaign:
    stored = dict(row.subjects or {})
    content = (getattr(row, "content", None) if _CONTENT_COLUMN else None) or stored.get(
        _CONTENT_IN_SUBJECTS
    )
    created_at = aware(row.created_at)
    assert created_at is not None  # the column is NOT NULL
    return Campaign(
        id=row.id,
        name=row.name,
        template=row.template,
        subjects={k: v for k, v in stored.items() if k in LOCALES},
        content=dict(content or {}),
        audience=dict(row.audience or {}),
        rate_per_s=float(row.rate_per_s),
        status=row.status,
        total=int(row.total or 0),
        created_by=row.created_by,
        created_at=created_at,
        started_at=aware(row.started_at),
        finished_at=aware(row.finished_at),
    )


async def insert_campaign(session: AsyncSession, campaign: Campaign) -> None:
    stored: dict[str, Any] = {
        "id": campaign.id,
        "name": campaign.name,
        "template": campaign.template,
        "subjects": campaign.subjects,
        "content": campaign.content,
        "audience": campaign.audience,
        "rate_per_s": campaign.rate_per_s,
        "status": campaign.status,
        "total": campaign.total,
        "created_by": campaign.created_by,
        "created_at": campaign.created_at,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
    }
    if not _CONTENT_COLUMN:
        stored["subjects"] = {**campaign.subjects, _CONTENT_IN_SUBJECTS: campaign.content}
        del stored["content"]
    await session.execute(sa.insert(campaigns).values(**stored))


async def campaign(session: AsyncSession, campaign_id: str) -> Campaign | None:
    row = (await session.execute(sa.select(campaigns).where(campaigns.c.id == campaign_id))).first()
    return campaign_from_row(row) if row is not None else None


async def all_campaigns(session: AsyncSession) -> list[Campaign]:
    """Newest first."""
    rows = (
        await session.execute(
            sa.select(campaigns).order_by(campaigns.c.created_at.desc(), campaigns.c.id)
        )
    ).all()
    return [campaign_from_row(row) for row in rows]


async def progress(session: AsyncSession, campaign_id: str) -> Progress:
    rows = (
        await session.execute(
            sa.select(campaign_recipients.c.status, sa.func.count())
            .where(campaign_recipients.c.campaign_id == campaign_id)
            .group_by(campaign_recipients.c.status)
        )
    ).all()
    counts = {status: int(n) for status, n in rows}
    return Progress(
        total=sum(counts.values()),
        pending=counts.get("pending", 0),
        queued=counts.get("queued", 0),
        skipped=counts.get("skipped", 0),
    )


async def finish(session: AsyncSession, campaign_id: str, *, total: int) -> None:
    """Mark the campaign done (once: a second finish changes nothing)."""
    await session.execute(
        sa.update(campaigns)
        .where(campaigns.c.id == campaign_id, campaigns.c.status != "done")
        .values(status="done", finished_at=now(), total=total)
    )


# -- the audience --------------------------------------------------------------------------


def audience_query(audience: Mapping[str, Any]) -> sa.Select:
    """Everyone with `newsletter` on and an address not on the suppression list, optionally
    only those in at least one team on one of the audience's plans (once each), in a
    stable order."""
    r = recipients.c
    query = (
        sa.select(r.user_id, r.email, r.locale)
        .join(preferences, preferences.c.user_id == r.user_id)
        .where(preferences.c.newsletter.is_(True))
        .where(~sa.exists().where(sa.func.lower(suppressions.c.email) == sa.func.lower(r.email)))
    )
    plans = normalize_audience(audience).get("plans")
    if plans:
        plan = tenant_plans.c.plan
        on_plan: sa.ColumnElement[bool] = plan.in_(plans)
        if FREE_PLAN in plans:  # a team billing never told us about is on Free
            on_plan = sa.or_(on_plan, plan.is_(None))
        in_team = (
            sa.select(memberships.c.user_id)
            .select_from(
                memberships.outerjoin(
                    tenant_plans, tenant_plans.c.tenant_id == memberships.c.tenant_id
                )
            )
            .where(memberships.c.user_id == r.user_id, on_plan)
        )
        query = query.where(in_team.exists())
    return query.order_by(r.user_id)


async def fix_audience(session: AsyncSession, campaign: Campaign) -> int | None:
    """Start the campaign: mark it sending and write its recipients, all in the caller's
    transaction. None when another `send` started it first."""
    started = await affected(
        session,
        sa.update(campaigns)
        .where(campaigns.c.id == campaign.id, campaigns.c.status == "draft")
        .values(status="sending", started_at=now()),
    )
    if started != 1:
        return None
    rows = (await session.execute(audience_query(campaign.audience))).all()
    chosen: list[dict[str, Any]] = []
    seen_emails: set[str] = set()
    for row in rows:
        email = row.email.strip()
        if email.lower() in seen_emails:  # two accounts, one address: one copy
            continue
        seen_emails.add(email.lower())
        chosen.append(
            {
                "campaign_id": campaign.id,
                "user_id": row.user_id,
                "email": email,
                "locale": locale_of(row.locale),
                "status": "pending",
                "message_id": None,
                "position": len(chosen) + 1,
            }
        )
    for start in range(0, len(chosen), 1000):
        await session.execute(sa.insert(campaign_recipients), chosen[start : start + 1000])
    await session.execute(
        sa.update(campaigns).where(campaigns.c.id == campaign.id).values(total=len(chosen))
    )
    return len(chosen)


async def pending(session: AsyncSession, campaign_id: str, limit: int) -> list[sa.Row]:
    """The next `limit` pending recipients in order, with their name, `newsletter`
    preference now and whether their address is suppressed now."""
    cr = campaign_recipients.c
    return list(
        (
            await session.execute(
                sa.select(
                    cr.user_id,
                    cr.email,
                    cr.locale,
                    cr.position,
                    recipients.c.name,
                    preferences.c.newsletter,
                    sa.exists()
                    .where(sa.func.lower(suppressions.c.email) == sa.func.lower(cr.email))
                    .label("suppressed"),
                )
                .select_from(campaign_recipients)
                .outerjoin(recipients, recipients.c.user_id == cr.user_id)
                .outerjoin(preferences, preferences.c.user_id == cr.user_id)
                .where(cr.campaign_id == campaign_id, cr.status == "pending")
                .order_by(cr.position)
                .limit(limit)
            )
        ).all()
    )


async def queue(session: AsyncSession, campaign: Campaign, message: dict[str, Any]) -> str | None:
    """In the caller's transaction: the recipient leaves `pending` and its message row is
    written (or found: the unique key). None when another `send` took the recipient."""
    cr = campaign_recipients.c
    recipient_status = "queued" if message["status"] == "pending" else "skipped"
    taken = await affected(
        session,
        sa.update(campaign_recipients)
        .where(
            cr.campaign_id == campaign.id,
            cr.user_id == message["user_id"],
            cr.status == "pending",
        )
        .values(status=recipient_status, message_id=message["id"]),
    )
    if taken != 1:
        return None
    inserted = await affected(
        session, insert_into(session, messages).values(**message).on_conflict_do_nothing()
    )
    if inserted == 1:
        return recipient_status
    # that address already has this campaign's message (two accounts, one address, or a
    # row written by an earlier run): point at it, send nothing new
    existing = (
        await session.execute(
            sa.select(messages.c.id, messages.c.status).where(
                messages.c.causation_id == message["causation_id"],
                messages.c.to_email == message["to_email"],
                messages.c.template == message["template"],
            )
        )
    ).first()
    if existing is None:  # pragma: no cover - a conflict on the id itself
        raise RuntimeError(f"message {message['id']} conflicts with nothing findable")
    await session.execute(
        sa.update(campaign_recipients)
        .where(cr.campaign_id == campaign.id, cr.user_id == message["user_id"])
        .values(message_id=existing.id)
    )
    log.info(
        "campaign.already_queued",
        campaign_id=campaign.id,
        user_id=message["user_id"],
        message_id=existing.id,
    )
    return "skipped"
