"""Billing's side of a tenant's life: tenant.created opens the Free plan (its row, its
first grant, `subscription.activated`), tenant.deleted purges everything billing holds."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.billing import SubscriptionActivated
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import get_logger
from pingvas_kit.service import ServiceRuntime

from ..adapters import repository as repo
from ..plans import Plans
from . import credits
from .periods import add_months, later, stamp
from .subscriptions import state_data

log = get_logger("pingvas.billing.tenants")



async def open_free_plan(
    session: AsyncSession, runtime: ServiceRuntime, plans: Plans, *, tenant_id: str, data: TenantCreated
) -> bool:
    """The Free subscription row, its first period's grant and `subscription.activated`;
    False when the tenant has a subscription already (a paid one may have come first)."""
    if await repo.get_subscription(session, tenant_id=tenant_id, for_update=True) is not None:
        return False
    free = plans.free
    start = data.created_at
    end = add_months(start, 1)
    at = repo.now()
    state = {
        "id": repo.new_id(),
        "tenant_id": tenant_id,
        "plan": free.code,
        "status": "active",
        "interval": None,
        "ls_subscription_id": None,
        "ls_customer_id": None,
        "ls_order_id": None,
        "ls_product_id": None,
        "ls_variant_id": None,
        "test_mode": False,
        "current_period_start": start,
        "current_period_end": end,
        "trial_ends_at": None,
        "ends_at": None,
        "past_due_since": None,
        "entitlements_reduced": False,
        "customer_portal_url": None,
        "update_payment_method_url": None,
        "ls_updated_at": None,
        "updated_at": later(at, None),
    }
    await repo.insert_subscription(session, **state, created_at=at)
    await repo.save_customer(
        session, tenant_id=tenant_id, email=data.owner_email, ls_customer_id=None
    )
    await runtime.outbox.add(
        session,
        SubscriptionActivated.model_validate(
            {**state_data(state, plans, updated_at=state["updated_at"]), "trial_ends_at": None}
        ),
        tenant_id=tenant_id,
    )
    await credits.start_period(
        session,
        runtime.outbox,
        tenant_id=tenant_id,
        plan=free.code,
        credits=free.monthly_credits,
        reference=f"plan_start:{tenant_id}:{stamp(start)}",
        period_end=end,
    )
    return True


def register(consumer: EventConsumer, runtime: ServiceRuntime, plans: Plans) -> None:
    @consumer.on(TenantCreated)
    async def tenant_created(session: AsyncSession, event: Envelope, data: TenantCreated) -> None:
        opened = await open_free_plan(session, runtime, plans, tenant_id=event.tenantid, data=data)
        log.info("billing.tenant_opened", free_plan=opened)

    @consumer.on(TenantDeleted)
    async def tenant_deleted(session: AsyncSession, event: Envelope, data: TenantDeleted) -> None:
        removed = await repo.purge_tenant(session, tenant_id=event.tenantid)
        log.info("billing.tenant_purged", **removed)
