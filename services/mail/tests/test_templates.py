"""Mail templates: every template renders in Korean and English, HTML is escaped, links and
the unsubscribe link are where they belong, and the output matches the reviewed snapshots.

Snapshots live in tests/snapshots/ (`<template>.<locale>.html`, and `.txt` with the subject
on top); after changing a template, look at `pingvas-mail render-templates OUT` and refresh
them with `PINGVAS_UPDATE_SNAPSHOTS=1 .venv/bin/pytest services/mail/tests/test_templates.py`.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import escape
from pingvas_mail.templates import (
    LOCALES,
    OPTIONAL,
    REQUIRED,
    SAMPLES,
    TEMPLATES,
    MissingContext,
    Rendered,
    format_date,
    format_datetime,
    render,
    subject_name,
)
from pingvas_mail.templates.review import main as review

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PINGVAS_UPDATE_SNAPSHOTS") == "1"
CASES = [(template, locale) for template in TEMPLATES for locale in LOCALES]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
UNSUBSCRIBE = {"en": "Unsubscribe from these emails", "ko": "이 메일 수신 거부"}
#: the button's link: a context key, or a path under app_url
MAIN_LINK = {
    "verify_email": "verification_url",
    "password_reset": "reset_url",
    "password_changed": "/forgot-password",
    "invitation": "accept_url",
    "subscription_activated": "app_url",
    "subscription_cancelled": "/billing",
    "payment_failed": "update_payment_method_url",
    "credits_exhausted": "/billing",
    "webhook_disabled": "settings_url",
    "job_completed": "gallery_url",
    "newsletter": "cta_url",
}
EVIL = '<script>alert("x")</script>'


class _Text(HTMLParser):
    """The text a reader sees (and the preheader and title), without tags or attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def strings_in(context: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for value in context.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def urls(template: str, context: dict[str, Any]) -> list[str]:
    """Every link the mail must carry: the main one and app_url (and unsubscribe)."""
    found = [v for k, v in context.items() if k.endswith("_url") and v]
    if template in ("subscription_cancelled", "credits_exhausted") or (
        template == "payment_failed" and not context.get("update_payment_method_url")
    ):
        found.append(context["app_url"] + "/billing")
    if template == "password_changed":
        found.append(context["app_url"] + "/forgot-password")
    return found


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_every_template_renders_in_every_locale(template, locale):
    mail = render(template, locale, SAMPLES[template])
    assert isinstance(mail, Rendered)
    assert mail.subject and "\n" not in mail.subject and len(mail.subject) <= 80
    assert mail.html.startswith("<!DOCTYPE html>") and f'<html lang="{locale}"' in mail.html
    assert mail.text.strip() and "<" not in mail.text.replace(EVIL, "")
    for tag in ("table", "tr", "td", "p", "a"):
        opened = len(re.findall(rf"<{tag}[\s>]", mail.html))
        assert opened == mail.html.count(f"</{tag}>"), f"unbalanced <{tag}>"
    assert "max-width:600px" in mail.html and "<style" not in mail.html
    assert "Pingvas" in html_text(mail.html) and "Pingvas" in mail.text


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_matches_snapshot(template, locale):
    mail = render(template, locale, SAMPLES[template])
    files = {
        SNAPSHOTS / f"{template}.{locale}.html": mail.html,
        SNAPSHOTS / f"{template}.{locale}.txt": f"Subject: {mail.subject}\n\n{mail.text}",
    }
    for path, content in files.items():
        if UPDATE:
            SNAPSHOTS.mkdir(exist_ok=True)
            path.write_text(content, encoding="utf-8")
        else:
            assert path.exists(), f"no snapshot {path.name}; run with PINGVAS_UPDATE_SNAPSHOTS=1"
            assert content == path.read_text(encoding="utf-8"), (
                f"{path.name} changed; review it, then PINGVAS_UPDATE_SNAPSHOTS=1"
            )


def test_no_stale_snapshots():
    expected = {f"{t}.{loc}.{ext}" for t, loc in CASES for ext in ("html", "txt")}
    assert {p.name for p in SNAPSHOTS.iterdir()} == expected


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_html_escapes_what_users_typed(template, locale):
    context = dict(SAMPLES[template])
    for key in ("name", "tenant_name", "inviter_name", "title", "prompt", "cta_label"):
        if key in context:
            context[key] = EVIL
    if "body_paragraphs" in context:
        context["body_paragraphs"] = [EVIL, "fine & dandy"]
    mail = render(template, locale, context)
    assert "<script" not in mail.html
    assert str(escape(EVIL)) in mail.html
    assert EVIL in mail.text  # the text part is plain text, shown as is
    if template in ("invitation", "credits_exhausted", "newsletter"):
        assert EVIL in mail.subject  # a header: no HTML escaping there


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_links_are_in_html_and_text(template, locale):
    context = SAMPLES[template]
    mail = render(template, locale, context)
    for url in urls(template, context):
        assert f'href="{escape(url)}"' in mail.html, url
        assert url in mail.text, url
    # the button's link also shows as text under it
    main = MAIN_LINK[template]
    url = context[main] if main in context else context["app_url"] + main
    assert f">{escape(url)}</a>" in mail.html


@pytest.mark.parametrize(("template", "locale"), CASES)
def test_unsubscribe_link_only_outside_transactional_mail(template, locale):
    mail = render(template, locale, SAMPLES[template])
    if TEMPLATES[template] == "transactional":
        assert "unsubscribe" not in mail.html.lower() and "unsubscribe" not in mail.text.lower()
        assert "수신 거부" not in mail.html + mail.text
    else:
        url = SAMPLES[template]["unsubscribe_url"]
        assert f'href="{escape(url)}"' in mail.html
        assert f">{UNSUBSCRIBE[locale]}</a>" in mail.html
        assert f"{UNSUBSCRIBE[locale]}: {url}" in mail.text


@pytest.mark.parametrize("template", TEMPLATES)
def test_korean_mail_is_all_korean_and_english_mail_has_no_hangul(template):
    context = SAMPLES[template]
    for locale in LOCALES:
        mail = render(template, locale, context)
        for part in (mail.subject, html_text(mail.html), mail.text):
            rest = re.sub(r"https?://\S+", " ", unescape(part))
            for value in sorted(strings_in(context), key=len, reverse=True):
                rest = rest.replace(value, " ")
            rest = re.sub(r"(?<![A-Za-z])(Pingvas|AI)(?![A-Za-z])", " ", rest)
            if locale == "ko":
                # a campaign's title is the subject, in whatever language it was written
                assert HANGUL.search(part) or (template == "newsletter" and part is mail.subject)
                assert not re.findall(r"[A-Za-z]{2,}", rest), f"English in Korean {template}"
            else:
                assert not HANGUL.search(rest), f"Hangul in English {template}"


@pytest.mark.parametrize("template", TEMPLATES)
def test_missing_context_is_a_clear_error(template):
    for key in REQUIRED[template]:
        context = {k: v for k, v in SAMPLES[template].items() if k != key}
        with pytest.raises(MissingContext, match=key) as raised:
            render(template, "en", context)
        assert isinstance(raised.value, jinja2.UndefinedError)
        assert template in str(raised.value)


def test_optional_context_may_be_none_or_absent():
    for template, keys in OPTIONAL.items():
        for drop in (True, False):
            context = dict(SAMPLES[template])
            for key in keys:
                if drop:
                    context.pop(key, None)
                else:
                    context[key] = None
            render(template, "ko", context)
    context = {**SAMPLES["payment_failed"], "update_payment_method_url": None}
    mail = render("payment_failed", "en", context)
    assert 'href="https://app.pingvas.com/billing"' in mail.html
    assert "https://app.pingvas.com/billing\n" in mail.text
    context = {**SAMPLES["credits_exhausted"], "next_grant_at": None}
    assert "next credits" not in render("credits_exhausted", "en", context).text
    assert (
        "next credits arrive on January 1, 2027"
        in render("credits_exhausted", "en", SAMPLES["credits_exhausted"]).text
    )


def test_a_campaign_subject_wins_over_the_title():
    context = {**SAMPLES["newsletter"], "subject": "12월 소식"}
    assert render("newsletter", "ko", context).subject == "12월 소식"


def test_unknown_template_is_a_key_error():
    with pytest.raises(KeyError, match="welcome"):
        render("welcome", "en", SAMPLES["verify_email"])


def test_other_locales_fall_back_to_english():
    context = SAMPLES["verify_email"]
    english = render("verify_email", "en", context)
    for locale in ("fr", "", "ja-JP", "EN"):
        assert render("verify_email", locale, context) == english
    assert render("verify_email", "ko-KR", context) == render("verify_email", "ko", context)


def test_no_name_greets_without_one():
    context = {**SAMPLES["verify_email"], "name": ""}
    assert render("verify_email", "en", context).text.startswith("Hi,\n")
    assert render("verify_email", "ko", context).text.startswith("안녕하세요.\n")


def test_one_image_reads_naturally():
    context = {**SAMPLES["job_completed"], "image_count": 1, "prompt": None}
    mail = render("job_completed", "en", context)
    assert mail.subject == "Your image is ready"
    assert "Prompt" not in mail.text
    assert render("job_completed", "ko", context).subject == "이미지 1장이 완성되었습니다"


def test_links_must_be_http():
    context = {**SAMPLES["verify_email"], "verification_url": "javascript:alert(1)"}
    with pytest.raises(ValueError, match="http"):
        render("verify_email", "en", context)


def test_dates_per_locale():
    end = "2026-12-26T10:00:00Z"
    assert format_date(end, "ko") == "2026년 12월 26일"
    assert format_date(end, "en") == "December 26, 2026"
    assert format_date("2026-12-26", "ko") == "2026년 12월 26일"
    late = datetime(2026, 12, 26, 20, 5, tzinfo=UTC)  # already the 27th in Korea
    assert format_datetime(late, "ko") == "2026년 12월 27일 오전 5:05(한국 시간)"
    assert format_datetime(late, "en") == "December 26, 2026 at 8:05 PM UTC"
    assert format_datetime(datetime(2026, 12, 26, 3, 0), "ko") == (
        "2026년 12월 26일 오후 12:00(한국 시간)"
    )


def test_message_files_have_the_same_keys():
    here = Path(__file__).parents[1] / "src/pingvas_mail/templates/messages"
    strings = {loc: tomllib.loads((here / f"{loc}.toml").read_text("utf-8")) for loc in LOCALES}
    assert set(strings["en"]) == set(strings["ko"]) == set(TEMPLATES) | {"common"}
    for section in strings["en"]:
        assert set(strings["en"][section]) == set(strings["ko"][section]), section


def test_review_writes_every_template_and_an_index(tmp_path):
    index = review(tmp_path / "out")
    html = index.read_text(encoding="utf-8")
    for template, locale in CASES:
        for ext in ("html", "txt"):
            assert (tmp_path / "out" / f"{template}.{locale}.{ext}").is_file()
            assert f'href="{template}.{locale}.{ext}"' in html


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", ["invitation", "credits_exhausted"])
def test_subjects_carry_only_a_short_clean_team_name(template, locale):
    """An inbox line shows no free text an attacker chose: the inviter's name is not in the
    invitation's subject, and the team name has no control characters and is cut short."""
    team = (
        "Acme\r\nBcc: victim@else.example\x00\u202e\u200b  Free   credits: "
        "click https://evil.example/claim now"
    )
    context = {**SAMPLES[template], "tenant_name": team, "inviter_name": "Mallory: urgent"}
    mail = render(template, locale, context)
    for line in (mail.subject, mail.html.split("<title>", 1)[1].split("</title>", 1)[0]):
        assert "Mallory" not in line
        assert not any(unicodedata.category(ch)[0] == "C" for ch in line), repr(line)
    short = subject_name(team)
    assert short == "Acme Bcc: victim@else.example Free cred…"
    assert len(short) == 40 and short in mail.subject
    assert "evil.example" not in mail.subject and "\n" not in mail.subject
    # the body still names the team in full (escaped in HTML)
    assert "https://evil.example/claim" in mail.text
