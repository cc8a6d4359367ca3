"""What an SES bounce or complaint notification says (SES's documented notification
content: https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html, and event
publishing's
https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html).

`parse` unwraps one SQS body (SNS-wrapped or raw) into a stable dedupe key and the SES
JSON, raising `BadNotification` for anything unreadable; `read` turns the JSON into one
entry per address. Only a permanent bounce or a complaint says to suppress the address."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any


class BadNotification(ValueError):
    pass


def _when(value: Any) -> datetime:
    """SES's timestamp, as aware UTC; now when it is missing or unreadable."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


def parse(body: str) -> tuple[str, dict[str, Any]]:
    """(a stable id for dedupe, the SES notification) from an SQS body (SNS-wrapped, or
    raw when the subscription delivers raw)."""
    try:
        outer = json.loads(body)
    except ValueError:
        raise BadNotification("not JSON") from None
    if not isinstance(outer, dict):
        raise BadNotification("not an object")
    if outer.get("Type") == "Notification" and "Message" in outer:
        try:
            inner = json.loads(outer["Message"])
        except (ValueError, TypeError):
            raise BadNotification("SNS Message is not JSON") from None
        key = str(outer.get("MessageId") or "")
    else:
        inner = outer
        key = ""
    if not isinstance(inner, dict):
        raise BadNotification("SES notification is not an object")
    if not key:
        key = "sha256:" + hashlib.sha256(body.encode()).hexdigest()[:56]
    return key, inner


def read(notification: dict[str, Any]) -> list[dict[str, Any]]:
    """What one SES notification says, per address: {email, kind, bounce_type, diagnostic,
    suppress, at}. Deliveries, sends and other events say nothing here."""
    kind = str(notification.get("notificationType") or notification.get("eventType") or "")
    mail = notification.get("mail") or {}
    provider_id = mail.get("messageId")
    out: list[dict[str, Any]] = []
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        bounce_type = str(bounce.get("bounceType") or "Undetermined").lower()
        if bounce_type not in ("permanent", "transient", "undetermined"):
            bounce_type = "undetermined"
        for r in bounce.get("bouncedRecipients") or []:
            if r.get("emailAddress"):
                out.append(
                    {
                        "email": r["emailAddress"],
                        "kind": "bounce",
                        "bounce_type": bounce_type,
                        "diagnostic": (r.get("diagnosticCode") or None)
                        and str(r["diagnosticCode"])[:1000],
                        "suppress": bounce_type == "permanent",
                        "at": _when(bounce.get("timestamp")),
                        "provider_message_id": provider_id,
                    }
                )
    elif kind == "Complaint":
        complaint = notification.get("complaint") or {}
        for r in complaint.get("complainedRecipients") or []:
            if r.get("emailAddress"):
                out.append(
                    {
                        "email": r["emailAddress"],
                        "kind": "complaint",
                        "bounce_type": None,
                        "diagnostic": complaint.get("complaintFeedbackType"),
                        "suppress": True,
                        "at": _when(complaint.get("timestamp")),
                        "provider_message_id": provider_id,
                    }
                )
    return out
