"""Mail as a new user meets it locally (docs/mail.md), on the real stack:
`pingvas-dev up --only gateway,tenants,mail --no-workers` as a subprocess, with the local
run's dev inbox (`MAIL_DEV_INBOX=true`; `GET /dev/mail/messages`, served by mail and shown
by the gateway) standing in for the mailboxes.

- sign-up in Korean and in English: each verification mail arrives in its language, and
  its link verifies the account;
- a password reset and an invitation: the mail arrives, its link works;
- a hard bounce, published as SES publishes it to `<prefix>-mail-ses-events` on the run's
  emulator: the next mail to that address is `suppressed`, not sent;
- a newsletter made and sent with `pingvas-mail campaign` against the run's database: its
  unsubscribe link works without logging in and turns off the newsletter only (transactional
  mail still comes)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from pingvas_kit.dev.run import STATE_FILE
from pingvas_kit.dev.stack import Stack

pytestmark = [pytest.mark.timeout(420)]

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple battery horse"
#: the states a message ends in (pending and sending are on the way)
SETTLED = {"sent", "suppressed", "unsubscribed", "failed", "unknown"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")
CLI = Path(sys.executable).with_name("pingvas-mail")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(
        tmp_path_factory.mktemp("mail-e2e"),
        args=["--only", "gateway,tenants,mail", "--no-workers"],
        env={"MAIL_DEV_INBOX": "true"},
    )
    ok = False
    try:
        stack.wait_ready(timeout=180)

        def mail_healthy() -> bool:
            url = stack.service_url("mail")
            try:
                return bool(url) and httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        stack.wait(mail_healthy, 120, "mail /healthz")
        ok = True
        yield stack
    finally:
        stack.stop()
        if not ok:
            print(f"\n----- pingvas-dev output (last lines) -----\n{stack.output[-8000:]}")


@pytest.fixture(autouse=True)
def _show_logs_on_failure(request: pytest.FixtureRequest, stack: Stack) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(f"\n----- pingvas-dev output (last lines) -----\n{stack.output[-6000:]}")


# -- helpers -------------------------------------------------------------------------------------


def _until(
    call: Callable[[], Any], ok: Callable[[Any], bool], what: str, timeout: float = 30
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}"[:2000])
        time.sleep(0.3)


def inbox(stack: Stack, *, via_gateway: bool = False) -> list[dict[str, Any]]:
    base = stack.url if via_gateway else stack.service_url("mail")
    response = httpx.get(f"{base}/dev/mail/messages", params={"limit": 500}, timeout=10)
    response.raise_for_status()
    return response.json()


def mails_to(stack: Stack, email: str, template: str) -> list[dict[str, Any]]:
    return [
        m for m in inbox(stack) if m["to"].lower() == email.lower() and m["template"] == template
    ]


def wait_mail(
    stack: Stack, email: str, template: str, *, count: int = 1, timeout: float = 45
) -> dict[str, Any]:
    """The newest of the first `count` messages of `template` to `email`, once settled."""
    found = _until(
        lambda: mails_to(stack, email, template),
        lambda ms: len(ms) >= count and all(m["status"] in SETTLED for m in ms),
        f"{template} mail #{count} to {email}",
        timeout,
    )
    return found[0]


def link(message: dict[str, Any], fragment: str) -> str:
    for url in message["links"]:
        if fragment in url:
            return url
    raise AssertionError(f"no link with {fragment!r} in {message['links']}")


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def new_email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:8]}@example.com"


def api(stack: Stack, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=f"{stack.url}/api/v1", headers=headers, timeout=15)


def signup(stack: Stack, email: str, locale: str, name: str) -> None:
    body = {
        "email": email,
        "password": PASSWORD,
        "name": name,
        "team_name": f"{name}'s team",
        "locale": locale,
    }
    with api(stack) as client:
        response = client.post("/auth/signup", json=body)
    assert response.status_code == 202, response.text


def verify(stack: Stack, email: str) -> dict[str, Any]:
    """Follow the verification mail's link (its token to the API, as the page does)."""
    message = wait_mail(stack, email, "verify_email")
    assert message["status"] == "sent", message
    url = link(message, "/verify-email")
    with api(stack) as client:
        response = client.post("/auth/verify-email", json={"token": token_of(url)})
    assert response.status_code in (200, 204), response.text
    return message


def login(stack: Stack, email: str, password: str = PASSWORD) -> str:
    with api(stack) as client:
        response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def person(stack: Stack, who: str, locale: str = "en") -> tuple[str, str]:
    """A verified, logged-in person: (email, access token)."""
    email = new_email(who)
    signup(stack, email, locale, who.title())
    verify(stack, email)
    return email, login(stack, email)


