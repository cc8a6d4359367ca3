"""verify_webhook() against signatures made by the `standardwebhooks` package."""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import UTC, datetime

import pytest
from pingvas_client import WebhookVerificationError, sign_webhook, verify_webhook
from standardwebhooks.webhooks import Webhook

BODY = json.dumps({"type": "generation.completed", "data": {"id": "job_1"}}).encode()


def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def signed(key: str, *, msg_id: str = "msg_1", at: float | None = None, body: bytes = BODY):
    when = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    signature = Webhook(key).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def test_a_genuine_webhook_verifies_and_gives_its_body():
    key = secret()
    headers = signed(key)
    assert verify_webhook(BODY, headers, key) == json.loads(BODY)
    # header names in any case, str or bytes body
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify_webhook(BODY.decode(), upper, key)["type"] == "generation.completed"


def test_what_this_signs_standardwebhooks_verifies():
    key = secret()
    now = int(time.time())
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(now),
        "webhook-signature": sign_webhook(BODY, msg_id="msg_2", timestamp=now, secret=key),
    }
    assert Webhook(key).verify(BODY, headers) == json.loads(BODY)


@pytest.mark.parametrize(
    "forge",
    [
        lambda h, b, k: (h, b.replace(b"job_1", b"job_2"), k),  # body changed
        lambda h, b, k: ({**h, "webhook-id": "msg_other"}, b, k),  # id changed
        lambda h, b, k: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b, k),
        lambda h, b, k: (h, b, secret()),  # another secret
        lambda h, b, k: (
            {**h, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()},
            b,
            k,
        ),
        lambda h, b, k: (
            {**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,")},
            b,
            k,
        ),
        lambda h, b, k: ({**h, "webhook-signature": "v1,not base64!"}, b, k),
        lambda h, b, k: ({k2: v for k2, v in h.items() if k2 != "webhook-signature"}, b, k),
    ],
)
def test_a_forged_webhook_is_rejected(forge):
    key = secret()
    headers, body, used = forge(signed(key), BODY, key)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, used)


def test_an_old_or_future_timestamp_is_rejected_even_when_signed():
    key = secret()
    old = signed(key, at=time.time() - 301)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(BODY, old, key)
    assert verify_webhook(BODY, old, key, tolerance=600)["type"] == "generation.completed"
    future = signed(key, at=time.time() + 301)
    with pytest.raises(WebhookVerificationError, match="too new"):
        verify_webhook(BODY, future, key)
    # a replay: the same genuine delivery, checked later than the tolerance
    fresh = signed(key)
    assert verify_webhook(BODY, fresh, key)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, fresh, key, now=time.time() + 400)


def test_two_signatures_during_a_rotation_either_secret_verifies():
    old_key, new_key = secret(), secret()
    at = time.time()
    one = signed(old_key, at=at)["webhook-signature"]
    two = signed(new_key, at=at)["webhook-signature"]
    headers = {**signed(old_key, at=at), "webhook-signature": f"{one} {two}"}
    assert verify_webhook(BODY, headers, old_key)
    assert verify_webhook(BODY, headers, new_key)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, headers, secret())
    # and standardwebhooks agrees on the same header
    assert Webhook(new_key).verify(BODY, headers)


def test_a_secret_that_is_not_base64_is_a_value_error():
    with pytest.raises(ValueError):
        verify_webhook(BODY, signed(secret()), "whsec_***")
