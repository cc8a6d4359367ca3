"""The outcomes a recorded Lemon Squeezy webhook is marked with (docs/billing.md,
"Webhooks"), and which events change what."""

from __future__ import annotations

APPLIED = "applied"
IGNORED_STALE = "ignored_stale"
IGNORED_TEST_MODE = "ignored_test_mode"
IGNORED_UNKNOWN = "ignored_unknown"
IGNORED_UNBOUND = "ignored_unbound"
FAILED = "failed"

#: the invoice events that change a subscription (a refunded invoice changes nothing here)
INVOICE_EVENTS = (
    "subscription_payment_success",
    "subscription_payment_failed",
    "subscription_payment_recovered",
)


class NotYet(Exception):
    """The event depends on one that has not been processed yet: try again later."""
