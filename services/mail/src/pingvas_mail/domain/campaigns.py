"""Newsletter campaign rules (docs/mail.md, "Newsletter"): what a campaign may say, whom
its audience means, and what one recipient's message is.

Plain functions over plain values: the rows the audience queries return are read through
`Recipient`, and the message ids and clock come from the caller, so nothing here touches
the database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .rendering import Renderer
from .unsubscribe import UnsubscribeUrl

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


class CampaignError(ValueError):
    """The campaign does not exist, or what was asked of it makes no sense."""


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


class Recipient(Protocol):
    """A pending recipient as the audience query reads it, with what changed since the
    audience was fixed (`newsletter` off, the address `suppressed`)."""

    @property
    def user_id(self) -> str: ...

    @property
    def email(self) -> str: ...

    @property
    def locale(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def newsletter(self) -> bool | None: ...

    @property
    def suppressed(self) -> bool: ...


# -- what a campaign may say -----------------------------------------------------------------


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


def new_campaign(
    *,
    id: str,
    at: datetime,
    name: str,
    subjects: Mapping[str, str],
    template: str,
    content: Mapping[str, Any] | None,
    audience: Mapping[str, Any] | None,
    rate_per_s: float,
    created_by: str | None,
) -> Campaign:
    """A draft campaign, checked: a name, a template, a subject in every language, a rate
    above 0, and (for the newsletter template) a body in every language."""
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
    return Campaign(
        id=id,
        name=name[:200],
        template=template.strip(),
        subjects=cleaned,
        content=words,
        audience=normalize_audience(audience),
        rate_per_s=float(rate_per_s),
        status="draft",
        total=0,
        created_by=created_by,
        created_at=at,
        started_at=None,
        finished_at=None,
    )


def check_renders(render: Renderer, campaign: Campaign, app_url: str) -> None:
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
            render(campaign.template, locale, context)
        except Exception as exc:
            raise CampaignError(
                f"template {campaign.template!r} does not render in {locale}: {exc}"
            ) from exc


# -- whom it reaches, and what each gets ------------------------------------------------------


def locale_of(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def causation(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


def message_for(
    campaign: Campaign,
    recipient: Recipient,
    *,
    render: Renderer,
    unsubscribe_url: UnsubscribeUrl,
    public_url: str,
    message_id: str,
    at: datetime,
) -> dict[str, Any]:
    """The message row for one recipient: rendered, and pending, or suppressed /
    unsubscribed when that changed since the audience was fixed."""
    locale = locale_of(recipient.locale)
    subject = campaign.subject(locale)
    link = unsubscribe_url(recipient.user_id, PREFERENCE)
    app_url = (public_url or "").rstrip("/")
    context = {
        "name": recipient.name,
        "app_url": app_url,
        "subject": subject,
        "unsubscribe_url": link,
        **campaign.context(locale, app_url=app_url),
    }
    rendered = render(campaign.template, locale, context)
    if recipient.suppressed:
        status = "suppressed"
    elif not recipient.newsletter:
        status = "unsubscribed"
    else:
        status = "pending"
    return {
        "id": message_id,
        "tenant_id": None,
        "user_id": recipient.user_id,
        "to_email": recipient.email,
        "locale": locale,
        "template": campaign.template,
        "category": CATEGORY,
        "causation_id": causation(campaign.id),
        "campaign_id": campaign.id,
        "subject": (subject or rendered.subject)[:300],
        "html": rendered.html,
        "text": rendered.text,
        "status": status,
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }
