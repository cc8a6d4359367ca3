"""Billing's side of a tenant's life: a new tenant is opened on the Free plan (its row, its
first grant, `subscription.activated`, in one transaction); a deleted one loses everything
billing holds. Both are idempotent (a paid subscription that came first is kept)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import SubscriptionActivated
from pingvas_contracts.events.tenants import TenantCreated
from pingvas_kit.service import ServiceRuntime

from ..adapters import repository as repo
from ..domain.periods import add_months, later, stamp
from ..domain.subscriptions import state_data
from ..plans import Plans
from . import ledger


async def open_free_plan(
    session: AsyncSession,
    runtime: ServiceRuntime,
    plans: Plans,
    *,
    tenant_id: str,
    data: TenantCreated,
) -> bool:
    """The Free subscription row, its first period's grant and `subscription.activated`;
    False when the tenant has a subscription already (a paid one may have come first)."""
    if await repo.get_subscription(session, tenant_id=tenant_id, for_update=True) is not None:
        return False
    free = plans.free
    start = data.created_at
    end = add_months(start, 1)
    at = repo.now()
    updated_at = later(at, None)
    state: dict[str, Any] = {
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
        "updated_at": updated_at,
    }
    await repo.insert_subscription(session, **state, created_at=at)
    await repo.save_customer(
        session, tenant_id=tenant_id, email=data.owner_email, ls_customer_id=None
    )
    await runtime.outbox.add(
        session,
        SubscriptionActivated(
            **state_data(state, plans, updated_at=updated_at), trial_ends_at=None
        ),
        tenant_id=tenant_id,
    )
    await ledger.start_period(
        session,
        runtime.outbox,
        tenant_id=tenant_id,
        plan=free.code,
        credits=free.monthly_credits,
        reference=f"plan_start:{tenant_id}:{stamp(start)}",
        period_end=end,
    )
    return True


async def purge_tenant(session: AsyncSession, *, tenant_id: str) -> dict[str, int]:
    """Everything billing holds for the tenant, deleted; how many rows of each table."""
    return await repo.purge_tenant(session, tenant_id=tenant_id)
