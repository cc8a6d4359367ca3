"""Newsletter campaigns (docs/mail.md, "Newsletter"): create one, read them, send one.

    campaign = await create_campaign(db, name=..., subjects={"en": ..., "ko": ...},
                                     content={"en": {"title": ..., "body_paragraphs": [...]},
                                              "ko": {...}},
                                     audience={"plans": ["pro"]})
    await send(db, campaign.id, settings=settings)

`send` fixes the audience the first time (one transaction: the campaign becomes `sending`
and every person with `newsletter` on, optionally in a team on one of the audience's plans,
not on the suppression list, becomes a `campaign_recipients` row with a position), then
takes the pending recipients in order, at the campaign's rate: each becomes a `messages`
row (`pending`, category `marketing`, `causation_id = campaign:<id>`, rendered in the
recipient's language with a one-click unsubscribe link) and is marked `queued` in the same
transaction. The sender loop mails the rows. A crash leaves every recipient either pending
or queued with its message, so `send` again resumes where it stopped; the messages' unique
key (causation_id, to_email, template) means nobody gets a second copy, even from two
`send`s at once. Someone who unsubscribed or bounced after the audience was fixed gets an
`unsubscribed` / `suppressed` row instead, and the recipient is `skipped`.

The rules are in `pingvas_mail.domain.campaigns`, the queries in
`pingvas_mail.adapters.campaigns`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from pingvas_kit.db import Database, new_id, now

from .. import templates
from ..adapters import campaigns as store
from ..domain import unsubscribe
from ..domain.campaigns import (
    DEFAULT_RATE_PER_S,
    DEFAULT_TEMPLATE,
    MAX_BATCH,
    Campaign,
    CampaignError,
    Progress,
    SendResult,
    check_renders,
    message_for,
    new_campaign,
)
from ..domain.rendering import Renderer
from ..domain.unsubscribe import UnsubscribeUrl
from ..settings import Settings

log = structlog.get_logger("pingvas_mail.campaigns")


def default_unsubscribe_url(settings: Settings) -> UnsubscribeUrl:
    """The signed link to the unsubscribe page, as the mail service itself makes it."""
    return lambda user_id, preference: unsubscribe.page_url(
        settings, unsubscribe.sign(settings, user_id, preference)
    )


async def create_campaign(
    db: Database,
    *,
    name: str,
    subjects: Mapping[str, str],
    template: str = DEFAULT_TEMPLATE,
    content: Mapping[str, Any] | None = None,
    audience: Mapping[str, Any] | None = None,
    rate_per_s: float = DEFAULT_RATE_PER_S,
    created_by: str | None = None,
    render: Renderer | None = None,
    app_url: str = "https://app.pingvas.test",
) -> Campaign:
    """A draft campaign; nobody is chosen or mailed until `send`. The template is tried
    in every language first (with `render`, else the mail templates). The newsletter
    template needs a body in every language."""
    campaign = new_campaign(
        id=new_id(),
        at=now(),
        name=name,
        subjects=subjects,
        template=template,
        content=content,
        audience=audience,
        rate_per_s=rate_per_s,
        created_by=created_by,
    )
    check_renders(render or templates.render, campaign, app_url)
    async with db.transaction() as session:
        await store.insert_campaign(session, campaign)
    log.info(
        "campaign.created", campaign_id=campaign.id, name=campaign.name, audience=campaign.audience
    )
    return campaign


async def get_campaign(db: Database, campaign_id: str) -> Campaign:
    async with db.sessionmaker() as session:
        found = await store.campaign(session, campaign_id)
    if found is None:
        raise CampaignError(f"no campaign {campaign_id}")
    return found


async def list_campaigns(db: Database) -> list[Campaign]:
    """Newest first."""
    async with db.sessionmaker() as session:
        return await store.all_campaigns(session)


async def progress_of(db: Database, campaign_id: str) -> Progress:
    async with db.sessionmaker() as session:
        return await store.progress(session, campaign_id)


def _progress_bar(enabled: bool, campaign: Campaign, total: int, initial: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm missing from the environment
        log.warning("campaign.no_progress_bar", reason="tqdm is not installed")
        return None
    return tqdm(
        total=total,
        initial=initial,
        unit="mail",
        desc=campaign.name[:30],
        dynamic_ncols=True,
    )


async def send(
    db: Database,
    campaign_id: str,
    *,
    progress: bool = True,
    rate_per_s: float | None = None,
    settings: Settings | None = None,
    render: Renderer | None = None,
    unsubscribe_url: UnsubscribeUrl | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> SendResult:
    """Queue the campaign's messages (see the module docstring); safe to call again after a
    crash, and on a finished campaign (it does nothing). `rate_per_s` overrides the
    campaign's rate for this call. `settings` (the mail service's) gives the unsubscribe
    links and the public URL unless `unsubscribe_url` is given."""
    campaign = await get_campaign(db, campaign_id)
    if campaign.status == "done":
        counts = await progress_of(db, campaign.id)
        return SendResult(campaign.id, "done", counts.total, 0, 0, counts.pending)
    rate = float(rate_per_s or campaign.rate_per_s)
    if rate <= 0:
        raise CampaignError("the rate must be above 0")
    if render is None:
        render = templates.render
    if unsubscribe_url is None:
        if settings is None:
            raise CampaignError("send needs the mail settings (or an unsubscribe_url)")
        unsubscribe_url = default_unsubscribe_url(settings)
    public_url = getattr(settings, "public_url", None) or "http://127.0.0.1:8080"

    if campaign.status == "draft":
        async with db.transaction() as session:
            fixed = await store.fix_audience(session, campaign)
        if fixed is not None:
            log.info("campaign.audience_fixed", campaign_id=campaign.id, total=fixed)
        campaign = await get_campaign(db, campaign_id)

    counts = await progress_of(db, campaign.id)
    log.info(
        "campaign.sending",
        campaign_id=campaign.id,
        total=counts.total,
        pending=counts.pending,
        rate_per_s=rate,
    )
    bar = _progress_bar(progress, campaign, counts.total, counts.total - counts.pending)
    queued = skipped = 0
    started = clock()
    handled = 0  # recipients this call took off the pending list (the rate's count)
    try:
        while True:
            # due: how many recipients the rate allows by now (the first one at once)
            due = int((clock() - started) * rate) + 1 - handled
            if due <= 0:
                await sleep(max((handled / rate) - (clock() - started), 0.001))
                continue
            async with db.sessionmaker() as session:
                batch = await store.pending(session, campaign.id, min(due, MAX_BATCH))
            if not batch:
                break
            rows = [
                message_for(
                    campaign,
                    row,
                    render=render,
                    unsubscribe_url=unsubscribe_url,
                    public_url=public_url,
                    message_id=new_id(),
                    at=now(),
                )
                for row in batch
            ]
            async with db.transaction() as session:
                outcomes = [await store.queue(session, campaign, message) for message in rows]
            handled += len(batch)
            done_now = sum(1 for o in outcomes if o is not None)
            queued += sum(1 for o in outcomes if o == "queued")
            skipped += sum(1 for o in outcomes if o == "skipped")
            if bar is not None and done_now:
                bar.update(done_now)
    finally:
        if bar is not None:
            bar.close()

    async with db.transaction() as session:
        left = await store.progress(session, campaign.id)
        if left.pending == 0:
            await store.finish(session, campaign.id, total=left.total)
    status = "done" if left.pending == 0 else "sending"
    log.info(
        "campaign.sent" if status == "done" else "campaign.paused",
        campaign_id=campaign.id,
        queued=queued,
        skipped=skipped,
        total=left.total,
    )
    return SendResult(campaign.id, status, left.total, queued, skipped, left.pending)
