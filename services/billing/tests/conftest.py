"""The billing service as Lemon Squeezy, the gateway and the bus see it: the real app
in-process (services/conftest.py) against moto's server and a real database, with helpers
that send webhooks shaped and signed the way Lemon Squeezy sends them (documented payloads:
https://docs.lemonsqueezy.com/help/webhooks, /work/shared/notes/external-formats.md),
forward requests with a signed internal identity the way the gateway does, and deliver
events the way the bus does."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pingvas_billing.adapters.db import outbox, subscriptions, webhook_events
from pingvas_billing.adapters.lemonsqueezy import checkout_binding
from pingvas_billing.app import create_app
from pingvas_billing.settings import Settings

from pingvas_contracts import EventData, envelope_of, example
from pingvas_contracts.events.tenants import TenantCreated
from pingvas_kit.dev.testing import ServiceHandle
from pingvas_kit.identity import Identity, IdentityHeaders

#: every billing test: a quick processor poll; the store in test mode (LS's default here)
BASE: dict[str, Any] = {"process_interval_s": 0.05}
SECRET = "whsec-test-signing-secret"

PRO_MONTH = "412090"
PRO_YEAR = "412091"
STARTER_MONTH = "412080"
TEAM_MONTH = "412093"


def ls_time(when: datetime) -> str:
    """Lemon Squeezy's time format: ISO 8601 with microseconds and Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _meta(event: str, tenant_id: str | None, test_mode: bool) -> dict[str, Any]:
    """As LS sends it for a purchase made through billing's checkout: the tenant and the
    checkout binding billing made for it (lemonsqueezy.checkout_binding)."""
    custom = {"tenant_id": tenant_id, "checkout": checkout_binding(SECRET, tenant_id)}
    return {
        "test_mode": test_mode,
        "event_name": event,
        "webhook_id": str(uuid.uuid4()),
        "custom_data": custom if tenant_id else {},
    }


def subscription_body(
    event: str,
    *,
    tenant_id: str | None,
    sub_id: str = "1048576",
    status: str = "active",
    variant_id: str = PRO_MONTH,
    updated_at: datetime,
    created_at: datetime | None = None,
    renews_at: datetime | None = None,
    ends_at: datetime | None = None,
    trial_ends_at: datetime | None = None,
    test_mode: bool = True,
) -> dict[str, Any]:
    created_at = created_at or updated_at
    renews_at = renews_at or created_at + timedelta(days=30)
    return {
        "meta": _meta(event, tenant_id, test_mode),
        "data": {
            "type": "subscriptions",
            "id": sub_id,
            "attributes": {
                "store_id": 99001,
                "customer_id": 2210934,
                "order_id": 5830021,
                "order_item_id": 7711,
                "product_id": 301122,
                "variant_id": int(variant_id),
                "product_name": "Pingvas",
                "variant_name": "Monthly",
                "user_name": "김지우",
                "user_email": "jiwoo@haneul.example",
                "status": status,
                "status_formatted": status.replace("_", " ").title(),
                "card_brand": "visa",
                "card_last_four": "4242",
                "pause": {"mode": "void", "resumes_at": None} if status == "paused" else None,
                "cancelled": status == "cancelled",
                "trial_ends_at": ls_time(trial_ends_at) if trial_ends_at else None,
                "billing_anchor": created_at.day,
                "first_subscription_item": {
                    "id": 8812,
                    "subscription_id": int(sub_id),
                    "price_id": 1,
                    "quantity": 1,
                },
                "urls": {
                    "update_payment_method": f"https://pingvas.lemonsqueezy.com/subscription/{sub_id}/payment-details?expires=1&signature=x",
                    "customer_portal": f"https://pingvas.lemonsqueezy.com/billing?expires=1&user=1&signature=y{sub_id}",
                },
                "renews_at": ls_time(renews_at),
                "ends_at": ls_time(ends_at) if ends_at else None,
                "created_at": ls_time(created_at),
                "updated_at": ls_time(updated_at),
                "test_mode": test_mode,
            },
            "relationships": {},
            "links": {"self": f"https://api.lemonsqueezy.com/v1/subscriptions/{sub_id}"},
        },
    }


