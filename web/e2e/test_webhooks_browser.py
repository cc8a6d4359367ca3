"""The Webhooks page in a real browser against the whole local stack (issue 16, "Must show").

Reuses test_browser.py's stack, browser and screenshot fixtures (`pingvas-dev up` on a
temporary --var, headless Debian Chromium through chromedriver). A team is signed up and
verified over the API; its owner then, in the browser:

    logs in -> Webhooks -> adds an endpoint pointing at a real HTTP receiver on 127.0.0.1
    (the local run allows loopback receivers; production refuses them) -> sees the
    `whsec_` secret once -> sends a test event -> the delivery log shows the `ping` as
    delivered with HTTP 200, its attempt and the receiver's answer -> the endpoint turns
    healthy.

The receiver got that `ping` exactly once, signed so that the `standardwebhooks` package
verifies it with the secret the page showed (and refuses a forged body and another secret).
Needs web/dist, /usr/bin/chromium and /usr/bin/chromedriver, as test_browser.py does."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pingvas_kit.dev.receiver import WebhookReceiver
from pingvas_kit.dev.stack import PASSWORD, Stack, Team

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_browser as _base  # noqa: E402 - the shared browser fixtures, by path
from test_browser import Browser  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# The fixtures of test_browser.py, under their own names (not its test).
stack = _base.stack
shots = _base.shots
browsers = _base.browsers


def _log_in(browser: Browser, email: str) -> None:
    browser.english()
    browser.open("/login")
    form = browser.visible("[data-testid=login-form]")
    browser.fill(form, email=email, password=PASSWORD)
    browser.submit(form)
    browser.visible("[data-testid=home-title]", "the home page after log-in")


def test_create_endpoint_send_test_event_and_see_it_delivered(
    stack: Stack, browsers: Callable[[str], Browser]
) -> None:
    team = Team(stack, "Hooks")  # the owner of a fresh, verified team

    with WebhookReceiver() as receiver:
        a = browsers("owner")
        _log_in(a, team.email)

        # the Webhooks page, from the navigation
        a.driver.find_element("css selector", "nav a[href='/webhooks']").click()
        a.text("[data-testid=webhooks-title]", "Webhooks")
        form = a.visible("[data-testid=create-webhook-form]")
        a.fill(form, url=receiver.url, description="browser test receiver")
        a.visible(
            "[data-testid=create-webhook-form] input[value='generation.completed']",
            "the event types from the API",
        ).click()
        a.shot("webhook-create-filled")
        a.submit(form)

        # the secret, shown once
        field = a.visible("[data-testid=webhook-secret]", "the new endpoint's secret")
        secret = field.get_attribute("value")
        assert secret.startswith("whsec_"), secret
        a.text("[role=dialog]", "It will not be shown again.")
        a.shot("webhook-secret-shown-once")
        a.visible("[data-testid=webhook-secret-done]").click()
        row = f"[data-testid=webhook-row][data-url='{receiver.url}']"
        a.text(f"{row} [data-testid=webhook-health]", "New")
        assert secret not in a.driver.page_source, "the secret must not stay on the page"
        assert "generation.completed" in a.visible(row).text
        assert receiver.received == [], "nothing is sent before the test event"

        # a test event: the log opens and follows it until it is delivered
        a.visible(f"{row} [data-testid=webhook-test]").click()
        delivered = f"{row} [data-testid=delivery-row][data-event-type=ping][data-status=delivered]"
        a.visible(delivered, "the ping delivered in the log", 60)
        a.text(f"{delivered} [data-testid=delivery-status]", "Delivered")
        a.text(f"{delivered} [data-testid=delivery-status-code]", "200")
        a.shot("webhook-log-delivered")

        # its attempt: the receiver's status code and answer
        a.visible(delivered).click()
        detail = f"{row} [data-testid=delivery-detail]"
        a.text(f"{detail} [data-testid=delivery-attempt] [data-testid=attempt-status-code]", "200")
        a.text(f"{detail} [data-testid=delivery-attempt]", '"received": true')
        message_id = a.visible(f"{detail} code").text.strip()
        a.shot("webhook-delivery-attempts")

        # the endpoint's health follows the delivery
        a.text(f"{row}[data-health=healthy] [data-testid=webhook-health]", "Healthy")
        a.shot("webhook-healthy")

        # what the receiver got: one ping, signed with the secret the page showed
        [ping] = receiver.wait_for(lambda r: r.json.get("type") == "ping", timeout=10)
        pings = [r for r in receiver.received if r.json.get("type") == "ping"]
        assert len(pings) == 1, [r.body[:120] for r in receiver.received]
        assert ping.headers["content-type"].startswith("application/json")
        assert ping.headers["webhook-id"] == message_id
        assert ping.headers["webhook-signature"].startswith("v1,")
        payload = Webhook(secret).verify(ping.body, ping.headers)
        assert payload["type"] == "ping"
        assert payload == json.loads(ping.body)

        forged = ping.body.replace(b'"ping"', b'"pong"')
        assert forged != ping.body
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(forged, ping.headers)
        other = "whsec_" + base64.b64encode(b"not the endpoint's secret, 32 b").decode()
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(ping.body, ping.headers)
