"""A new person's first run, on the real stack (`pingvas-dev up --only
gateway,tenants,render --no-workers`), as the browser does it: cookies and the CSRF header.

Signed in before verifying, generating is refused (403 `email-not-verified`); following the
mailed link in that browser renews the session in the same answer, so generating is accepted
at once, with no log-out and log-in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pingvas_kit.dev.stack import PASSWORD, VERIFY, Stack, running_stack

pytestmark = [pytest.mark.timeout(300)]

WEB = {"X-Pingvas-Client": "web"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("first-run-e2e"),
        ["--only", "gateway,tenants,render", "--no-workers", "--startup-timeout", "180"],
    ) as stack:
        yield stack


def _post(browser: httpx.Client, path: str, body: dict, **headers: str) -> httpx.Response:
    csrf = browser.cookies.get("pv_csrf")
    extra = {"X-CSRF-Token": csrf} if csrf else {}
    return browser.post(path, json=body, headers={**WEB, **extra, **headers})


def _generate(browser: httpx.Client) -> httpx.Response:
    models = browser.get("/models", headers=WEB)
    assert models.status_code == 200, models.text
    model = models.json()["items"][0]
    return _post(
        browser,
        "/generations",
        {
            "prompt": "a lighthouse at dawn",
            "model": model["key"],
            "width": 64,
            "height": 64,
            "steps": 4,
            "num_images": 1,
            "scheduler": "euler",
        },
        **{"Idempotency-Key": uuid.uuid4().hex},
    )


def test_verifying_in_the_signed_in_browser_lets_it_generate_at_once(stack: Stack) -> None:
    email = f"first-{uuid.uuid4().hex[:8]}@example.com"
    browser = httpx.Client(base_url=stack.url + "/api/v1", timeout=30)
    signup = _post(
        browser,
        "/auth/signup",
        {"email": email, "password": PASSWORD, "name": "Mina", "team_name": "Mina's"},
    )
    assert signup.status_code == 202, signup.text
    # the account is made after the answer: its verification mail says it is there
    link = stack.outbox_link(VERIFY, "verification_url", email)
    login = _post(browser, "/auth/login", {"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["email_verified"] is False

    refused = _generate(browser)
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/email-not-verified")

    token = parse_qs(urlsplit(link).query)["token"][0]
    verified = _post(browser, "/auth/verify-email", {"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    assert "access_token" not in verified.json()  # the browser's tokens stay in cookies
    assert {"pv_at", "pv_rt"} <= {c.name for c in browser.cookies.jar}

    accepted = _generate(browser)
    assert accepted.status_code == 202, accepted.text
    assert browser.get("/me", headers=WEB).json()["user"]["email_verified"] is True
