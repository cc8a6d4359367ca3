"""Mail templates: every message Pingvas sends, in Korean and English, as HTML and text.

    render("verify_email", "ko", {"name": ..., "app_url": ..., "verification_url": ...,
                                  "expires_at": ...}) -> Rendered(subject, html, text)

One file per template (`<template>.jinja`) holds the structure of both versions: the
blocks `subject`, `preheader`, `html` and `text`. It extends the shared layout
(`layout.html`: a 600px table layout with inline CSS, a hidden preheader and the footer;
`layout.txt` for the text part). The words live in `messages/<locale>.toml`, looked up
with `t("key", placeholder=value)` (the mail's own section first, then `[common]`).

HTML is autoescaped; every context key a template needs must be given (`MissingContext`
otherwise, a jinja2 `UndefinedError`), except the optional ones (`OPTIONAL`).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import escape

__all__ = [
    "LOCALES",
    "OPTIONAL",
    "REQUIRED",
    "SAMPLES",
    "TEMPLATES",
    "Category",
    "MissingContext",
    "Rendered",
    "render",
    "render_samples",
]

Category = Literal["transactional", "notification", "marketing"]

#: template key -> category (non-transactional mail carries the unsubscribe link)
TEMPLATES: dict[str, Category] = {
    "verify_email": "transactional",
    "password_reset": "transactional",
    "password_changed": "transactional",
    "invitation": "transactional",
    "subscription_activated": "transactional",
    "subscription_cancelled": "transactional",
    "payment_failed": "transactional",
    "credits_exhausted": "notification",
    "webhook_disabled": "transactional",
    "job_completed": "notification",
    "newsletter": "marketing",
}

LOCALES: tuple[str, ...] = ("ko", "en")
APP_NAME = "Pingvas"

_COMMON = ("name", "app_url")
#: context keys each template needs (present; `name` may be None or empty)
REQUIRED: dict[str, tuple[str, ...]] = {
    "verify_email": (*_COMMON, "verification_url", "expires_at"),
    "password_reset": (*_COMMON, "reset_url", "expires_at"),
    "password_changed": (*_COMMON, "changed_at", "via"),
    "invitation": (*_COMMON, "accept_url", "tenant_name", "inviter_name", "role", "expires_at"),
    "subscription_activated": (*_COMMON, "plan", "tenant_name"),
    "subscription_cancelled": (*_COMMON, "plan", "ends_at", "tenant_name"),
    "payment_failed": (*_COMMON, "plan", "tenant_name"),
    "credits_exhausted": (*_COMMON, "plan", "tenant_name", "unsubscribe_url"),
    "webhook_disabled": (
        *_COMMON,
        "tenant_name",
        "url",
        "reason",
        "failing_since",
        "consecutive_failures",
        "settings_url",
    ),
    "job_completed": (*_COMMON, "image_count", "gallery_url", "unsubscribe_url"),
    "newsletter": (
        *_COMMON,
        "title",
        "body_paragraphs",
        "cta_url",
        "cta_label",
        "unsubscribe_url",
    ),
}
#: context keys a template uses when given (absent or None is fine)
OPTIONAL: dict[str, tuple[str, ...]] = {
    "payment_failed": ("update_payment_method_url",),  # None -> app_url + "/billing"
    "credits_exhausted": ("next_grant_at",),  # None -> no "next credits" sentence
    "job_completed": ("prompt",),
    "newsletter": ("subject",),  # the campaign's subject in this locale; else the title
}

_HERE = Path(__file__).parent
_KST = timezone(timedelta(hours=9), "KST")
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_PLANS = {
    "en": {"free": "Free", "starter": "Starter", "pro": "Pro", "team": "Team"},
    "ko": {"free": "무료", "starter": "스타터", "pro": "프로", "team": "팀"},
}
_ROLES = {
    "en": {"owner": "Owner", "admin": "Admin", "member": "Member", "viewer": "Viewer"},
    "ko": {"owner": "소유자", "admin": "관리자", "member": "멤버", "viewer": "뷰어"},
}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    html: str
    text: str


class MissingContext(jinja2.UndefinedError):
    """A template was rendered without a context key it needs."""


def _load_messages() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        loc: tomllib.loads((_HERE / "messages" / f"{loc}.toml").read_text("utf-8"))
        for loc in LOCALES
    }


_MESSAGES = _load_messages()


def normalize_locale(locale: str | None) -> str:
    """`ko`, `ko-KR`, `ko_KR` -> "ko"; anything that isn't Korean or English -> "en"."""
    primary = re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]
    return primary if primary in LOCALES else "en"


# --- values shown in mail, per locale --------------------------------------------------


def _parse_when(value: Any) -> date | datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise TypeError(f"expected a datetime, date or ISO 8601 string, got {value!r}")


