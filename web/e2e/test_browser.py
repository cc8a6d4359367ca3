"""The SPA in a real browser against the whole local stack (issue 3, "Must show").

Starts `pingvas-dev up` as a subprocess on a temporary --var and free ports (so a developer's
own `./pingvas up` is never touched), then drives Debian's headless Chromium through
chromedriver at the gateway's URL:

    sign up A (team "Alpha") -> "check your inbox" -> open the verification link (read from
    the tenants outbox) -> log in -> team: invite B as member -> B, in a fresh browser, opens
    the invitation link (outbox) and accepts as a new user -> B is in team Alpha -> A sees B
    in the team -> API keys: create a key with a scope, seen once, revoke it, marked revoked
    -> Generate: a Korean prompt on the tiny test model, the job card goes live to its
    image (the worker's real engine, SSE through the gateway with the session cookie) ->
    Gallery: the image, and its parameters in the lightbox -> Search: a word of the prompt
    suggests it, the result marks the word, a nonsense word gets the no-results help ->
    Billing: Free, then Pro after a signed simulated Lemon Squeezy webhook
    (`pingvas-billing simulate-webhook`).

A screenshot is saved at each step under tmp_path (and copied into $PINGVAS_SCREENSHOTS when
set); the folder is printed. Needs web/dist (`cd web && npm run build`; `./pingvas test` builds
it first), /usr/bin/chromium and /usr/bin/chromedriver: missing ones fail the test, they do
not skip it. SLOW: about 30-60 s, most of it the stack starting."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pingvas_render.engine.testing import ensure_tiny_model

from pingvas_kit.dev.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
DIST_INDEX = REPO / "web" / "dist" / "index.html"
MODELS = REPO / "var" / "models"
CHROMIUM = Path(os.environ.get("PINGVAS_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("PINGVAS_CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,960",
    "--lang=en-US",
)
WAIT_S = 20
VERIFICATION_REQUESTED = "pingvas.tenants.user.verification_requested.v1"
MEMBER_INVITED = "pingvas.tenants.member.invited.v1"
_SCRUB = (
    "PINGVAS_AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "DATABASE_URL",
    "PINGVAS_DATABASE_URL",
    "PINGVAS_BUS",
    "PINGVAS_BUS_PREFIX",
)

PASSWORD_A = "correct horse battery"
PASSWORD_B = "staple battery horse"


# -- the stack --------------------------------------------------------------------------------


# -- the browser ------------------------------------------------------------------------------


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"the browser test needs Debian's Chromium and chromedriver; missing: "
            f"{', '.join(missing)}. Install them with `sudo apt-get install chromium "
            f"chromium-driver` (CI installs them).",
            pytrace=False,
        )


def _require_dist() -> None:
    if not DIST_INDEX.is_file():
        pytest.fail(
            f"{DIST_INDEX.relative_to(REPO)} is missing: the gateway serves the built SPA. "
            "Run `cd web && npm ci && npm run build` (./pingvas test builds it first).",
            pytrace=False,
        )


class Browser:
    """One Chromium with its own fresh profile, and the helpers the flow uses."""

    def __init__(self, name: str, profile: Path, base_url: str, shots: Shots) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROME_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
        # the console (CSP violations, failed loads) for the API reference's checks
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.name = name
        self.base_url = base_url
        self.shots = shots
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.set_page_load_timeout(WAIT_S)

    def quit(self) -> None:
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass

    def open(self, url: str) -> None:
        self.driver.get(url if url.startswith("http") else self.base_url + url)

    def english(self) -> None:
        """The app's language is the one picked before: pick English for this profile."""
        self.open("/login")
        self.driver.execute_script("window.localStorage.setItem('pv_locale', 'en')")

    def until(self, condition: Callable[[Any], Any], what: str, timeout: float = WAIT_S) -> Any:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            self.shot(f"FAILED-{what}")
            alerts = [a.text for a in self.driver.find_elements("css selector", "[role=alert]")]
            raise AssertionError(
                f"[{self.name}] timed out waiting for {what} at {self.driver.current_url}; "
                f"alerts on the page: {alerts}"
            ) from None

    def visible(self, css: str, what: str | None = None, timeout: float = WAIT_S) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, css)), what or css, timeout
        )

    def text(self, css: str, text: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.until(
            ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), f"{text!r} in {css}"
        )
        return self.visible(css)

    def fill(self, form: Any, **fields: str) -> None:
        for name, value in fields.items():
            field = form.find_element("css selector", f"[name={name}]")
            field.clear()
            field.send_keys(value)

    def submit(self, form: Any) -> None:
        form.find_element("css selector", "button[type=submit]").click()

    def shot(self, label: str) -> None:
        self.shots.take(self.driver, f"{self.name}-{label}")


