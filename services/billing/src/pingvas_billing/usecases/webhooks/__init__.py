"""Lemon Squeezy's webhooks processed, and the sweeps (docs/billing.md, "Webhooks").

`Processor` takes the recorded events (`_processor`); `WebhookEvents` is what each does
(`_events`); the outcomes are in `domain.webhooks`.

Recorded Lemon Squeezy events are handled in order of arrival, each in one transaction
with its state changes and outbox events, and marked with an outcome:

- `applied`: the state it carries was taken (or it had nothing to change);
- `ignored_stale`: its `updated_at` is not newer than the subscription state held;
- `ignored_test_mode`: its mode is not the store's (`BILLING_LEMONSQUEEZY_TEST_MODE`);
- `ignored_unknown`: no tenant in `meta.custom_data`, an unknown variant or event name;
- `ignored_unbound`: the custom data names a tenant that did not start this purchase (no
  checkout binding made for that tenant, `adapters.lemonsqueezy.checkout_binding`, and no
  subscription, order or payment it already holds): recorded, never applied;
- `failed`: handling raised; retried with back-off until `max_webhook_attempts`, then
  left for an operator (`attempts`, `error`).

On Postgres the next event is taken `FOR UPDATE SKIP LOCKED`, so replicas share the work.
The sweep, on the same poll, reduces the entitlements of subscriptions past due longer than
the grace period and lets the ledger grant the Free plan's due periods."""

from ...domain.webhooks import (
    APPLIED,
    FAILED,
    IGNORED_STALE,
    IGNORED_TEST_MODE,
    IGNORED_UNBOUND,
    IGNORED_UNKNOWN,
    NotYet,
)
from ._events import WebhookEvents
from ._processor import Processor

__all__ = [
    "APPLIED",
    "FAILED",
    "IGNORED_STALE",
    "IGNORED_TEST_MODE",
    "IGNORED_UNBOUND",
    "IGNORED_UNKNOWN",
    "NotYet",
    "Processor",
    "WebhookEvents",
]
