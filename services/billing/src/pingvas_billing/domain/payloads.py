"""Lemon Squeezy webhook bodies read into plain values (docs/billing.md, "Webhooks";
/work/shared/notes/external-formats.md). Only the fields billing uses are read; a field
that is missing or malformed raises `BadPayload` (the event is marked failed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,35}$")
_LS_ID = re.compile(r"^[0-9]{1,32}$")


class BadPayload(ValueError):
    pass


def _when(value: Any, *, required: bool = False) -> datetime | None:
    if value in (None, ""):
        if required:
            raise BadPayload("a required time is missing")
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload("a time is not ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ls_id(value: Any, *, required: bool = True) -> str | None:
    if value in (None, ""):
        if required:
            raise BadPayload("a Lemon Squeezy id is missing")
        return None
    text = str(value)
    if not _LS_ID.match(text):
        raise BadPayload("a Lemon Squeezy id is not numeric")
    return text


def _url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2048:
        return value
    return None


@dataclass(frozen=True)
class Meta:
    event_name: str
    test_mode: bool
    tenant_id: str | None


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object of the payload, or {} when it is missing or not an object."""
    return value if isinstance(value, dict) else {}


def read_meta(body: dict[str, Any], header_event_name: str | None = None) -> Meta:
    """What the webhook route records: the event's name, its mode and the tenant from
    `meta.custom_data.tenant_id` (None when absent or not an id)."""
    meta = as_object(body.get("meta"))
    name = meta.get("event_name") or header_event_name or "unknown"
    custom = as_object(meta.get("custom_data"))
    tenant = custom.get("tenant_id")
    tenant_id = tenant if isinstance(tenant, str) and _ID.match(tenant) else None
    data = as_object(body.get("data"))
    attributes = as_object(data.get("attributes"))
    test_mode = meta.get("test_mode", attributes.get("test_mode", False))
    return Meta(event_name=str(name)[:64], test_mode=bool(test_mode), tenant_id=tenant_id)


def _attributes(body: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, dict) or data.get("type") != type_:
        raise BadPayload(f"data is not of type {type_}")
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise BadPayload("data.attributes is missing")
    data_id = _ls_id(data.get("id"))
    assert data_id is not None
    return data_id, attributes


@dataclass(frozen=True)
class LsSubscription:
    id: str
    status: str
    variant_id: str
    product_id: str
    customer_id: str
    order_id: str | None
    user_email: str | None
    renews_at: datetime | None
    ends_at: datetime | None
    trial_ends_at: datetime | None
    created_at: datetime
    updated_at: datetime
    test_mode: bool
    customer_portal_url: str | None
    update_payment_method_url: str | None


STATUSES = ("on_trial", "active", "paused", "past_due", "unpaid", "cancelled", "expired")


def read_subscription(body: dict[str, Any]) -> LsSubscription:
    sub_id, a = _attributes(body, "subscriptions")
    status = a.get("status")
    if status not in STATUSES:
        raise BadPayload("unknown subscription status")
    urls = as_object(a.get("urls"))
    email = a.get("user_email")
    return LsSubscription(
        id=sub_id,
        status=status,
        variant_id=_ls_id(a.get("variant_id")),  # type: ignore[arg-type]
        product_id=_ls_id(a.get("product_id")),  # type: ignore[arg-type]
        customer_id=_ls_id(a.get("customer_id")),  # type: ignore[arg-type]
        order_id=_ls_id(a.get("order_id"), required=False),
        user_email=email if isinstance(email, str) and len(email) <= 254 else None,
        renews_at=_when(a.get("renews_at")),
        ends_at=_when(a.get("ends_at")),
        trial_ends_at=_when(a.get("trial_ends_at")),
        created_at=_when(a.get("created_at"), required=True),  # type: ignore[arg-type]
        updated_at=_when(a.get("updated_at"), required=True),  # type: ignore[arg-type]
        test_mode=bool(a.get("test_mode", False)),
        customer_portal_url=_url(urls.get("customer_portal")),
        update_payment_method_url=_url(urls.get("update_payment_method")),
    )


@dataclass(frozen=True)
class LsInvoice:
    id: str
    subscription_id: str
    billing_reason: str  # initial | renewal | updated
    status: str  # pending | paid | void | refunded | partial_refund
    total: int
    currency: str
    invoice_url: str | None
    created_at: datetime
    updated_at: datetime


def read_invoice(body: dict[str, Any]) -> LsInvoice:
    invoice_id, a = _attributes(body, "subscription-invoices")
    return LsInvoice(
        id=invoice_id,
        subscription_id=_ls_id(a.get("subscription_id")),  # type: ignore[arg-type]
        billing_reason=str(a.get("billing_reason") or "renewal"),
        status=str(a.get("status") or ""),
        total=_amount(a.get("total")),
        currency=_currency(a.get("currency")),
        invoice_url=_url((a.get("urls") or {}).get("invoice_url")),
        created_at=_when(a.get("created_at"), required=True),  # type: ignore[arg-type]
        updated_at=_when(a.get("updated_at"), required=True),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class LsOrder:
    id: str
    status: str  # pending | failed | paid | refunded | partial_refund
    total: int
    currency: str
    variant_id: str | None
    receipt_url: str | None
    user_email: str | None
    customer_id: str | None
    created_at: datetime
    updated_at: datetime


def read_order(body: dict[str, Any]) -> LsOrder:
    order_id, a = _attributes(body, "orders")
    item = as_object(a.get("first_order_item"))
    email = a.get("user_email")
    return LsOrder(
        id=order_id,
        status=str(a.get("status") or ""),
        total=_amount(a.get("total")),
        currency=_currency(a.get("currency")),
        variant_id=_ls_id(item.get("variant_id"), required=False),
        receipt_url=_url((a.get("urls") or {}).get("receipt")),
        user_email=email if isinstance(email, str) and len(email) <= 254 else None,
        customer_id=_ls_id(a.get("customer_id"), required=False),
        created_at=_when(a.get("created_at"), required=True),  # type: ignore[arg-type]
        updated_at=_when(a.get("updated_at"), required=True),  # type: ignore[arg-type]
    )


def _amount(value: Any) -> int:
    try:
        amount = int(value)
    except (TypeError, ValueError):
        raise BadPayload("an amount is not an integer") from None
    if amount < 0:
        raise BadPayload("an amount is negative")
    return amount


def _currency(value: Any) -> str:
    text = str(value or "").upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise BadPayload("a currency is not an ISO 4217 code")
    return text
