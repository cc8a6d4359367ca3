"""What each recorded Lemon Squeezy webhook does, in the processor's transaction: the
subscription state it carries taken (unless stale, of another mode or of a purchase the
tenant did not start), payments recorded, and the contract events of each transition
published (`subscription.*`, `payment.*`) with the ledger's period grants."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts.events.billing import (
    PaymentFailed,
    PaymentSucceeded,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_kit.logging import get_logger
from pingvas_kit.outbox import Outbox

from ...adapters import repository as repo
from ...adapters.lemonsqueezy import BINDING_KEY, SUBSCRIPTION_EVENTS, binding_is_for
from ...adapters.repository import aware, new_id, now, state_of
from ...domain.payloads import (
    BadPayload,
    LsInvoice,
    as_object,
    read_invoice,
    read_order,
    read_subscription,
)
from ...domain.periods import add_interval, later, stamp
from ...domain.subscriptions import (
    DELINQUENT,
    is_paid,
    is_stale,
    lemon_squeezy_ref,
    next_state,
    state_data,
)
from ...domain.webhooks import (
    APPLIED,
    IGNORED_STALE,
    IGNORED_TEST_MODE,
    IGNORED_UNBOUND,
    IGNORED_UNKNOWN,
    INVOICE_EVENTS,
    NotYet,
)
from ...plans import Plans
from ...settings import Settings
from .. import ledger

log = get_logger("pingvas.billing.processor")


class WebhookEvents:
    """Handles one recorded webhook at a time (`handle`), returning its outcome."""

    def __init__(self, settings: Settings, plans: Plans, outbox: Outbox) -> None:
        self.settings = settings
        self.plans = plans
        self.outbox = outbox

    async def handle(self, session: AsyncSession, row: Any, at: datetime) -> str:
        if row.test_mode != self.settings.lemonsqueezy_test_mode:
            return IGNORED_TEST_MODE
        name = row.event_name
        if row.tenant_id is None:
            log.info("billing.webhook_without_tenant", event_name=name)
            return IGNORED_UNKNOWN
        try:
            body = json.loads(row.body)
        except ValueError:
            raise BadPayload("the body is not JSON") from None
        if not await self._bound(session, row.tenant_id, body, name):
            log.warning(
                "billing.webhook_not_bound", event_name=name, claimed_tenant_id=row.tenant_id
            )
            return IGNORED_UNBOUND
        if name in SUBSCRIPTION_EVENTS:
            return await self._subscription(session, row.tenant_id, body, at)
        if name in INVOICE_EVENTS:
            return await self._invoice(session, row.tenant_id, body, at, name)
        if name == "order_created":
            return await self._order_created(session, row.tenant_id, body)
        if name == "order_refunded":
            return await self._order_refunded(session, row.tenant_id, body)
        return IGNORED_UNKNOWN

    async def _bound(
        self, session: AsyncSession, tenant_id: str, body: dict[str, Any], name: str
    ) -> bool:
        """Whether the purchase this event is about belongs to `tenant_id` (custom data's
        claim): a checkout binding billing made for that tenant when it started the checkout,
        or, without one, something of the purchase the tenant already holds (a subscription
        bound earlier, the subscription's order, a recorded payment)."""
        meta = as_object(body.get("meta"))
        custom = as_object(meta.get("custom_data"))
        secret = self.settings.lemonsqueezy_signing_secret
        if binding_is_for(secret, tenant_id, custom.get(BINDING_KEY)):
            return True
        data = as_object(body.get("data"))
        attributes = as_object(data.get("attributes"))
        if name in SUBSCRIPTION_EVENTS:
            holder = await repo.subscription_by_ls_id(session, str(data.get("id")))
            return holder is not None and holder.tenant_id == tenant_id
        if name in INVOICE_EVENTS:
            # its subscription decides (not known yet: retried until it is)
            holder = await repo.subscription_by_ls_id(
                session, str(attributes.get("subscription_id"))
            )
            return holder is None or holder.tenant_id == tenant_id
        if name == "order_created":
            sub = await repo.get_subscription(session, tenant_id=tenant_id)
            return sub is not None and sub.ls_order_id == str(data.get("id"))
        if name == "order_refunded":
            previous = await repo.get_payment(session, f"order:{data.get('id')}")
            return previous is not None and previous.tenant_id == tenant_id
        return True  # other events change nothing

    # -- subscriptions -------------------------------------------------------------------

    async def _subscription(
        self, session: AsyncSession, tenant_id: str, body: dict[str, Any], at: datetime
    ) -> str:
        ls = read_subscription(body)
        found = self.plans.by_variant(ls.variant_id)
        if found is None:
            log.warning("billing.unknown_variant", variant_id=ls.variant_id)
            return IGNORED_UNKNOWN
        plan, interval = found
        holder = await repo.subscription_by_ls_id(session, ls.id)
        if holder is not None and holder.tenant_id != tenant_id:
            log.warning("billing.subscription_of_another_tenant", ls_subscription_id=ls.id)
            return IGNORED_UNKNOWN
        row = await repo.get_subscription(session, tenant_id=tenant_id, for_update=True)
        before = state_of(row) if row is not None else None
        same = before is not None and before["ls_subscription_id"] == ls.id
        if is_stale(ls, before):
            return IGNORED_STALE
        state = next_state(
            ls,
            before,
            tenant_id=tenant_id,
            plan=plan.code,
            interval=interval,
            at=at,
            new_id=new_id(),
        )
        if before is None:
            await repo.insert_subscription(session, **state, created_at=now())
        else:
            await repo.update_subscription(
                session, tenant_id=tenant_id, **{k: v for k, v in state.items() if k != "tenant_id"}
            )
        await repo.save_customer(
            session, tenant_id=tenant_id, email=ls.user_email, ls_customer_id=ls.customer_id
        )
        await self._publish_transition(session, before, state, same=same, at=at, ls=ls)
        return APPLIED

    async def _publish_transition(
        self,
        session: AsyncSession,
        before: dict[str, Any] | None,
        state: dict[str, Any],
        *,
        same: bool,
        at: datetime,
        ls: Any,
    ) -> None:
        tenant_id = state["tenant_id"]
        updated_at = state["updated_at"]
        was_paid, now_paid = is_paid(before), is_paid(state)
        if now_paid and (not was_paid or not same):
            await self.outbox.add(
                session,
                SubscriptionActivated(
                    **state_data(state, self.plans, updated_at=updated_at),
                    trial_ends_at=state["trial_ends_at"],
                ),
                tenant_id=tenant_id,
            )
            plan = self.plans[state["plan"]]
            await ledger.start_period(
                session,
                self.outbox,
                tenant_id=tenant_id,
                plan=plan.code,
                credits=plan.monthly_credits,
                reference=f"plan_start:{state['id']}:{stamp(state['current_period_start'])}",
                period_end=state["current_period_end"],
            )
            if state["status"] == "cancelled":
                await self._cancelled(session, before, state, ls)
        elif was_paid and not now_paid:
            assert before is not None
            await self.outbox.add(
                session,
                SubscriptionExpired(
                    subscription_id=state["id"],
                    expired_plan=before["plan"],
                    plan="free",
                    lemon_squeezy=lemon_squeezy_ref(state),
                    entitlements=self.plans.free.entitlements,
                    expired_at=ls.ends_at or ls.updated_at,
                    updated_at=updated_at,
                ),
                tenant_id=tenant_id,
            )
            free = self.plans.free
            await ledger.start_period(
                session,
                self.outbox,
                tenant_id=tenant_id,
                plan=free.code,
                credits=free.monthly_credits,
                reference=f"plan_start:{tenant_id}:{stamp(state['current_period_start'])}",
                period_end=state["current_period_end"],
            )
        elif was_paid and now_paid:
            assert before is not None
            if state["status"] == "cancelled" and before["status"] != "cancelled":
                await self._cancelled(session, before, state, ls)
            elif any(
                before[k] != state[k]
                for k in ("plan", "interval", "status", "entitlements_reduced")
            ):
                await self._changed(session, before, state)

    async def _cancelled(
        self, session: AsyncSession, before: dict[str, Any] | None, state: dict[str, Any], ls: Any
    ) -> None:
        by_failure = before is not None and before["status"] in DELINQUENT
        await self.outbox.add(
            session,
            SubscriptionCancelled(
                **state_data(state, self.plans, updated_at=state["updated_at"]),
                ends_at=ls.ends_at or state["current_period_end"],
                cancelled_by="payment_failure" if by_failure else "customer",
                cancelled_at=ls.updated_at,
            ),
            tenant_id=state["tenant_id"],
        )

    async def _changed(
        self, session: AsyncSession, before: dict[str, Any], state: dict[str, Any]
    ) -> None:
        await self.outbox.add(
            session,
            SubscriptionChanged(
                **state_data(state, self.plans, updated_at=state["updated_at"]),
                previous_plan=before["plan"],
                previous_status=before["status"],
            ),
            tenant_id=state["tenant_id"],
        )

    # -- invoices: payment success, failure, recovery -------------------------------------

    async def _invoice(
        self,
        session: AsyncSession,
        tenant_id: str,
        body: dict[str, Any],
        at: datetime,
        name: str,
    ) -> str:
        inv = read_invoice(body)
        holder = await repo.subscription_by_ls_id(session, inv.subscription_id)
        if holder is None:
            # its subscription_created has not been processed yet: retried with back-off
            raise NotYet("the invoice's subscription is not known yet")
        if holder.tenant_id != tenant_id:
            log.warning("billing.invoice_of_another_tenant", ls_subscription_id=inv.subscription_id)
            return IGNORED_UNKNOWN
        row = await repo.get_subscription(session, tenant_id=tenant_id, for_update=True)
        assert row is not None
        state = state_of(row)
        if name == "subscription_payment_failed":
            await self._payment_failed(session, state, inv, at)
        else:
            await self._payment_paid(session, state, inv)
        return APPLIED

    async def _payment_paid(
        self, session: AsyncSession, state: dict[str, Any], inv: LsInvoice
    ) -> None:
        tenant_id = state["tenant_id"]
        plan = self.plans.get(state["plan"])
        if inv.billing_reason != "initial":
            # the first payment is the order (order_created records and announces it)
            reference = f"invoice:{inv.id}"
            previous = await repo.get_payment(session, reference)
            payment_id = await repo.save_payment(
                session,
                reference=reference,
                tenant_id=tenant_id,
                kind="subscription",
                status="paid",
                plan=state["plan"],
                amount_minor=inv.total,
                currency=inv.currency,
                receipt_url=inv.invoice_url,
                test_mode=state["test_mode"],
            )
            if previous is None or previous.status != "paid":
                await self.outbox.add(
                    session,
                    PaymentSucceeded(
                        payment_id=payment_id,
                        kind="subscription",
                        subscription_id=state["id"],
                        plan=state["plan"],
                        amount_minor=inv.total,
                        currency=inv.currency,
                        lemon_squeezy_order_id=None,
                        lemon_squeezy_invoice_id=inv.id,
                        receipt_url=inv.invoice_url,
                        paid_at=inv.updated_at,
                        updated_at=inv.updated_at,
                    ),
                    tenant_id=tenant_id,
                )
        if inv.billing_reason == "renewal" and is_paid(state) and plan is not None:
            start = inv.created_at
            await ledger.start_period(
                session,
                self.outbox,
                tenant_id=tenant_id,
                plan=plan.code,
                credits=plan.monthly_credits,
                reference=f"renewal:{state['id']}:{stamp(start)}",
                period_end=add_interval(start, state["interval"]),
            )
        held = aware(state["ls_updated_at"])
        if state["status"] in DELINQUENT and (held is None or inv.updated_at > held):
            # paid again: the plan's entitlements come back
            new = {
                **state,
                "status": "active",
                "past_due_since": None,
                "entitlements_reduced": False,
                "ls_updated_at": inv.updated_at,
                "updated_at": later(inv.updated_at, aware(state["updated_at"])),
            }
            await self.save_and_announce_change(session, state, new)

    async def _payment_failed(
        self, session: AsyncSession, state: dict[str, Any], inv: LsInvoice, at: datetime
    ) -> None:
        tenant_id = state["tenant_id"]
        reference = f"invoice:{inv.id}"
        previous = await repo.get_payment(session, reference)
        if previous is not None and previous.status == "paid":
            return  # it went through meanwhile
        payment_id = await repo.save_payment(
            session,
            reference=reference,
            tenant_id=tenant_id,
            kind="subscription",
            status="failed",
            plan=state["plan"],
            amount_minor=inv.total,
            currency=inv.currency,
            receipt_url=inv.invoice_url,
            test_mode=state["test_mode"],
        )
        attempt = 1
        if previous is not None:  # failed before: count the failures applied since
            first = aware(previous.created_at)
            assert first is not None  # payments.created_at is NOT NULL
            attempt += await repo.count_failed_attempts(session, tenant_id=tenant_id, since=first)
        await self.outbox.add(
            session,
            PaymentFailed(
                payment_id=payment_id,
                subscription_id=state["id"],
                plan=state["plan"],
                amount_minor=inv.total,
                currency=inv.currency,
                lemon_squeezy_invoice_id=inv.id,
                attempt=attempt,
                reason="other",  # Lemon Squeezy does not say why
                next_retry_at=None,
                update_payment_method_url=state["update_payment_method_url"],
                failed_at=inv.updated_at,
                updated_at=inv.updated_at,
            ),
            tenant_id=tenant_id,
        )
        held = aware(state["ls_updated_at"])
        if state["status"] in ("active", "on_trial") and (held is None or inv.updated_at > held):
            new = {
                **state,
                "status": "past_due",
                "past_due_since": min(inv.updated_at, at),
                "ls_updated_at": inv.updated_at,
                "updated_at": later(inv.updated_at, aware(state["updated_at"])),
            }
            await self.save_and_announce_change(session, state, new)

    async def save_and_announce_change(
        self, session: AsyncSession, before: dict[str, Any], new: dict[str, Any]
    ) -> None:
        await repo.update_subscription(
            session,
            tenant_id=new["tenant_id"],
            **{k: new[k] for k in new if k not in ("tenant_id", "created_at")},
        )
        await self._changed(session, before, new)

    # -- orders ----------------------------------------------------------------------------

    async def _order_created(
        self, session: AsyncSession, tenant_id: str, body: dict[str, Any]
    ) -> str:
        order = read_order(body)
        found = self.plans.by_variant(order.variant_id)
        if found is None:
            log.warning("billing.unknown_variant", variant_id=order.variant_id)
            return IGNORED_UNKNOWN
        if order.status != "paid":
            return APPLIED  # pending or failed: nothing was paid
        plan, _interval = found
        reference = f"order:{order.id}"
        previous = await repo.get_payment(session, reference)
        if previous is not None:
            return APPLIED  # recorded already (or refunded before this arrived)
        sub = await repo.get_subscription(session, tenant_id=tenant_id)
        subscription_id = sub.id if sub is not None and sub.ls_order_id == order.id else None
        payment_id = await repo.save_payment(
            session,
            reference=reference,
            tenant_id=tenant_id,
            kind="subscription",
            status="paid",
            plan=plan.code,
            amount_minor=order.total,
            currency=order.currency,
            receipt_url=order.receipt_url,
            test_mode=self.settings.lemonsqueezy_test_mode,
        )
        await repo.save_customer(
            session, tenant_id=tenant_id, email=order.user_email, ls_customer_id=order.customer_id
        )
        await self.outbox.add(
            session,
            PaymentSucceeded(
                payment_id=payment_id,
                kind="subscription",
                subscription_id=subscription_id,
                plan=plan.code,
                amount_minor=order.total,
                currency=order.currency,
                lemon_squeezy_order_id=order.id,
                lemon_squeezy_invoice_id=None,
                receipt_url=order.receipt_url,
                paid_at=order.created_at,
                updated_at=order.updated_at,
            ),
            tenant_id=tenant_id,
        )
        return APPLIED

    async def _order_refunded(
        self, session: AsyncSession, tenant_id: str, body: dict[str, Any]
    ) -> str:
        order = read_order(body)
        found = self.plans.by_variant(order.variant_id)
        reference = f"order:{order.id}"
        previous = await repo.get_payment(session, reference)
        if previous is not None and previous.tenant_id != tenant_id:
            return IGNORED_UNKNOWN
        # credits bought with it are not clawed back (docs/billing.md)
        await repo.save_payment(
            session,
            reference=reference,
            tenant_id=tenant_id,
            kind="subscription" if found or previous is None else previous.kind,
            status="refunded",
            plan=found[0].code if found else (previous.plan if previous else None),
            amount_minor=order.total,
            currency=order.currency,
            receipt_url=order.receipt_url,
            test_mode=self.settings.lemonsqueezy_test_mode,
        )
        return APPLIED
