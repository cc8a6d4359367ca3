"""Newsletter campaigns (docs/mail.md, "Newsletter").

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
`unsubscribed` / `suppressed` row instead, and the recipient is `skipped`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_kit.db import Database, aware, new_id, now

from .adapters.db import (
    campaign_recipients,
    campaigns,
    memberships,
    messages,
    preferences,
    recipients,
    suppressions,
    tenant_plans,
)

log = structlog.get_logger("pingvas_mail.campaigns")

CATEGORY = "marketing"
#: the preference a marketing mail depends on (and its unsubscribe link turns off)
PREFERENCE = "newsletter"
LOCALES = ("en", "ko")
DEFAULT_LOCALE = "en"
DEFAULT_TEMPLATE = "newsletter"
DEFAULT_RATE_PER_S = 5.0
#: a team without a tenant_plans row is on this plan (billing has not told us otherwise)
FREE_PLAN = "free"
#: at most this many recipients per transaction (a fast rate queues several per tick)
MAX_BATCH = 200
#: what a newsletter says, per language: {"en": {...}, "ko": {...}} with these keys
CONTENT_KEYS = ("title", "body_paragraphs", "cta_url", "cta_label")
DEFAULT_CTA_LABEL = {"en": "Open Pingvas", "ko": "Pingvas 열기"}
#: campaigns.content when the table has it; until then the content rides in the subjects
#: JSON under this key (Campaign.subjects never shows it)
_CONTENT_COLUMN = "content" in campaigns.c
_CONTENT_IN_SUBJECTS = "content"


class CampaignError(ValueError):
    """The campaign does not exist, or what was asked of it makes no sense."""


class Rendered(Protocol):
    subject: str
    html: str
    text: str


#: (template, locale, context) -> Rendered, as pingvas_mail.templates.render
Renderer = Callable[[str, str, Mapping[str, Any]], Rendered]
#: (user_id, preference) -> the link that turns that preference off
UnsubscribeUrl = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    template: str
    subjects: dict[str, str]
    #: per language: title, body_paragraphs, cta_url, cta_label (see CONTENT_KEYS)
    content: dict[str, dict[str, Any]]
    audience: dict[str, Any]
    rate_per_s: float
    status: str
    total: int
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: sa.Row) -> Campaign:
        stored = dict(row.subjects or {})
        content = (getattr(row, "content", None) if _CONTENT_COLUMN else None) or stored.get(
            _CONTENT_IN_SUBJECTS
        )
        return cls(
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
            created_at=aware(row.created_at),  # type: ignore[arg-type]
            started_at=aware(row.started_at),
            finished_at=aware(row.finished_at),
        )

    def subject(self, locale: str) -> str:
        return self.subjects.get(locale) or self.subjects.get(DEFAULT_LOCALE) or self.name

    def context(self, locale: str, *, app_url: str) -> dict[str, Any]:
        """The template's words in `locale`: title (else the subject), paragraphs, and the
        button (else one to the app)."""
        words = self.content.get(locale) or self.content.get(DEFAULT_LOCALE) or {}
        return {
            "title": words.get("title") or self.subject(locale),
            "body_paragraphs": list(words.get("body_paragraphs") or []),
            "cta_url": words.get("cta_url") or app_url,
            "cta_label": words.get("cta_label") or DEFAULT_CTA_LABEL.get(locale, "Pingvas"),
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a campaign's recipients stand."""

    total: int
    pending: int
    queued: int
    skipped: int


@dataclass(frozen=True, slots=True)
class SendResult:
    campaign_id: str
    status: str
    total: int
    #: what this call did (a resumed send counts only its own)
    queued: int
    skipped: int
    #: recipients still pending (0 once done)
    pending: int


# -- creating and reading ------------------------------------------------------------------


def normalize_audience(audience: Mapping[str, Any] | None) -> dict[str, Any]:
    """{} (everyone opted in) or {"plans": [sorted, unique, lower-case codes]}."""
    audience = dict(audience or {})
    unknown = set(audience) - {"plans"}
    if unknown:
        raise CampaignError(f"unknown audience keys: {sorted(unknown)}")
    plans = audience.get("plans")
    if plans is None:
        return {}
    if isinstance(plans, str) or not isinstance(plans, Sequence):
        raise CampaignError("audience.plans must be a list of plan codes")
    codes = sorted({str(p).strip().lower() for p in plans if str(p).strip()})
    if not codes:
        raise CampaignError("audience.plans is empty: leave it out to mean every plan")
    return {"plans": codes}


