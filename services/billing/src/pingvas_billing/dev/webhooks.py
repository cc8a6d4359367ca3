"""Sample Lemon Squeezy webhooks, as LS sends them: for tests, the CLI's `send` and the
local run, never for the service itself.

    body = encode(sample_webhook("subscription_created", tenant_id=t, plan_variant_id="123"))

Formats: docs/billing.md and https://docs.lemonsqueezy.com/help/webhooks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ..adapters.lemonsqueezy import EVENTS, INVOICE_EVENTS, STATUSES, SUBSCRIPTION_EVENTS


def ls_time(value: datetime | str | None) -> str | None:
    """LS's timestamp format: `2024-01-31T12:00:00.000000Z` (UTC)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _num(value: str | int) -> int | str:
    """LS sends relationship ids in attributes as numbers."""
    text = str(value)
    return int(text) if text.isdigit() else text


def sample_webhook(
    event_name: str,
    *,
    tenant_id: str | None,
    plan_variant_id: str | int,
    subscription_id: str | int = "1",
    status: str = "active",
    test_mode: bool = True,
    updated_at: datetime | str | None = None,
    created_at: datetime | str | None = None,
    renews_at: datetime | str | None = None,
    ends_at: datetime | str | None = None,
    trial_ends_at: datetime | str | None = None,
    store_id: str | int = "1",
    customer_id: str | int = "1",
    order_id: str | int = "1",
    invoice_id: str | int | None = None,
    product_id: str | int = "1",
    product_name: str = "Pingvas",
    variant_name: str = "Pro",
    user_name: str = "Pingvas Customer",
    user_email: str = "customer@example.com",
    total: int = 1900,
    currency: str = "USD",
    billing_reason: str | None = None,
    webhook_id: str | None = None,
    custom_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A webhook body as LS sends it for `event_name`: subscription_* events carry the
    subscription object (`data.type` "subscriptions"), subscription_payment_* events a
    subscription invoice ("subscription-invoices"), order_* events an order ("orders").
    `tenant_id` goes into `meta.custom_data.tenant_id` as a string (None: no custom data,
    as for a purchase made outside Pingvas's checkout). Times default to now; `renews_at`
    to a month after `updated_at`."""
    if event_name not in EVENTS:
        raise ValueError(f"unknown Lemon Squeezy event {event_name!r}; one of {', '.join(EVENTS)}")
    if status not in STATUSES:
        raise ValueError(f"unknown subscription status {status!r}; one of {', '.join(STATUSES)}")
    now = datetime.now(UTC)
    updated = updated_at if updated_at is not None else now
    created = created_at if created_at is not None else updated
    if renews_at is None and isinstance(updated, datetime):
        renews_at = updated + timedelta(days=30)
    meta: dict[str, Any] = {
        "test_mode": test_mode,
        "event_name": event_name,
        "webhook_id": webhook_id or str(uuid.uuid4()),
    }
    custom = {k: str(v) for k, v in (custom_data or {}).items()}
    if tenant_id is not None:
        custom["tenant_id"] = str(tenant_id)
    if custom:
        meta["custom_data"] = custom

    common = {
        "store_id": _num(store_id),
        "customer_id": _num(customer_id),
        "user_name": user_name,
        "user_email": user_email,
        "created_at": ls_time(created),
        "updated_at": ls_time(updated),
        "test_mode": test_mode,
    }
    if event_name in SUBSCRIPTION_EVENTS:
        data = _subscription(
            subscription_id, common, order_id=order_id, product_id=product_id,
            variant_id=plan_variant_id, product_name=product_name, variant_name=variant_name,
            status=status, renews_at=renews_at, ends_at=ends_at, trial_ends_at=trial_ends_at,
        )  # fmt: skip
    elif event_name in INVOICE_EVENTS:
        data = _invoice(
            event_name, invoice_id or subscription_id, common, subscription_id=subscription_id,
            total=total, currency=currency, billing_reason=billing_reason,
        )  # fmt: skip
    else:
        data = _order(
            event_name, order_id, common, product_id=product_id,
            variant_id=plan_variant_id, product_name=product_name, variant_name=variant_name,
            total=total, currency=currency,
        )  # fmt: skip
    return {"meta": meta, "data": data}


def _status_formatted(status: str) -> str:
    return status.replace("_", " ").title()


def _subscription(
    subscription_id: str | int,
    common: dict[str, Any],
    *,
    order_id: str | int,
    product_id: str | int,
    variant_id: str | int,
    product_name: str,
    variant_name: str,
    status: str,
    renews_at: datetime | str | None,
    ends_at: datetime | str | None,
    trial_ends_at: datetime | str | None,
) -> dict[str, Any]:
    sid = str(subscription_id)
    portal = f"https://pingvas.lemonsqueezy.com/billing?expires=1700000000&signature={sid}"
    attributes = {
        "store_id": common["store_id"],
        "customer_id": common["customer_id"],
        "order_id": _num(order_id),
        "order_item_id": _num(order_id),
        "product_id": _num(product_id),
        "variant_id": _num(variant_id),
        "product_name": product_name,
        "variant_name": variant_name,
        "user_name": common["user_name"],
        "user_email": common["user_email"],
        "status": status,
        "status_formatted": _status_formatted(status),
        "card_brand": "visa",
        "card_last_four": "4242",
        "pause": None,
        "cancelled": status == "cancelled",
        "trial_ends_at": ls_time(trial_ends_at),
        "billing_anchor": 1,
        "urls": {
            "update_payment_method": f"https://pingvas.lemonsqueezy.com/subscription/{sid}/payment-details?expires=1700000000&signature={sid}",
            "customer_portal": portal,
            "customer_portal_update_subscription": f"{portal}&subscription={sid}",
        },
        "renews_at": ls_time(renews_at),
        "ends_at": ls_time(ends_at),
        "created_at": common["created_at"],
        "updated_at": common["updated_at"],
        "test_mode": common["test_mode"],
    }
    return {
        "type": "subscriptions",
        "id": sid,
        "attributes": attributes,
        "relationships": _relationships(
            "subscriptions", sid, ("store", "customer", "order", "product", "variant")
        ),
        "links": {"self": f"https://api.lemonsqueezy.com/v1/subscriptions/{sid}"},
    }


def _invoice(
    event_name: str,
    invoice_id: str | int,
    common: dict[str, Any],
    *,
    subscription_id: str | int,
    total: int,
    currency: str,
    billing_reason: str | None,
) -> dict[str, Any]:
    iid = str(invoice_id)
    status = {
        "subscription_payment_success": "paid",
        "subscription_payment_recovered": "paid",
        "subscription_payment_failed": "pending",
        "subscription_payment_refunded": "refunded",
    }[event_name]
    attributes = {
        "store_id": common["store_id"],
        "subscription_id": _num(subscription_id),
        "customer_id": common["customer_id"],
        "user_name": common["user_name"],
        "user_email": common["user_email"],
        "billing_reason": billing_reason or "renewal",
        "card_brand": "visa",
        "card_last_four": "4242",
        "currency": currency,
        "currency_rate": "1.00000000",
        "status": status,
        "status_formatted": _status_formatted(status),
        "refunded": status == "refunded",
        "refunded_at": common["updated_at"] if status == "refunded" else None,
        "subtotal": total,
        "discount_total": 0,
        "tax": 0,
        "tax_inclusive": False,
        "total": total,
        "refunded_amount": total if status == "refunded" else 0,
        "subtotal_usd": total,
        "discount_total_usd": 0,
        "tax_usd": 0,
        "total_usd": total,
        "refunded_amount_usd": total if status == "refunded" else 0,
        "subtotal_formatted": _money(total, currency),
        "discount_total_formatted": _money(0, currency),
        "tax_formatted": _money(0, currency),
        "total_formatted": _money(total, currency),
        "refunded_amount_formatted": _money(total if status == "refunded" else 0, currency),
        "urls": {"invoice_url": f"https://app.lemonsqueezy.com/my-orders/invoice/{iid}"},
        "created_at": common["created_at"],
        "updated_at": common["updated_at"],
        "test_mode": common["test_mode"],
    }
    return {
        "type": "subscription-invoices",
        "id": iid,
        "attributes": attributes,
        "relationships": _relationships(
            "subscription-invoices", iid, ("store", "subscription", "customer")
        ),
        "links": {"self": f"https://api.lemonsqueezy.com/v1/subscription-invoices/{iid}"},
    }


def _order(
    event_name: str,
    order_id: str | int,
    common: dict[str, Any],
    *,
    product_id: str | int,
    variant_id: str | int,
    product_name: str,
    variant_name: str,
    total: int,
    currency: str,
) -> dict[str, Any]:
    oid = str(order_id)
    refunded = event_name == "order_refunded"
    status = "refunded" if refunded else "paid"
    attributes = {
        "store_id": common["store_id"],
        "customer_id": common["customer_id"],
        "identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"lemonsqueezy:order:{oid}")),
        "order_number": _num(oid),
        "user_name": common["user_name"],
        "user_email": common["user_email"],
        "currency": currency,
        "currency_rate": "1.00000000",
        "subtotal": total,
        "setup_fee": 0,
        "discount_total": 0,
        "tax": 0,
        "total": total,
        "refunded_amount": total if refunded else 0,
        "subtotal_usd": total,
        "setup_fee_usd": 0,
        "discount_total_usd": 0,
        "tax_usd": 0,
        "total_usd": total,
        "refunded_amount_usd": total if refunded else 0,
        "tax_name": None,
        "tax_rate": "0.00",
        "tax_inclusive": False,
        "status": status,
        "status_formatted": _status_formatted(status),
        "refunded": refunded,
        "refunded_at": common["updated_at"] if refunded else None,
        "subtotal_formatted": _money(total, currency),
        "setup_fee_formatted": _money(0, currency),
        "discount_total_formatted": _money(0, currency),
        "tax_formatted": _money(0, currency),
        "total_formatted": _money(total, currency),
        "refunded_amount_formatted": _money(total if refunded else 0, currency),
        "first_order_item": {
            "id": _num(oid),
            "order_id": _num(oid),
            "product_id": _num(product_id),
            "variant_id": _num(variant_id),
            "product_name": product_name,
            "variant_name": variant_name,
            "price": total,
            "quantity": 1,
            "created_at": common["created_at"],
            "updated_at": common["updated_at"],
            "test_mode": common["test_mode"],
        },
        "urls": {"receipt": f"https://app.lemonsqueezy.com/my-orders/{oid}?signature={oid}"},
        "created_at": common["created_at"],
        "updated_at": common["updated_at"],
        "test_mode": common["test_mode"],
    }
    return {
        "type": "orders",
        "id": oid,
        "attributes": attributes,
        "relationships": _relationships(
            "orders", oid, ("store", "customer", "order-items", "subscriptions")
        ),
        "links": {"self": f"https://api.lemonsqueezy.com/v1/orders/{oid}"},
    }


def _relationships(kind: str, id_: str, names: tuple[str, ...]) -> dict[str, Any]:
    base = f"https://api.lemonsqueezy.com/v1/{kind}/{id_}"
    return {
        name: {"links": {"related": f"{base}/{name}", "self": f"{base}/relationships/{name}"}}
        for name in names
    }


def _money(minor: int, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency.upper(), "")
    return f"{symbol}{minor / 100:,.2f}" if symbol else f"{minor / 100:,.2f} {currency.upper()}"


def encode(payload: dict[str, Any]) -> bytes:
    """A webhook body's bytes, compact like LS's."""
    return json.dumps(payload, separators=(",", ":")).encode()