def request_reset(stack: Stack, email: str) -> None:
    with api(stack) as client:
        response = client.post("/auth/password-reset", json={"email": email})
    assert response.status_code == 202, response.text


def mail_db(stack: Stack) -> Path:
    return stack.var / "mail.db"


def suppressed(stack: Stack, email: str) -> bool:
    path = mail_db(stack)
    if not path.exists():
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute(
            "SELECT 1 FROM suppressions WHERE lower(email) = lower(?)", (email,)
        ).fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()
    return row is not None


def run_cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`pingvas-mail` against this run's mail database, as a developer would run it
    (MAIL_VAR_DIR; the signing secret from the run's secrets.json)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "PINGVAS_"))}
    env.update(MAIL_VAR_DIR=str(stack.var), MAIL_PUBLIC_URL=stack.url, NO_COLOR="1")
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "pingvas_mail.cli"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=120)


def newsletter(stack: Stack, name: str) -> str:
    """Create and send a newsletter to everyone opted in; its id."""
    created = run_cli(
        stack, "campaign", "create", "--name", name,
        "--subject-en", f"{name}: what's new", "--subject-ko", f"{name}: 새 소식",
        "--body-en", "Galleries can be shared by link.",
        "--body-ko", "이제 갤러리를 링크로 공유할 수 있습니다.",
        "--rate", "20",
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    campaign_id = created.stdout.strip()
    sent = run_cli(stack, "campaign", "send", campaign_id)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "done" in sent.stdout, sent.stdout
    return campaign_id


def publish_bounce(stack: Stack, email: str) -> None:
    """A permanent bounce for `email`, as SES event publishing puts it on the configuration
    set's SNS topic (docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html)."""
    state = json.loads((stack.var / STATE_FILE).read_text())
    sns = boto3.client(
        "sns",
        endpoint_url=state["aws_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    (topic,) = [t for t in topics if t.endswith(":pingvas-mail-ses-events")]
    at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": email,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": at,
            "feedbackId": f"0100{uuid.uuid4().hex}-000000",
            "reportingMTA": "dsn; e226-55.smtp-out.us-east-1.amazonses.com",
        },
        "mail": {
            "timestamp": at,
            "source": "no-reply@pingvas.local",
            "sendingAccountId": "123456789012",
            "messageId": f"0100{uuid.uuid4().hex}-000000",
            "destination": [email],
            "headersTruncated": False,
            "tags": {"ses:configuration-set": ["pingvas-mail"]},
        },
    }
    sns.publish(TopicArn=topic, Message=json.dumps(event))


# -- the must-shows ------------------------------------------------------------------------------


def test_signup_mails_each_person_in_their_language_and_the_link_verifies(stack: Stack) -> None:
    korean, english = new_email("minji"), new_email("olive")
    signup(stack, korean, "ko", "김민지")
    signup(stack, english, "en", "Olive")

    ko = wait_mail(stack, korean, "verify_email")
    en = wait_mail(stack, english, "verify_email")
    assert (ko["status"], ko["locale"], ko["category"]) == ("sent", "ko", "transactional")
    assert (en["status"], en["locale"], en["category"]) == ("sent", "en", "transactional")
    assert HANGUL.search(ko["subject"]) and HANGUL.search(ko["text"]), ko["subject"]
    assert not HANGUL.search(en["subject"]) and not HANGUL.search(en["text"]), en["subject"]
    assert "김민지" in ko["text"] and "Olive" in en["text"]
    assert ko["html"].lstrip().lower().startswith(("<!doctype", "<html"))

    # before verifying, the address is not proven; following the link proves it
    with api(stack) as client:
        for message in (ko, en):
            url = link(message, "/verify-email")
            assert urlsplit(url).path == "/verify-email", url
            response = client.post("/auth/verify-email", json={"token": token_of(url)})
            assert response.status_code in (200, 204), response.text
    for email in (korean, english):
        with api(stack, login(stack, email)) as client:
            assert client.get("/me").json()["user"]["email_verified"] is True

    # the gateway shows the same dev inbox (the local run only)
    through_gateway = {m["id"] for m in inbox(stack, via_gateway=True)}
    assert {ko["id"], en["id"]} <= through_gateway


def test_password_reset_mail_arrives_and_its_link_resets(stack: Stack) -> None:
    email, _ = person(stack, "reset", "ko")
    request_reset(stack, email)
    message = wait_mail(stack, email, "password_reset")
    assert (message["status"], message["locale"]) == ("sent", "ko")
    assert HANGUL.search(message["subject"])
    url = link(message, "/reset-password")
    with api(stack) as client:
        response = client.post(
            "/auth/password-reset/confirm", json={"token": token_of(url), "password": NEW_PASSWORD}
        )
    assert response.status_code == 204, response.text
    login(stack, email, NEW_PASSWORD)
    with api(stack) as client:
        old = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401, old.text


def test_invitation_mail_arrives_and_its_link_joins_the_team(stack: Stack) -> None:
    _, owner_token = person(stack, "owner", "ko")
    invitee = new_email("invitee")
    with api(stack, owner_token) as owner:
        sent = owner.post("/invitations", json={"email": invitee, "role": "member"})
        assert sent.status_code == 201, sent.text
        team = owner.get("/me").json()["tenant"]
    message = wait_mail(stack, invitee, "invitation")
    assert (message["status"], message["locale"]) == ("sent", "ko")  # the team's language
    assert team["name"] in message["text"]
    url = link(message, "/invitations/")
    token = urlsplit(url).path.rstrip("/").rsplit("/", 1)[1]
    with api(stack) as client:
        preview = client.get(f"/invitations/{token}")
        assert preview.status_code == 200, preview.text
        assert preview.json()["email"] == invitee
        accepted = client.post(
            f"/invitations/{token}/accept",
            json={"name": "Invitee", "password": PASSWORD, "locale": "en"},
        )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["tenant"]["id"] == team["id"]
    login(stack, invitee)


def test_a_bounced_address_gets_no_more_mail(stack: Stack) -> None:
    email, _ = person(stack, "bouncy")
    other, _ = person(stack, "steady")
    publish_bounce(stack, email)
    _until(lambda: suppressed(stack, email), bool, f"{email} on the suppression list")

    request_reset(stack, email)
    message = wait_mail(stack, email, "password_reset")
    assert message["status"] == "suppressed", message
    # other addresses are not touched
    request_reset(stack, other)
    assert wait_mail(stack, other, "password_reset")["status"] == "sent"


def test_the_newsletter_unsubscribe_link_works_without_logging_in_and_stops_only_it(
    stack: Stack,
) -> None:
    email, token = person(stack, "reader", "ko")
    with api(stack, token) as client:
        turned_on = _until(
            lambda: client.put("/notification-preferences", json={"newsletter": True}),
            lambda r: r.status_code == 200,
            "newsletter on",
        )
        before = turned_on.json()
        assert before["newsletter"] is True

    campaign_id = newsletter(stack, "December")
    message = wait_mail(stack, email, "newsletter")
    assert (message["status"], message["locale"], message["category"]) == (
        "sent",
        "ko",
        "marketing",
    )
    assert message["subject"] == "December: 새 소식"
    assert "이제 갤러리를 링크로 공유할 수 있습니다." in message["text"]

    url = link(message, "unsubscribe")
    unsubscribe_token = token_of(url)
    anonymous = httpx.Client(base_url=f"{stack.url}/api/v1", timeout=15)  # no log-in
    with anonymous:
        asked = anonymous.get("/mail/unsubscribe", params={"token": unsubscribe_token})
        assert asked.status_code == 200, asked.text
        assert (asked.json()["preference"], asked.json()["subscribed"]) == ("newsletter", True)
        done = anonymous.post("/mail/unsubscribe", params={"token": unsubscribe_token})
        assert done.status_code == 200, done.text
        assert done.json()["subscribed"] is False
        again = anonymous.post("/mail/unsubscribe", params={"token": unsubscribe_token})
        assert again.status_code == 200, again.text  # twice is harmless
        forged = anonymous.post(
            "/mail/unsubscribe", params={"token": unsubscribe_token[:-3] + "abc"}
        )
        assert forged.status_code == 400, forged.text

    with api(stack, token) as client:
        after = client.get("/notification-preferences").json()
    assert after == {**before, "newsletter": False}  # that category only

    listed = run_cli(stack, "campaign", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (first,) = [c for c in json.loads(listed.stdout) if c["id"] == campaign_id]
    assert first["status"] == "done" and first["total"] >= 1

    # the next newsletter leaves them out; transactional mail still comes
    newsletter(stack, "January")
    request_reset(stack, email)
    assert wait_mail(stack, email, "password_reset")["status"] == "sent"
    assert len(mails_to(stack, email, "newsletter")) == 1
