"""Every event render consumes, each handler typed by its event's contract model: the
tenant's entitlements projection (`tenant.created` and billing's events), the team settings
it enforces (`tenant.settings_changed`) and the purge of a deleted tenant. Every handler
runs in the inbox's transaction and calls one use case, so a redelivered event changes
nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.billing import (
    CreditsExhausted,
    CreditsExpired,
    CreditsGranted,
    PaymentFailed,
    PaymentSucceeded,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.tenants import TenantCreated, TenantDeleted, TenantSettingsChanged
from pingvas_kit.inbox import EventConsumer

from .adapters.s3 import ImageStore
from .usecases import entitlements
from .usecases.jobs import Jobs

SubscriptionState = (
    SubscriptionActivated | SubscriptionChanged | SubscriptionCancelled | SubscriptionExpired
)
NothingToDo = PaymentSucceeded | PaymentFailed | CreditsExhausted


def _tenant_of(event: Envelope) -> str:
    """Every event render consumes is about one tenant."""
    if event.tenantid is None:
        raise ValueError(f"{event.type} {event.id} carries no tenantid")
    return event.tenantid


def register(consumer: EventConsumer, jobs: Jobs, store: ImageStore) -> None:
    @consumer.on(TenantCreated)
    async def tenant_created(session: AsyncSession, event: Envelope, data: TenantCreated) -> None:
        await entitlements.open_free_plan(session, tenant_id=_tenant_of(event))

    @consumer.on(
        SubscriptionActivated, SubscriptionChanged, SubscriptionCancelled, SubscriptionExpired
    )
    async def subscription(session: AsyncSession, event: Envelope, data: SubscriptionState) -> None:
        await entitlements.set_plan(
            session,
            tenant_id=_tenant_of(event),
            plan=data.plan,
            entitlements=data.entitlements,
            updated_at=data.updated_at,
        )

    @consumer.on(CreditsGranted)
    async def credits_granted(session: AsyncSession, event: Envelope, data: CreditsGranted) -> None:
        await entitlements.grant_credits(
            session,
            tenant_id=_tenant_of(event),
            plan=data.plan,
            credits=data.credits,
            reason=data.reason,
        )

    @consumer.on(CreditsExpired)
    async def credits_expired(session: AsyncSession, event: Envelope, data: CreditsExpired) -> None:
        await entitlements.expire_credits(
            session, tenant_id=_tenant_of(event), credits=data.credits
        )

    @consumer.on(PaymentSucceeded, PaymentFailed, CreditsExhausted)
    async def nothing_to_do(session: AsyncSession, event: Envelope, data: NothingToDo) -> None:
        # payments change nothing render enforces: their effects arrive as
        # subscription.* (limits) and credits.granted (balance). credits.exhausted is
        # billing's view of a balance render already tracks and enforces with 402.
        return None

    @consumer.on(TenantSettingsChanged)
    async def tenant_settings_changed(
        session: AsyncSession, event: Envelope, data: TenantSettingsChanged
    ) -> None:
        await entitlements.store_team_settings(
            session,
            tenant_id=_tenant_of(event),
            member_image_deletion=data.member_image_deletion,
            changed_at=data.changed_at,
        )

    @consumer.on(TenantDeleted)
    async def tenant_deleted(session: AsyncSession, event: Envelope, data: TenantDeleted) -> None:
        await entitlements.purge_tenant(session, jobs, store, tenant_id=_tenant_of(event))