def normalize_content(content: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """{locale: {title, body_paragraphs: [str, ...], cta_url, cta_label}}, without empty
    values; a body given as one string is split into paragraphs at blank lines."""
    out: dict[str, dict[str, Any]] = {}
    for locale, words in (content or {}).items():
        if locale not in LOCALES:
            raise CampaignError(f"content in an unknown language: {locale!r}")
        if not isinstance(words, Mapping):
            raise CampaignError(f"content.{locale} must be a table of {', '.join(CONTENT_KEYS)}")
        unknown = set(words) - set(CONTENT_KEYS)
        if unknown:
            raise CampaignError(f"unknown content keys in {locale}: {sorted(unknown)}")
        body = words.get("body_paragraphs") or []
        if isinstance(body, str):
            body = [p for p in (" ".join(x.split()) for x in body.split("\n\n")) if p]
        paragraphs = [str(p).strip() for p in body if str(p).strip()]
        cleaned: dict[str, Any] = {
            key: str(words[key]).strip()
            for key in ("title", "cta_url", "cta_label")
            if words.get(key) and str(words[key]).strip()
        }
        url = cleaned.get("cta_url")
        if url and not url.lower().startswith(("https://", "http://")):
            raise CampaignError(f"content.{locale}.cta_url must be an http(s) URL")
        if paragraphs:
            cleaned["body_paragraphs"] = paragraphs
        if cleaned:
            out[locale] = cleaned
    return out


def _check_renders(render: Renderer, template: str, campaign: Campaign, app_url: str) -> None:
    """Render the campaign once per language with a sample link: a misspelt template or a
    missing word fails now, not halfway through the audience."""
    for locale in LOCALES:
        context = {
            "name": "Sample",
            "app_url": app_url,
            "subject": campaign.subject(locale),
            "unsubscribe_url": f"{app_url}/unsubscribe?token=sample",
            **campaign.context(locale, app_url=app_url),
        }
        try:
            render(template, locale, context)
        except Exception as exc:
            raise CampaignError(
                f"template {template!r} does not render in {locale}: {exc}"
            ) from exc


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
    in every language first (with `render`, else the mail templates when installed). The
    newsletter template needs a body in every language."""
    name = name.strip()
    if not name:
        raise CampaignError("a campaign needs a name")
    if not template.strip():
        raise CampaignError("a campaign needs a template")
    cleaned = {k: v.strip() for k, v in subjects.items() if v and v.strip()}
    unknown = set(cleaned) - set(LOCALES)
    if unknown:
        raise CampaignError(f"subjects in unknown languages: {sorted(unknown)}")
    missing = [locale for locale in LOCALES if locale not in cleaned]
    if missing:
        raise CampaignError(f"a subject is needed in every language; missing: {missing}")
    if not rate_per_s or rate_per_s <= 0:
        raise CampaignError("rate_per_s must be above 0")
    words = normalize_content(content)
    if template.strip() == DEFAULT_TEMPLATE:
        bodiless = [loc for loc in LOCALES if not words.get(loc, {}).get("body_paragraphs")]
        if bodiless:
            raise CampaignError(
                f"the newsletter needs a body in every language; missing: {bodiless}"
            )
    row = {
        "id": new_id(),
        "name": name[:200],
        "template": template.strip(),
        "subjects": cleaned,
        "content": words,
        "audience": normalize_audience(audience),
        "rate_per_s": float(rate_per_s),
        "status": "draft",
        "total": 0,
        "created_by": created_by,
        "created_at": now(),
        "started_at": None,
        "finished_at": None,
    }
    campaign = Campaign(**row)
    if render is None:
        try:
            render = default_renderer()
        except ImportError:  # pragma: no cover - the templates are part of the service
            render = None
    if render is not None:
        _check_renders(render, campaign.template, campaign, app_url)
    stored = dict(row)
    if not _CONTENT_COLUMN:
        stored["subjects"] = {**cleaned, _CONTENT_IN_SUBJECTS: words}
        del stored["content"]
    async with db.transaction() as session:
        await session.execute(sa.insert(campaigns).values(**stored))
    log.info("campaign.created", campaign_id=row["id"], name=row["name"], audience=row["audience"])
    return campaign


async def get_campaign(db: Database, campaign_id: str) -> Campaign:
    async with db.sessionmaker() as session:
        row = (
            await session.execute(sa.select(campaigns).where(campaigns.c.id == campaign_id))
        ).first()
    if row is None:
        raise CampaignError(f"no campaign {campaign_id}")
    return Campaign.from_row(row)


async def list_campaigns(db: Database) -> list[Campaign]:
    """Newest first."""
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                sa.select(campaigns).order_by(campaigns.c.created_at.desc(), campaigns.c.id)
            )
        ).all()
    return [Campaign.from_row(row) for row in rows]


async def progress_of(db: Database, campaign_id: str) -> Progress:
    async with db.sessionmaker() as session:
        return await _progress(session, campaign_id)


async def _progress(session: AsyncSession, campaign_id: str) -> Progress:
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
        on_plan = plan.in_(plans)
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


async def _fix_audience(session: AsyncSession, campaign: Campaign) -> int | None:
    """Start the campaign: mark it sending and write its recipients, all in the caller's
    transaction. None when another `send` started it first."""
    started = await session.execute(
        sa.update(campaigns)
        .where(campaigns.c.id == campaign.id, campaigns.c.status == "draft")
        .values(status="sending", started_at=now())
    )
    if started.rowcount != 1:
        return None
    rows = (await session.execute(audience_query(campaign.audience))).all()
    chosen: list[dict[str, Any]] = []
    seen_emails: set[str] = set()
    for row in rows:
        email = row.email.strip()
        if email.lower() in seen_emails:  # two accounts, one address: one copy
            continue
        seen_emails.add(email.lower())
        locale = row.locale if row.locale in LOCALES else DEFAULT_LOCALE
        chosen.append(
            {
                "campaign_id": campaign.id,
                "user_id": row.user_id,
                "email": email,
                "locale": locale,
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


# -- sending -------------------------------------------------------------------------------


def default_renderer() -> Renderer:
    from .templates import render

    return render


def default_unsubscribe_url(settings: Any) -> UnsubscribeUrl:
    """The signed link to the unsubscribe page, as the mail service itself makes it."""
    from .unsubscribe import page_url, sign

    return lambda user_id, preference: page_url(settings, sign(settings, user_id, preference))


def _insert(session: AsyncSession, table: sa.Table) -> Any:
    is_postgres = session.bind.dialect.name == "postgresql"
    return (pg_insert if is_postgres else sqlite_insert)(table)


def _causation(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


async def _pending(session: AsyncSession, campaign_id: str, limit: int) -> list[sa.Row]:
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


def _message(
    campaign: Campaign,
    row: sa.Row,
    *,
    render: Renderer,
    unsubscribe_url: UnsubscribeUrl,
    public_url: str,
) -> dict[str, Any]:
    """The message row for one recipient: rendered, and pending, or suppressed /
    unsubscribed when that changed since the audience was fixed."""
    locale = row.locale if row.locale in LOCALES else DEFAULT_LOCALE
    subject = campaign.subject(locale)
    link = unsubscribe_url(row.user_id, PREFERENCE)
    app_url = (public_url or "").rstrip("/")
    context = {
        "name": row.name,
        "app_url": app_url,
        "subject": subject,
        "unsubscribe_url": link,
        **campaign.context(locale, app_url=app_url),
    }
    rendered = render(campaign.template, locale, context)
    if row.suppressed:
        status = "suppressed"
    elif not row.newsletter:
        status = "unsubscribed"
    else:
        status = "pending"
    stamp = now()
    return {
        "id": new_id(),
        "tenant_id": None,
        "user_id": row.user_id,
        "to_email": row.email,
        "locale": locale,
        "template": campaign.template,
        "category": CATEGORY,
        "causation_id": _causation(campaign.id),
        "campaign_id": campaign.id,
        "subject": (subject or rendered.subject)[:300],
        "html": rendered.html,
        "text": rendered.text,
        "status": status,
        "attempts": 0,
        "next_attempt_at": stamp,
        "created_at": stamp,
    }


async def _queue(session: AsyncSession, campaign: Campaign, message: dict[str, Any]) -> str | None:
    """In the caller's transaction: the recipient leaves `pending` and its message row is
    written (or found: the unique key). None when another `send` took the recipient."""
    cr = campaign_recipients.c
    recipient_status = "queued" if message["status"] == "pending" else "skipped"
    taken = await session.execute(
        sa.update(campaign_recipients)
        .where(
            cr.campaign_id == campaign.id,
            cr.user_id == message["user_id"],
            cr.status == "pending",
        )
        .values(status=recipient_status, message_id=message["id"])
    )
    if taken.rowcount != 1:
        return None
    inserted = await session.execute(
        _insert(session, messages).values(**message).on_conflict_do_nothing()
    )
    if inserted.rowcount == 1:
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
    settings: Any = None,
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
        render = default_renderer()
    if unsubscribe_url is None:
        if settings is None:
            raise CampaignError("send needs the mail settings (or an unsubscribe_url)")
        unsubscribe_url = default_unsubscribe_url(settings)
    public_url = getattr(settings, "public_url", None) or "http://127.0.0.1:8080"

    if campaign.status == "draft":
        async with db.transaction() as session:
            fixed = await _fix_audience(session, campaign)
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
                batch = await _pending(session, campaign.id, min(due, MAX_BATCH))
            if not batch:
                break
            rows = [
                _message(
                    campaign,
                    row,
                    render=render,
                    unsubscribe_url=unsubscribe_url,
                    public_url=public_url,
                )
                for row in batch
            ]
            async with db.transaction() as session:
                outcomes = [await _queue(session, campaign, message) for message in rows]
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
        left = await _progress(session, campaign.id)
        if left.pending == 0:
            await session.execute(
                sa.update(campaigns)
                .where(campaigns.c.id == campaign.id, campaigns.c.status != "done")
                .values(status="done", finished_at=now(), total=left.total)
            )
    status = "done" if left.pending == 0 else "sending"
    log.info(
        "campaign.sent" if status == "done" else "campaign.paused",
        campaign_id=campaign.id,
        queued=queued,
        skipped=skipped,
        total=left.total,
    )
    return SendResult(campaign.id, status, left.total, queued, skipped, left.pending)