def invoice_body(
    event: str,
    *,
    tenant_id: str,
    invoice_id: str,
    sub_id: str = "1048576",
    billing_reason: str = "renewal",
    status: str = "paid",
    total: int = 2900,
    created_at: datetime,
    updated_at: datetime | None = None,
    test_mode: bool = True,
) -> dict[str, Any]:
    return {
        "meta": _meta(event, tenant_id, test_mode),
        "data": {
            "type": "subscription-invoices",
            "id": invoice_id,
            "attributes": {
                "store_id": 99001,
                "subscription_id": int(sub_id),
                "customer_id": 2210934,
                "user_name": "김지우",
                "user_email": "jiwoo@haneul.example",
                "billing_reason": billing_reason,
                "card_brand": "visa",
                "card_last_four": "4242",
                "currency": "USD",
                "currency_rate": "1.00000000",
                "status": status,
                "status_formatted": status.title(),
                "refunded": False,
                "refunded_at": None,
                "subtotal": total,
                "discount_total": 0,
                "tax": 0,
                "tax_inclusive": False,
                "total": total,
                "subtotal_usd": total,
                "discount_total_usd": 0,
                "tax_usd": 0,
                "total_usd": total,
                "urls": {
                    "invoice_url": f"https://app.lemonsqueezy.com/my-orders/2ba92a4e/subscription-invoice/{invoice_id}"
                },
                "created_at": ls_time(created_at),
                "updated_at": ls_time(updated_at or created_at),
                "test_mode": test_mode,
            },
        },
    }


