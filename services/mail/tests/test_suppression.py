"""SES bounce and complaint notifications → the suppression list (docs/mail.md).

Notifications are published the way SES publishes them to the configuration set's SNS
topic (the documented format:
https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html),
and reach mail through the SQS queue subscribed to it, SNS-wrapped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pingvas_mail.adapters.db import suppressions


def bounce(message_id: str, address: str, bounce_type: str = "Permanent") -> dict:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "eventType": "Bounce",
        "bounce": {
            "feedbackId": "0100017f-feedback",
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": now,
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": {
            "timestamp": now,
            "source": "no-reply@pingvas.local",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/pingvas.local",
            "sendingAccountId": "123456789012",
            "messageId": message_id,
            "destination": [address],
            "tags": {"template": ["verify_email"]},
        },
    }


def complaint(message_id: str, address: str) -> dict:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": now,
            "feedbackId": "0100017f-complaint",
            "complaintFeedbackType": "abuse",
        },
        "mail": {"timestamp": now, "messageId": message_id, "destination": [address]},
    }


async def wait_for(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_a_hard_bounce_suppresses_and_the_next_mail_is_not_sent(mail_for, db_backend):
    async with mail_for(**db_backend) as m:
        user = await m.user(email="Gone@Example.com")
        (first,) = await m.settled(await m.verification(user, "Gone@Example.com"))
        assert first.status == "sent"

        m.publish_ses(bounce(first.provider_message_id, "Gone@Example.com"))
        await wait_for(lambda: m.suppressed("gone@example.com"))
        (row,) = await m.rows(suppressions, email="gone@example.com")
        assert row.reason == "bounce" and "550" in row.detail

        async def bounced():
            return await m.events("bounced")

        await wait_for(bounced)
        (event,) = await m.events("bounced")
        assert event["data"]["message_id"] == first.id
        assert event["data"]["kind"] == "bounce" and event["data"]["bounce_type"] == "permanent"
        assert event["data"]["suppressed"] is True

        before = m.ses_sent()
        (second,) = await m.settled(await m.verification(user, "Gone@Example.com"))
        assert second.status == "suppressed"
        assert m.ses_sent() == before
        metrics = (await m.client.get("/metrics")).text
        assert 'pingvas_mail_skipped_total{reason="suppressed"}' in metrics


async def test_a_transient_bounce_does_not_suppress(mail):
    user = await mail.user(email="full@example.com")
    (sent,) = await mail.settled(await mail.verification(user, "full@example.com"))
    mail.publish_ses(bounce(sent.provider_message_id, "full@example.com", "Transient"))

    async def reported():
        return await mail.events("bounced")

    await wait_for(reported)
    (event,) = await mail.events("bounced")
    assert event["data"]["suppressed"] is False and event["data"]["bounce_type"] == "transient"
    assert not await mail.suppressed("full@example.com")
    (again,) = await mail.settled(await mail.verification(user, "full@example.com"))
    assert again.status == "sent"


async def test_a_complaint_suppresses_once_however_often_it_arrives(mail):
    user = await mail.user(email="angry@example.com")
    (sent,) = await mail.settled(await mail.verification(user, "angry@example.com"))
    body = complaint(sent.provider_message_id, "angry@example.com")
    # the same SQS body twice (SQS delivers at least once)
    app_notifications = mail.app.state.notifications
    import json

    wrapped = json.dumps(
        {"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(body)}
    )
    assert await app_notifications.handle(wrapped)
    assert await app_notifications.handle(wrapped)
    (row,) = await mail.rows(suppressions, email="angry@example.com")
    assert row.reason == "complaint"
    events = await mail.events("bounced")
    assert len(events) == 1 and events[0]["data"]["kind"] == "complaint"
    assert events[0]["data"]["bounce_type"] is None
    # an unreadable body is dropped, not retried for ever
    assert await app_notifications.handle("not json")
