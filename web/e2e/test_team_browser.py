"""Gallery downloads, the audit log in words and invitation revoke in a real browser
against the whole local stack (issue 18, "Must show").

Reuses test_browser.py's stack, browser and screenshot fixtures (`pingvas-dev up` on a
temporary --var, headless Debian Chromium through chromedriver). A team is signed up and
verified over the API, makes an image on the tiny model and invites someone; its owner
then, in the browser:

    gallery -> the lightbox's Download saves `pingvas-<day>-a-cat-on-a-sofa.png` into the
    browser's download folder (render's presigned URL answers as an attachment: no tab, no
    navigation) -> Team: the pending invitation is revoked after confirming, and is gone ->
    Audit log: "<owner> invited ..." and "<owner> revoked the invitation for ...", in
    English and then in Korean ("...님이 ...을(를) 초대했습니다") -> at phone width (375 px)
    the Team and Billing pages do not scroll sideways.

Needs web/dist, /usr/bin/chromium and /usr/bin/chromedriver, as test_browser.py does."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pingvas_kit.dev.stack import PASSWORD, Stack, Team

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_browser as _base  # noqa: E402 - the shared browser fixtures, by path
from test_browser import Browser  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

stack = _base.stack
shots = _base.shots
browsers = _base.browsers

INVITEE = "sora@example.com"


def _log_in(browser: Browser, email: str) -> None:
    browser.english()
    browser.open("/login")
    form = browser.visible("[data-testid=login-form]")
    browser.fill(form, email=email, password=PASSWORD)
    browser.submit(form)
    browser.visible("[data-testid=home-title]", "the home page after log-in")


def _an_image(team: Team, prompt: str) -> dict:
    job = team.generate(prompt, model="tiny-sd1", width=64, height=64, steps=2)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        items = team.http.get("/images").json().get("items", [])
        mine = [i for i in items if i["job_id"] == job["id"]]
        if mine:
            return mine[0]
        time.sleep(1)
    raise AssertionError(f"job {job['id']} made no image in time")


def test_download_with_a_name_revoke_an_invitation_and_the_audit_log_in_words(
    stack: Stack, browsers: Callable[[str], Browser], tmp_path: Path
) -> None:
    team = Team(stack, "Minji")
    image = _an_image(team, "A cat on a sofa")
    day = datetime.fromisoformat(image["created_at"]).astimezone(UTC).date().isoformat()
    name = f"pingvas-{day}-a-cat-on-a-sofa.png"
    r = team.http.post("/invitations", json={"email": INVITEE, "role": "member"})
    assert r.status_code == 201, r.text

    a = browsers("owner")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    a.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    _log_in(a, team.email)

    # gallery: Download saves the file under its readable name, the page stays put
    a.open(f"/gallery?image={image['id']}")
    link = a.visible("[data-testid=lightbox] a[data-testid=image-download][href]", "Download")
    assert link.get_attribute("download") == name
    page = a.driver.current_url
    link.click()
    saved = downloads / name
    a.until(lambda _d: saved.is_file() and saved.stat().st_size > 0, f"{name} downloaded", 30)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.driver.current_url == page and len(a.driver.window_handles) == 1
    a.shot("gallery-downloaded")

    # team: revoke the pending invitation
    a.open("/team")
    row = f"[data-testid=invitation-row][data-email='{INVITEE}']"
    a.visible(row, "the pending invitation")
    a.visible(f"{row} [data-testid=invitation-revoke]").click()
    a.text("[role=dialog]", f"Revoke the invitation for {INVITEE}?")
    a.shot("team-revoke-confirm")
    a.visible("[role=dialog] [data-testid=confirm-dialog-confirm]").click()
    a.until(lambda d: not d.find_elements("css selector", row), "the invitation gone from the list")
    assert team.http.get("/invitations").json() == []
    a.shot("team-revoked")

    # the audit log, in words: English, then Korean
    a.open("/audit-log")
    a.text("[data-testid=audit-log]", f"Minji revoked the invitation for {INVITEE}")
    a.text("[data-testid=audit-log]", f"Minji invited {INVITEE}")
    a.shot("audit-log-en")
    a.driver.execute_script("window.localStorage.setItem('pv_locale', 'ko')")
    a.open("/audit-log")
    a.text("[data-testid=audit-log]", f"Minji님이 {INVITEE}을(를) 초대했습니다")
    a.text("[data-testid=audit-log]", f"Minji님이 {INVITEE}에게 보낸 초대를 취소했습니다")
    a.shot("audit-log-ko")

    # phone width: nothing scrolls sideways on the Team and Billing pages
    a.driver.set_window_size(375, 812)
    sideways = "return document.documentElement.scrollWidth - window.innerWidth"
    for path, ready in (
        ("/team", "[data-testid=member-table]"),
        ("/billing", "[data-testid=usage-chart]"),
    ):
        a.open(path)
        a.visible(ready, f"{path} at phone width")
        time.sleep(1)  # the rest of the page settles
        a.shot(f"phone{path.replace('/', '-')}")
        assert a.driver.execute_script(sideways) <= 0, f"{path} overflows at 375 px"