def _local(value: Any, locale: str) -> date | datetime:
    """Korean mail shows Korean time (no daylight saving), English mail UTC."""
    when = _parse_when(value)
    if isinstance(when, datetime):
        return when.astimezone(_KST if locale == "ko" else UTC)
    return when


def format_date(value: Any, locale: str) -> str:
    """2026년 12월 26일 / December 26, 2026."""
    when = _local(value, locale)
    day = when.date() if isinstance(when, datetime) else when
    if locale == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일"
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def format_datetime(value: Any, locale: str) -> str:
    """2026년 12월 26일 오후 11:30(한국 시간) / December 26, 2026 at 2:30 PM UTC."""
    when = _local(value, locale)
    if not isinstance(when, datetime):
        return format_date(when, locale)
    hour12 = when.hour % 12 or 12
    if locale == "ko":
        half = "오전" if when.hour < 12 else "오후"
        return f"{format_date(when, locale)} {half} {hour12}:{when.minute:02d}(한국 시간)"
    half = "AM" if when.hour < 12 else "PM"
    return f"{format_date(when, locale)} at {hour12}:{when.minute:02d} {half} UTC"


def plan_label(plan: str, locale: str) -> str:
    return _PLANS[locale].get(plan, str(plan).replace("_", " ").title())


def role_label(role: str, locale: str) -> str:
    return _ROLES[locale].get(role, str(role).replace("_", " ").title())


#: the most of a team name a subject line carries
SUBJECT_NAME_MAX = 40


