"""Events published by the mail context.

The tenant, when the mail concerns one, travels in the envelope's `tenantid`. No message
body or link is ever published: a sent verification mail must not leak its token again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..base import EventData, event
from ..types import Email, Id, Locale, Timestamp

Template = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
ProviderMessageId = Annotated[str, Field(min_length=1, max_length=256)]

_MESSAGE = "4d5e6f7a-8b9c-4d0e-8f1a-2b3c4d5e6f7a"
_SES_ID = "0107019c5e8f2a31-6b1d4e2c-9a7f-4c3b-8e5d-2f1a0b9c8d7e-000000"


@event(
    "pingvas.mail.sent.v1",
    examples=[
        {
            "message_id": _MESSAGE,
            "provider": "ses",
            "provider_message_id": _SES_ID,
            "template": "verify_email",
            "category": "transactional",
            "locale": "ko",
            "to": "jiwoo.kim@haneul.example",
            "user_id": "5d6f0f0e-3a8b-4d9a-8f0c-1b2a3c4d5e6f",
            "causation_event_id": "a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d",
            "sent_at": "2026-11-26T09:00:04Z",
        }
    ],
)
class MailSent(EventData):
    """A message was handed to the mail provider (accepted for delivery, not yet
    delivered). `causation_event_id` is the event that caused it: mail sends at most one
    message per (event, template, recipient)."""

    message_id: Id = Field(description="mail service's message id")
    provider: Literal["ses", "smtp", "console"] = Field(
        description="transport used (console: local development)"
    )
    provider_message_id: ProviderMessageId | None = Field(
        description="the provider's id (SES MessageId), used to match bounces"
    )
    template: Template = Field(description="template key, e.g. `verify_email`")
    category: Literal["transactional", "notification", "marketing"] = Field(
        description="transactional mail ignores opt-outs; the others honour preferences"
    )
    locale: Locale = Field(description="language the message was rendered in")
    to: Email = Field(description="recipient address")
    user_id: Id | None = Field(default=None, description="recipient user, when known")
    causation_event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="CloudEvents id of the event that triggered the message",
    )
    sent_at: Timestamp = Field(description="when the provider accepted the message")


@event(
    "pingvas.mail.bounced.v1",
    examples=[
        {
            "message_id": _MESSAGE,
            "provider_message_id": _SES_ID,
            "email": "alex@partner.example",
            "kind": "bounce",
            "bounce_type": "permanent",
            "diagnostic": "smtp; 550 5.1.1 user unknown",
            "suppressed": True,
            "bounced_at": "2026-11-27T14:06:00Z",
        },
        {
            "message_id": None,
            "provider_message_id": "0107019c60aa11f2-2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f-000000",
            "email": "spam-reporter@mailbox.example",
            "kind": "complaint",
            "bounce_type": None,
            "diagnostic": None,
            "suppressed": True,
            "bounced_at": "2026-11-29T02:11:45Z",
        },
    ],
)
class MailBounced(EventData):
    """The provider reported a bounce or a spam complaint for an address. When
    `suppressed` is true mail will not write to it again (except to re-verify); tenants
    may flag the user's address as undeliverable."""

    message_id: Id | None = Field(description="mail's message id, if it could be matched")
    provider_message_id: ProviderMessageId | None = Field(description="the provider's id")
    email: Email = Field(description="address that bounced or complained")
    kind: Literal["bounce", "complaint"] = Field(description="bounce or spam complaint")
    bounce_type: Literal["permanent", "transient", "undetermined"] | None = Field(
        description="SES bounce type; null for complaints"
    )
    diagnostic: str | None = Field(
        default=None, max_length=1000, description="remote server's diagnostic, if any"
    )
    suppressed: bool = Field(description="whether the address is now on the suppression list")
    bounced_at: Timestamp = Field(description="when the provider reported it")
