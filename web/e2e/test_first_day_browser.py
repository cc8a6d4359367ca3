"""A new person's first day in Korean, in a real browser against the whole local stack
(issue 18, "Must show"). Reuses test_browser.py's stack, browser and screenshot fixtures.

    sign up with a common password -> refused in Korean (the server's list) -> sign up ->
    log in with a wrong password -> refused in Korean -> log in (not verified yet): home
    says so, with "send the verification mail again" -> resend -> a new link is mailed ->
    follow it in this browser -> generate at once (no log-out and log-in: the link renewed
    the session) -> the used link again: its page asks for a new one by address.

Needs web/dist, /usr/bin/chromium and /usr/bin/chromedriver, as test_browser.py does."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pingvas_kit.dev.stack import Stack

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_browser as _base  # noqa: E402 - the shared browser fixtures, by path
from test_browser import Browser  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(360)]

stack = _base.stack
shots = _base.shots
browsers = _base.browsers

VERIFY = "pingvas.tenants.user.verification_requested.v1"
EMAIL = "mina.first@example.com"
PASSWORD = "lantern over quiet water"


def _korean(browser: Browser) -> None:
    browser.open("/login")
    browser.driver.execute_script("window.localStorage.setItem('pv_locale', 'ko')")


def _links(stack: Stack, email: str) -> list[str]:
    """The verification links mailed to `email`, oldest first (tenants' outbox)."""
    conn = sqlite3.connect(f"file:{stack.var / 'tenants.db'}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT body FROM outbox WHERE type = ? ORDER BY position", (VERIFY,)
        ).fetchall()
    finally:
        conn.close()
    data = [json.loads(body)["data"] for (body,) in rows]
    return [stack.rewrite(d["verification_url"]) for d in data if d["email"] == email]


def _a_while_later(stack: Stack, minutes: int) -> None:
    """The links already mailed are made older: the person comes back later (the resend
    limit is one link a minute)."""
    conn = sqlite3.connect(stack.var / "tenants.db", timeout=5)
    try:
        for token_hash, created in conn.execute(
            "SELECT token_hash, created_at FROM email_tokens"
        ).fetchall():
            older = datetime.fromisoformat(created) - timedelta(minutes=minutes)
            conn.execute(
                "UPDATE email_tokens SET created_at = ? WHERE token_hash = ?",
                (older.strftime("%Y-%m-%d %H:%M:%S.%f"), token_hash),
            )
        conn.commit()
    finally:
        conn.close()


def test_first_day_in_korean_verify_then_generate_at_once(
    stack: Stack, browsers: Callable[[str], Browser]
) -> None:
    from selenium.webdriver.support.ui import Select

    m = browsers("mina")
    _korean(m)

    # the public home page: what Pingvas is, examples, plans, the way to sign up
    m.open("/")
    m.visible("[data-testid=landing]", "the public home page")
    m.text("h1", "몇 마디 말로 이미지를")
    m.visible("[data-testid=landing-plans]", "the plans")
    m.until(lambda d: d.title.startswith("Pingvas"), "the home page's title")
    m.shot("landing-ko")
    m.visible("[data-testid=landing-signup]").click()

    # sign-up: the hint is the served rule; a common password is refused by the server's list
    form = m.visible("[data-testid=signup-form]")
    m.text("[data-testid=signup-form]", "10~128자로 입력하세요")
    m.fill(form, name="김민아", email=EMAIL, password="password1234", team_name="민아 스튜디오")
    m.submit(form)
    m.text("[data-testid=signup-form]", "너무 흔해서 쉽게 추측할 수 있는 비밀번호입니다")
    m.shot("signup-weak-password-ko")
    form = m.visible("[data-testid=signup-form]")
    m.fill(form, password=PASSWORD)
    m.submit(form)
    m.visible("[data-testid=signup-done]")
    first_link = stack.outbox_link(VERIFY, "verification_url", EMAIL)

    # log in: a wrong password is said in Korean
    m.open("/login")
    form = m.visible("[data-testid=login-form]")
    m.fill(form, email=EMAIL, password="not my password at all")
    m.submit(form)
    m.text("[role=alert]", "이메일 또는 비밀번호가 올바르지 않습니다.")
    m.shot("login-wrong-password-ko")
    m.fill(form, password=PASSWORD)
    m.submit(form)
    m.visible("[data-testid=home-title]", "the home page after log-in")

    # not verified yet: home says so, with the resend button
    m.text("main", "인증해 주세요")
    _a_while_later(stack, minutes=2)
    m.visible("[data-testid=resend-verification]").click()
    m.text("[data-testid=resend-verification-done]", "보냈습니다")
    m.shot("resent-verification-ko")
    m.until(lambda _d: len(_links(stack, EMAIL)) == 2, "the second verification mail")
    newest = _links(stack, EMAIL)[-1]
    assert newest != first_link

    # follow the new link in this browser, then generate at once
    m.open(newest)
    m.visible("[data-testid=verify-done]", "the address verified")
    m.driver.find_element("link text", "Pingvas로 계속").click()
    m.visible("[data-testid=home-title]", "home, still signed in")
    assert "인증해 주세요" not in m.visible("main").text, "verified: no notice any more"
    m.visible("[data-testid=header-credits]", "credits left in the header")
    m.open("/generate")
    form = m.visible("[data-testid=generate-form]")
    Select(m.visible("[data-testid=generate-form] select[name=model]")).select_by_value("tiny-sd1")
    m.fill(form, prompt="첫눈 내리는 골목, first snow in an alley")
    m.visible("[data-testid=generate-submit]").click()
    m.visible("[data-testid=job-card]", "the job accepted right after verifying")
    assert not m.driver.find_elements("css selector", "[role=alert]"), "no refusal"
    m.shot("generate-right-after-verifying")

    # the first link is used up (a newer one was sent): its page offers a new one by address
    m.open(first_link)
    form = m.visible("[data-testid=request-verification-form]", "the resend-by-address form")
    m.fill(form, email=EMAIL)
    m.submit(form)
    m.text("[data-testid=request-verification-done]", EMAIL)
    m.shot("used-link-resend-by-address-ko")