def order_body(
    event: str,
    *,
    tenant_id: str,
    order_id: str = "5830021",
    variant_id: str = PRO_MONTH,
    status: str = "paid",
    total: int = 2900,
    created_at: datetime,
    updated_at: datetime | None = None,
    test_mode: bool = True,
) -> dict[str, Any]:
    return {
        "meta": _meta(event, tenant_id, test_mode),
        "data": {
            "type": "orders",
            "id": order_id,
            "attributes": {
                "store_id": 99001,
                "customer_id": 2210934,
                "identifier": str(uuid.uuid4()),
                "order_number": 1001,
                "user_name": "김지우",
                "user_email": "jiwoo@haneul.example",
                "currency": "USD",
                "currency_rate": "1.0000",
                "subtotal": total,
                "discount_total": 0,
                "tax": 0,
                "total": total,
                "status": status,
                "status_formatted": status.title(),
                "refunded": status == "refunded",
                "refunded_at": ls_time(updated_at or created_at) if status == "refunded" else None,
                "first_order_item": {
                    "id": 7711,
                    "order_id": int(order_id),
                    "product_id": 301122,
                    "variant_id": int(variant_id),
                    "product_name": "Pingvas",
                    "variant_name": "Monthly",
                    "price": total,
                    "quantity": 1,
                    "created_at": ls_time(created_at),
                    "updated_at": ls_time(created_at),
                    "test_mode": test_mode,
                },
                "urls": {
                    "receipt": f"https://app.lemonsqueezy.com/my-orders/{order_id}?signature=r"
                },
                "created_at": ls_time(created_at),
                "updated_at": ls_time(updated_at or created_at),
                "test_mode": test_mode,
            },
        },
    }


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass
class Billing(ServiceHandle):
    @property
    def processor(self):
        return self.service.app.state.billing.processor

    # -- Lemon Squeezy's side --------------------------------------------------------------

    async def post_raw(self, raw: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(
            "/webhooks/lemonsqueezy",
            content=raw,
            headers={"Content-Type": "application/json", **headers},
        )

    async def send(self, body: dict[str, Any], *, process: bool = True) -> httpx.Response:
        """Post a webhook signed as Lemon Squeezy signs it; wait until it is processed."""
        raw = json.dumps(body).encode()
        r = await self.post_raw(
            raw, {"X-Event-Name": body["meta"]["event_name"], "X-Signature": sign(raw)}
        )
        assert r.status_code == 200, r.text
        if process:
            await self.processed(hashlib.sha256(raw).hexdigest())
        return r

    async def processed(self, digest: str, timeout: float = 10.0) -> sa.Row:
        """The recorded event once the processor marked it (drained here or in the
        background task; on Postgres the background one may hold it a moment)."""
        await self.processor.drain()
        for _ in range(int(timeout / 0.02)):
            async with self.db.sessionmaker() as session:
                row = (
                    await session.execute(
                        sa.select(webhook_events).where(webhook_events.c.body_sha256 == digest)
                    )
                ).first()
            if row is not None and row.processed_at is not None:
                return row
            await asyncio.sleep(0.02)
        raise AssertionError("the webhook was not processed")

    async def outcome(self, body: dict[str, Any]) -> str:
        digest = hashlib.sha256(json.dumps(body).encode()).hexdigest()
        return (await self.processed(digest)).outcome

    # -- the gateway's side ----------------------------------------------------------------

    def user(self, tenant_id: str, *, role: str = "owner") -> dict[str, str]:
        identity = Identity(
            principal_id=str(uuid.uuid4()),
            kind="user",
            tenant_id=tenant_id,
            roles=(role,),
            email_verified=True,
        )
        return IdentityHeaders(
            identity,
            self.settings.internal_secret.get_secret_value(),
            audience=self.settings.service_name,
        )

    async def subscription(self, tenant_id: str) -> dict[str, Any]:
        r = await self.client.get("/api/v1/billing/subscription", headers=self.user(tenant_id))
        assert r.status_code == 200, r.text
        return r.json()

    # -- the bus's side ----------------------------------------------------------------------

    async def deliver(self, data: EventData, *, tenant_id: str) -> None:
        await self.runtime.consumer(envelope_of(data, tenant_id=tenant_id))

    async def tenant(self, created_at: datetime | None = None) -> str:
        """A new tenant (tenant.created delivered to billing)."""
        tenant_id = str(uuid.uuid4())
        await self.deliver(
            example(
                TenantCreated,
                name="하늘 스튜디오",
                slug=f"t-{tenant_id[:8]}",
                owner_user_id=str(uuid.uuid4()),
                owner_email="jiwoo@haneul.example",
                owner_display_name="김지우",
                locale="ko",
                created_at=created_at or datetime.now(UTC),
            ),
            tenant_id=tenant_id,
        )
        return tenant_id

    # -- reading the database ------------------------------------------------------------------

    async def rows(self, table: sa.Table, **where: Any) -> list[sa.Row]:
        async with self.db.sessionmaker() as session:
            query = sa.select(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            return list((await session.execute(query)).all())

    async def row(self, tenant_id: str) -> sa.Row:
        (row,) = await self.rows(subscriptions, tenant_id=tenant_id)
        return row

    async def events(self, suffix: str | None = None, tenant_id: str | None = None) -> list[dict]:
        """Envelopes written to the outbox, oldest first (`suffix`: e.g. 'payment.failed')."""
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(sa.select(outbox.c.body).order_by(outbox.c.position))
            ).all()
        envelopes = [json.loads(r.body) for r in rows]
        if suffix:
            envelopes = [e for e in envelopes if e["type"] == f"pingvas.billing.{suffix}.v1"]
        if tenant_id:
            envelopes = [e for e in envelopes if e.get("tenantid") == tenant_id]
        return envelopes


@pytest.fixture
def billing_for(run_service):
    """`async with billing_for(**settings) as b` (db_backend's dict may be passed as is)."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Billing]:
        settings = {**BASE, "lemonsqueezy_signing_secret": SECRET, **overrides}
        async with run_service(create_app, Settings, **settings) as service:
            yield Billing(service)

    return start


@pytest.fixture
async def billing(billing_for) -> AsyncIterator[Billing]:
    async with billing_for() as b:
        yield b