class Shots:
    """Numbered screenshots in tmp_path, copied into $PINGVAS_SCREENSHOTS when that is set."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        extra = os.environ.get("PINGVAS_SCREENSHOTS")
        self.extra = Path(extra).resolve() if extra else None
        if self.extra:
            self.extra.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def take(self, driver: Any, label: str) -> None:
        self.count += 1
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:80]
        path = self.folder / f"{self.count:02d}-{safe}.png"
        try:
            driver.save_screenshot(str(path))
        except Exception:  # noqa: BLE001 - a screenshot never hides the real failure
            return
        if self.extra:
            shutil.copy2(path, self.extra / path.name)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Shots]:
    shots = Shots(tmp_path / "screenshots")
    yield shots
    where = [str(shots.folder)] + ([str(shots.extra)] if shots.extra else [])
    print(f"\nbrowser test: {shots.count} screenshots in {' and '.join(where)}")


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    _require_browser()
    _require_dist()
    failed_before = request.session.testsfailed
    ensure_tiny_model(MODELS)
    stack = Stack(tmp_path, env={"PINGVAS_MODELS_DIR": str(MODELS)})
    try:
        stack.wait_ready()
        yield stack
    finally:
        stack.stop()
        if request.session.testsfailed > failed_before:
            print(f"\n----- pingvas-dev output (last lines) -----\n{stack.output[-8000:]}")


@pytest.fixture
def browsers(tmp_path: Path, stack: Stack, shots: Shots) -> Iterator[Callable[[str], Browser]]:
    opened: list[Browser] = []

    def start(name: str) -> Browser:
        browser = Browser(name, tmp_path / f"profile-{name}", stack.url, shots)
        opened.append(browser)
        return browser

    yield start
    for browser in opened:
        browser.quit()


# -- the flow ---------------------------------------------------------------------------------


def test_sign_up_verify_invite_accept_and_api_keys(
    stack: Stack, browsers: Callable[[str], Browser]
) -> None:
    started = time.monotonic()
    email_a = "ada.alpha@example.com"
    email_b = "bo.beta@example.com"

    # A signs up: 202, "check your inbox", no session
    a = browsers("A")
    a.english()
    a.open("/signup")
    form = a.visible("[data-testid=signup-form]")
    a.fill(form, name="Ada Alpha", email=email_a, password=PASSWORD_A, team_name="Alpha")
    a.shot("signup-filled")
    a.submit(form)
    a.text("[data-testid=signup-done]", email_a)
    a.text("h1", "Check your inbox")
    a.shot("signup-check-inbox")
    a.visible("[data-testid=signup-login-link]").click()
    a.text("h1", "Log in")
    a.visible("[data-testid=login-form]")

    # the verification link, as the mail service would have sent it
    verify_url = stack.outbox_link(VERIFICATION_REQUESTED, "verification_url", email_a)
    assert "/verify-email?token=" in verify_url
    a.open(verify_url)
    a.text("[data-testid=verify-done]", "Your email address is verified.")
    a.shot("email-verified")

    # "Continue" goes home, which sends a visitor without a session to log in
    a.driver.find_element("link text", "Continue to Pingvas").click()
    a.text("h1", "Log in")
    form = a.visible("[data-testid=login-form]")
    a.fill(form, email=email_a, password=PASSWORD_A)
    a.submit(form)
    a.text("[data-testid=home-title]", "Welcome, Ada Alpha")
    a.text("[data-testid=home-title-subtitle]", "Team: Alpha")
    assert "verify" not in a.visible("main").text.lower(), "A is verified: no verify notice"
    a.shot("home-after-login")

    # team: invite B as a member
    a.driver.find_element("css selector", "nav a[href='/team']").click()
    a.text("[data-testid=team-title]", "Alpha")
    form = a.visible("[data-testid=invite-form]")
    a.fill(form, email=email_b)
    from selenium.webdriver.support.ui import Select

    Select(form.find_element("css selector", "select[name=role]")).select_by_value("member")
    a.submit(form)
    a.text("[data-testid=invite-sent]", f"Invitation sent to {email_b}")
    a.visible(f"[data-testid=invitation-row][data-email='{email_b}']", "B's pending invitation")
    a.shot("team-invited")

    # B, in a browser of their own, accepts as a new user
    accept_url = stack.outbox_link(MEMBER_INVITED, "accept_url", email_b)
    b = browsers("B")
    b.english()
    b.open(accept_url)
    b.text("body", "You are invited to join Alpha as Member.")
    form = b.visible("[data-testid=accept-invitation-form]")
    assert form.find_element("css selector", "[name=email]").get_attribute("value") == email_b
    b.fill(form, name="Bo Beta", password=PASSWORD_B)
    b.shot("invitation-filled")
    b.submit(form)
    b.text("[data-testid=home-title]", "Welcome, Bo Beta")
    b.text("[data-testid=home-title-subtitle]", "Team: Alpha")
    b.shot("joined-alpha")
    b.open("/team")
    b.text("[data-testid=team-title]", "Alpha")
    b.visible(f"[data-testid=member-row][data-email='{email_a}']", "A in B's team list")
    b.shot("team-as-member")
    b.quit()

    # back as A: B is a member now
    a.open("/team")
    row = a.visible(f"[data-testid=member-row][data-email='{email_b}']", "B in the members")
    assert "Member" in row.text
    a.shot("team-with-b")

    # API keys: create one with a scope, shown once, revoke it
    a.driver.find_element("css selector", "nav a[href='/api-keys']").click()
    form = a.visible("[data-testid=create-key-form]")
    a.fill(form, name="render bot")
    form.find_element("css selector", "input[type=checkbox][value='generations:write']").click()
    a.submit(form)
    key_field = a.visible("[data-testid=created-key]", "the new key in its dialog")
    secret = key_field.get_attribute("value")
    assert secret.startswith("pvk_"), secret
    a.text("[role=dialog]", "It will not be shown again.")
    a.shot("api-key-shown-once")
    a.driver.find_element("css selector", "[data-testid=created-key-done]").click()
    row_css = "[data-testid=api-key-row][data-key-name='render bot']"
    a.text(f"{row_css}[data-state=active] [data-testid=api-key-state]", "Active")
    assert secret not in a.driver.page_source, "the key must not stay on the page"
    assert "generations:write" in a.visible(row_css).text
    a.shot("api-key-listed")

    a.visible(f"{row_css} [data-testid=api-key-revoke]").click()
    a.text("[role=dialog]", "Revoke render bot?")
    a.shot("api-key-revoke-confirm")
    a.visible("[role=dialog] [data-testid=confirm-dialog-confirm]").click()
    a.text(f"{row_css}[data-state=revoked] [data-testid=api-key-state]", "Revoked")
    assert not a.driver.find_elements("css selector", f"{row_css} [data-testid=api-key-revoke]")
    a.shot("api-key-revoked")

    # generate: a Korean prompt on the tiny test model, live progress, the image in the gallery
    a.driver.find_element("css selector", "nav a[href='/generate']").click()
    form = a.visible("[data-testid=generate-form]")
    model = a.visible("[data-testid=generate-form] select[name=model]", "the model picker")
    Select(model).select_by_value("tiny-sd1")
    a.fill(form, prompt="눈 내리는 한옥 마당, first snow in a hanok courtyard")
    a.shot("generate-filled")
    a.visible("[data-testid=generate-submit]").click()
    a.visible("[data-testid=job-card]", "the job's card")
    a.shot("generate-job-queued")
    done = "[data-testid=job-card][data-status=completed] [data-testid=job-image]"
    a.visible(done, "the finished job's image (the worker's engine may still start)", 180)
    a.shot("generate-job-completed")
    a.driver.find_element("css selector", "nav a[href='/gallery']").click()
    a.visible("[data-testid=gallery-item]", "the image in the gallery").click()
    a.text("[data-testid=image-parameters]", "first snow in a hanok courtyard")
    # the picture itself loaded from its presigned URL (the page's CSP lets it in)
    loaded = "const i = document.querySelector('[data-testid=lightbox] img'); return i && i.complete && i.naturalWidth"
    a.until(lambda d: d.execute_script(loaded) == 64, "the 64x64 image in the lightbox")
    a.shot("gallery-lightbox")

    # search: once the search service has indexed the image (its consumer follows render's
    # events), a word of the prompt suggests it and finds it, the word marked
    from selenium.webdriver.common.keys import Keys

    indexed = (
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/v1/search/images?q=hanok&limit=1', {credentials: 'same-origin'})"
        ".then(r => r.ok ? r.json() : {total: -r.status}).then(b => done(b.total), () => done(-1))"
    )

    def searchable(driver: Any) -> bool:
        return (driver.execute_async_script(indexed) or 0) >= 1

    a.until(searchable, "the image in the search index", 60)
    a.open("/gallery")
    box = a.visible("[data-testid=gallery-search-input]", "the gallery's search box")
    box.click()
    box.send_keys("hanok")
    # the suggestions for "hanok" (the list opened on the recent prompts when focused)
    listbox = "[data-testid=gallery-search-suggestions][aria-label=Suggestions]"
    a.text(listbox, "first snow in a hanok courtyard")
    a.text(f"{listbox} [data-testid=gallery-search-suggestion] mark", "hanok")
    assert box.get_attribute("aria-expanded") == "true"
    a.shot("gallery-search-suggestions")
    box.send_keys(Keys.ENTER)
    a.until(lambda d: "q=hanok" in d.current_url, "the query in the URL")
    a.text("[data-testid=search-count]", "1 image matches")
    # the query's word is marked, and so is 한옥: "hanok" is its romanization
    marks_css = "[data-testid=search-result] [data-testid=search-result-prompt] mark"

    def marked(driver: Any) -> list[str] | None:
        texts = [m.text.strip().lower() for m in driver.find_elements("css selector", marks_css)]
        return texts if "hanok" in texts else None

    a.until(marked, "'hanok' marked in the result's prompt", 30)
    marks = [m.text.strip().lower() for m in a.driver.find_elements("css selector", marks_css)]
    assert set(marks) <= {"hanok", "한옥"}, marks
    a.visible("[data-testid=search-result] [data-testid=gallery-item] img", "its thumbnail")
    a.shot("gallery-search-results")

    # a word no prompt has: the no-results help, with a link to generate it
    box = a.visible("[data-testid=gallery-search-input]")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    box.send_keys("qwzxvq", Keys.ENTER)
    a.until(lambda d: "q=qwzxvq" in d.current_url, "the nonsense query in the URL")
    a.text("[data-testid=search-no-results]", "Nothing matched “qwzxvq”")
    a.text("[data-testid=search-no-results]", "Check the spelling.")
    link = a.visible("[data-testid=search-generate-link]")
    href = link.get_attribute("href")
    assert href.endswith("/generate?prompt=qwzxvq"), href
    assert not a.driver.find_elements("css selector", "[data-testid=search-result]")
    a.shot("gallery-search-no-results")

    # billing: Free, then an upgrade through a signed simulated Lemon Squeezy webhook
    a.open("/billing")
    a.visible("[data-testid=billing-current-plan][data-plan=free]", "the Free plan")
    a.shot("billing-free")
    with sqlite3.connect(stack.var / "tenants.db") as db:
        (tenant_id,) = db.execute("SELECT id FROM tenants WHERE name = 'Alpha'").fetchone()
    secrets = json.loads((stack.var / "secrets.json").read_text())
    subprocess.run(
        [str(Path(sys.executable).with_name("pingvas-billing")), "simulate-webhook",
         "subscription_created", "--tenant", tenant_id, "--plan", "pro",
         "--url", f"{stack.url}/webhooks/lemonsqueezy",
         f"--secret={secrets['PINGVAS_LEMONSQUEEZY_SIGNING_SECRET']}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    a.open("/billing?checkout=done")
    a.visible("[data-testid=billing-checkout-done]", "the thank-you notice")
    a.visible("[data-testid=billing-current-plan][data-plan=pro]", "the Pro plan", 60)
    a.text("[data-testid=billing-current-plan]", "Pro")
    a.shot("billing-pro")

    # platform staff: granted from the command line, A logs in again and finds its team
    # (now on Pro: the directory follows billing's events) on the operators' Tenants page
    assert not a.driver.find_elements("css selector", "nav a[href='/admin/tenants']")
    subprocess.run(
        [str(Path(sys.executable).with_name("pingvas-tenants")), "operator", "grant", email_a],
        env={**os.environ, "TENANTS_VAR_DIR": str(stack.var)},
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    a.driver.delete_all_cookies()
    a.open("/login")
    form = a.visible("[data-testid=login-form]")
    a.fill(form, email=email_a, password=PASSWORD_A)
    a.submit(form)
    a.text("[data-testid=home-title]", "Welcome, Ada Alpha")
    a.visible("nav a[href='/admin/tenants']", "the operators' Tenants link").click()
    row = "[data-testid=tenant-row]"
    a.text(row, email_a)
    a.until(
        lambda d: "pro" in d.find_element("css selector", row).text.lower(),
        "Alpha on Pro in the directory",
        30,
    )
    a.shot("operator-tenants")

    # the API reference: the bundled viewer on the merged document, nothing from elsewhere
    # (the CSP would block it; no internet is needed)
    a.driver.get_log("browser")  # what the app logged so far is not the reference's
    a.open("/api/docs")
    a.text("h1", "Pingvas API")
    a.until(
        lambda d: any("/api/v1/" in m.text for m in d.find_elements("css selector", "main")),
        "the operations (/api/v1/...) in the reference",
    )
    a.shot("api-docs")
    console = a.driver.get_log("browser")
    bad = [
        entry["message"]
        for entry in console
        if entry["level"] == "SEVERE"
        or "content security policy" in entry["message"].lower()
        or "not found in configList" in entry["message"]  # a second, empty viewer
    ]
    assert not bad, f"the API reference's console: {bad}"
    print(f"\nbrowser flow took {time.monotonic() - started:.1f} s after the stack was up")
