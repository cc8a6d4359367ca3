"""Verifying a webhook from Pingvas (Standard Webhooks): an HMAC-SHA256, keyed with the
base64 part of the `whsec_` secret, over `{webhook-id}.{webhook-timestamp}.{body}`;
`webhook-signature` holds one or more space-separated `v1,<base64>` signatures (two while
a secret is being rotated), and the timestamp must be within `tolerance` seconds of now."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from .errors import WebhookVerificationError

__all__ = ["sign_webhook", "verify_webhook"]

PREFIX = "whsec_"


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret is not `whsec_` followed by base64") from None


def _signature(key: bytes, msg_id: str, timestamp: str, payload: bytes) -> bytes:
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + payload
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign_webhook(payload: bytes, *, msg_id: str, timestamp: int, secret: str) -> str:
    """The `webhook-signature` value for a payload (one `v1,` signature): for tests."""
    return (
        "v1," + base64.b64encode(_signature(_key(secret), msg_id, str(timestamp), payload)).decode()
    )


def verify_webhook(
    payload: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> Any:
    """The webhook's JSON body when it is genuine; else WebhookVerificationError.

    `payload` is the raw body exactly as received (not re-serialized JSON); `headers` any
    mapping (names in any case)."""
    body = payload.encode() if isinstance(payload, str) else bytes(payload)
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if sent < current - tolerance:
        raise WebhookVerificationError("the webhook's timestamp is too old")
    if sent > current + tolerance:
        raise WebhookVerificationError("the webhook's timestamp is too new")
    expected = _signature(_key(secret), msg_id, stamp, body)
    matched = False
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        # every candidate is compared, in constant time, whatever the earlier ones gave
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise WebhookVerificationError("no signature matches")
    try:
        return json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the body is not JSON") from None