def subject_name(value: Any) -> str:
    """A name people typed (a team's), as a subject line or preheader may show it: control
    and format characters (newlines, bidi overrides, zero-width ones) gone, whitespace
    collapsed, at most `SUBJECT_NAME_MAX` characters (cut with "…")."""
    text = "".join(
        " " if ch.isspace() else ch
        for ch in str(value or "")
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    text = " ".join(text.split())
    if len(text) > SUBJECT_NAME_MAX:
        text = text[: SUBJECT_NAME_MAX - 1].rstrip() + "…"
    return text


def _http_url(url: Any) -> str:
    """Links in mail must be http(s): a `javascript:` URL from a bad event is refused."""
    text = str(url)
    if not re.match(r"https?://", text, re.IGNORECASE):
        raise ValueError(f"mail links must be http(s) URLs, got {text!r}")
    return text


# --- jinja ------------------------------------------------------------------------------


def _message(ctx: jinja2.runtime.Context, key: str, count: int | None) -> str:
    strings = _MESSAGES[ctx["locale"]]
    section = strings.get(ctx["template"], {})
    value = section[key] if key in section else strings["common"].get(key)
    if value is None:
        raise KeyError(f"no {ctx['locale']} string {key!r} for template {ctx['template']!r}")
    if isinstance(value, dict):  # plural forms
        value = value["one"] if count == 1 and "one" in value else value["other"]
    return value


@jinja2.pass_context
def _t(ctx: jinja2.runtime.Context, key: str, count: int | None = None, **values: Any) -> str:
    """The locale's string `key`, with `{placeholders}` filled (and escaped in HTML)."""
    message = _message(ctx, key, count)
    if count is not None:
        values["count"] = count
    if ctx.eval_ctx.autoescape:
        return escape(message).format(**values)
    return message.format(**values)


def _locale_filter(fn):
    @jinja2.pass_context
    def filter_(ctx: jinja2.runtime.Context, value: Any) -> str:
        return fn(value, ctx["locale"])

    return filter_


def _environment(autoescape: bool, layout: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(t=_t, layout=layout, app_name=APP_NAME)
    env.filters.update(
        date=_locale_filter(format_date),
        datetime=_locale_filter(format_datetime),
        plan=_locale_filter(plan_label),
        role=_locale_filter(role_label),
        url=_http_url,
        subject_name=subject_name,
    )
    return env


_SUBJECT_END = "\x1e<end of subject>\x1e"  # layout.txt puts the subject first, then this
_HTML = _environment(autoescape=True, layout="layout.html")
_TEXT = _environment(autoescape=False, layout="layout.txt")
_TEXT.globals["subject_end"] = _SUBJECT_END


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def render(template: str, locale: str, context: Mapping[str, Any]) -> Rendered:
    """Render `template` in `locale` ("ko" or "en"; anything else English).

    Raises KeyError for an unknown template and `MissingContext` when a key in
    `REQUIRED[template]` is absent."""
    if template not in TEMPLATES:
        raise KeyError(f"unknown mail template {template!r}; known: {', '.join(TEMPLATES)}")
    missing = [key for key in REQUIRED[template] if key not in context]
    if missing:
        raise MissingContext(
            f"mail template {template!r} needs context key(s): {', '.join(missing)}"
        )
    locale = normalize_locale(locale)
    values: dict[str, Any] = {key: None for key in OPTIONAL.get(template, ())}
    values.update(context)
    app_url = str(values["app_url"]).rstrip("/")
    name = values["name"]
    values.update(
        locale=locale,
        template=template,
        category=TEMPLATES[template],
        app_url=app_url,
        billing_url=f"{app_url}/billing",
        greeting=(
            _message_plain(locale, "greeting").format(name=name)
            if name
            else _message_plain(locale, "greeting_anonymous")
        ),
    )
    try:
        text_template = _TEXT.get_template(f"{template}.jinja")
        subject, _, text = text_template.render(values).partition(_SUBJECT_END)
        html = _HTML.get_template(f"{template}.jinja").render(values)
    except jinja2.UndefinedError as exc:
        if isinstance(exc, MissingContext):
            raise
        raise MissingContext(f"mail template {template!r}: {exc.message}") from exc
    return Rendered(subject=" ".join(subject.split()), html=html, text=_tidy_text(text))


def _message_plain(locale: str, key: str) -> str:
    return _MESSAGES[locale]["common"][key]


def render_samples() -> dict[tuple[str, str], Rendered]:
    """Every template in every locale with `SAMPLES` (for review and snapshot tests)."""
    return {
        (template, locale): render(template, locale, SAMPLES[template])
        for template in TEMPLATES
        for locale in LOCALES
    }


_SAMPLE_BASE: dict[str, Any] = {"name": "Minji Kim", "app_url": "https://app.pingvas.com"}
_UNSUBSCRIBE = "https://app.pingvas.com/api/v1/mail/unsubscribe?token=sample.token&category="

#: sample context per template (what the core passes), for review and tests
SAMPLES: dict[str, dict[str, Any]] = {
    "verify_email": {
        **_SAMPLE_BASE,
        "verification_url": "https://app.pingvas.com/verify-email?token=abc123&next=%2Fstart",
        "expires_at": "2026-12-26T14:30:00Z",
    },
    "password_reset": {
        **_SAMPLE_BASE,
        "reset_url": "https://app.pingvas.com/reset-password?token=def456&u=42",
        "expires_at": datetime(2026, 12, 26, 15, 0, tzinfo=UTC),
    },
    "password_changed": {
        **_SAMPLE_BASE,
        "changed_at": datetime(2026, 12, 26, 14, 41, tzinfo=UTC),
        "via": "change",
    },
    "invitation": {
        **_SAMPLE_BASE,
        "name": None,  # the invitee may have no account yet
        "accept_url": "https://app.pingvas.com/invitations/accept?token=ghi789&t=acme",
        "tenant_name": "Acme Studio",
        "inviter_name": "Jisoo Park",
        "role": "admin",
        "expires_at": "2026-12-31T09:00:00+00:00",
    },
    "subscription_activated": {**_SAMPLE_BASE, "plan": "pro", "tenant_name": "Acme Studio"},
    "subscription_cancelled": {
        **_SAMPLE_BASE,
        "plan": "pro",
        "ends_at": "2026-12-26T00:00:00Z",
        "tenant_name": "Acme Studio",
    },
    "payment_failed": {
        **_SAMPLE_BASE,
        "plan": "team",
        "update_payment_method_url": "https://acme.lemonsqueezy.com/billing?expires=1798&sig=a1b2",
        "tenant_name": "Acme Studio",
    },
    "credits_exhausted": {
        **_SAMPLE_BASE,
        "plan": "starter",
        "next_grant_at": "2027-01-01T00:00:00Z",
        "tenant_name": "Acme Studio",
        "unsubscribe_url": _UNSUBSCRIBE + "usage_notices",
    },
    "webhook_disabled": {
        **_SAMPLE_BASE,
        "tenant_name": "Acme Studio",
        "url": "https://hooks.acme.example/pingvas",
        "reason": "failing",
        "failing_since": "2026-11-28T09:00:00Z",
        "consecutive_failures": 41,
        "settings_url": "https://app.pingvas.com/settings/webhooks",
    },
    "job_completed": {
        **_SAMPLE_BASE,
        "image_count": 4,
        "gallery_url": "https://app.pingvas.com/gallery?job=job_01J&view=grid",
        "prompt": "A watercolor penguin painting the Seoul skyline at dusk, soft light",
        "unsubscribe_url": _UNSUBSCRIBE + "job_completed",
    },
    "newsletter": {
        **_SAMPLE_BASE,
        "title": "What's new in Pingvas this month",
        "body_paragraphs": [
            "FLUX Schnell is now available on the Pro and Team plans.",
            "Galleries can be shared with a read-only link, & people outside your team "
            "can leave comments.",
        ],
        "cta_url": "https://pingvas.com/blog/2026-12?utm_source=newsletter&utm_medium=email",
        "cta_label": "Read the update",
        "unsubscribe_url": _UNSUBSCRIBE + "newsletter",
    },
}
