"""What mail does with each event it consumes (docs/mail.md, "Who gets what").

The directory events keep `recipients`, `memberships`, `tenant_plans` and `preferences`
up to date. The others decide who gets which message: each recipient gets one `messages`
row, written in the handler's transaction (with the inbox row), already rendered and
`pending` for the sender, or `suppressed` / `unsubscribed` when it must not go out. The
unique key (causation, address, template) makes a redelivered event change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from pingvas_contracts import Envelope
from pingvas_contracts.events.billing import (
    CreditsExhausted,
    PaymentFailed,
    SubscriptionActivated,
    SubscriptionCancelled,
    SubscriptionChanged,
    SubscriptionExpired,
)
from pingvas_contracts.events.render import JobCompleted
from pingvas_contracts.events.tenants import (
    MemberInvited,
    MemberJoined,
    MemberRemoved,
    TenantCreated,
    TenantDeleted,
    UserPasswordChanged,
    UserPasswordResetRequested,
    UserPreferencesChanged,
    UserRegistered,
    UserVerificationRequested,
    WebhookDisabled,
)
from pingvas_kit.inbox import EventConsumer
from pingvas_kit.logging import get_logger

from .adapters import repository as repo
from .domain import unsubscribe
from .domain.rendering import Renderer
from .settings import Settings

log = get_logger("pingvas.mail.consumers")

SKIPPED = Counter("pingvas_mail_skipped_total", "Messages decided on but not sent", ["reason"])
QUEUED = Counter("pingvas_mail_queued_total", "Messages queued for sending", ["template"])

LOCALES = ("en", "ko")
TRANSACTIONAL = "transactional"
NOTIFICATION = "notification"
MARKETING = "marketing"


def _tenant(event: Envelope) -> str:
    """The tenant a tenant-scoped event concerns; an event without one is malformed."""
    if not event.tenantid:
        raise ValueError(f"{event.type} {event.id} carries no tenantid")
    return event.tenantid


def pick_locale(*candidates: str | None) -> str:
    """The first of the event's locale, the recipient's, ... that mail speaks; else English."""
    for locale in candidates:
        if locale in LOCALES:
            return locale
    return "en"


@dataclass
class Mailer:
    """Decides and records one message: the consumers and campaigns share it."""

    settings: Settings
    render: Renderer

    def context(
        self, *, user_id: str | None, template: str, category: str, **extra: Any
    ) -> dict[str, Any]:
        ctx: dict[str, Any] = {"app_url": self.settings.public_url.rstrip("/")}
        preference = unsubscribe.preference_for(template, category)
        if preference is not None and user_id:
            token = unsubscribe.sign(self.settings, user_id, preference)
            ctx["unsubscribe_url"] = unsubscribe.page_url(self.settings, token)
        ctx.update(extra)
        return ctx

    async def queue(
        self,
        session: AsyncSession,
        *,
        causation_id: str,
        template: str,
        category: str,
        to_email: str,
        user_id: str | None,
        tenant_id: str | None,
        locale: str,
        name: str | None,
        context: dict[str, Any] | None = None,
        campaign_id: str | None = None,
        subject: str | None = None,
    ) -> tuple[str | None, str]:
        """Write the message row; (its id or None when it existed already, its status)."""
        status = "pending"
        preference = unsubscribe.preference_for(template, category)
        if await repo.is_suppressed(session, to_email):
            status = "suppressed"
        elif preference is not None and user_id is not None:
            if not (await repo.get_preferences(session, user_id))[preference]:
                status = "unsubscribed"
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "user_id": user_id,
            "to_email": to_email,
            "locale": locale,
            "template": template,
            "category": category,
            "causation_id": causation_id,
            "campaign_id": campaign_id,
            "status": status,
            "subject": "",
            "html": "",
            "text": "",
        }
        if status == "pending":
            ctx = self.context(
                user_id=user_id, template=template, category=category, name=name, locale=locale
            )
            ctx.update(context or {})
            rendered = self.render(template, locale, ctx)
            values.update(
                subject=(subject or rendered.subject)[:300], html=rendered.html, text=rendered.text
            )
        message_id = await repo.add_message(session, **values)
        if message_id is None:
            log.info("mail.duplicate_skipped", template=template, causation_id=causation_id)
            return None, status
        if status == "pending":
            QUEUED.labels(template).inc()
        else:
            SKIPPED.labels(status).inc()
            log.info("mail.skipped", reason=status, template=template, message_id=message_id)
        return message_id, status


def register(consumer: EventConsumer, settings: Settings, render: Renderer) -> Mailer:
    """Every handler of the service: the directory ones and the message-making ones."""

    # -- the directory ------------------------------------------------------------------------

    @consumer.on(UserRegistered)
    async def user_registered(session: AsyncSession, event: Envelope, data: UserRegistered) -> None:
        await repo.upsert_recipient(
            session,
            user_id=data.user_id,
            email=data.email,
            name=data.display_name,
            locale=data.locale,
        )
        await repo.add_preferences_if_absent(
            session, data.user_id, newsletter=data.marketing_opt_in
        )

    @consumer.on(UserPreferencesChanged)
    async def preferences_changed(
        session: AsyncSession, event: Envelope, data: UserPreferencesChanged
    ) -> None:
        await repo.set_recipient_locale(session, user_id=data.user_id, locale=data.locale)

    @consumer.on(TenantCreated)
    async def tenant_created(session: AsyncSession, event: Envelope, data: TenantCreated) -> None:
        await repo.add_recipient_if_absent(
            session,
            user_id=data.owner_user_id,
            email=data.owner_email,
            name=data.owner_display_name,
            locale=data.locale,
        )
        await repo.set_membership(
            session, tenant_id=_tenant(event), user_id=data.owner_user_id, role="owner"
        )
        await repo.set_tenant_name(session, tenant_id=_tenant(event), name=data.name)
        await repo.set_plan(
            session, tenant_id=_tenant(event), plan=data.plan, updated_at=data.created_at
        )

    @consumer.on(MemberJoined)
    async def member_joined(session: AsyncSession, event: Envelope, data: MemberJoined) -> None:
        await repo.add_recipient_if_absent(
            session, user_id=data.user_id, email=data.email, name=data.display_name, locale=None
        )
        await repo.set_membership(
            session, tenant_id=_tenant(event), user_id=data.user_id, role=data.role
        )

    @consumer.on(MemberRemoved)
    async def member_removed(session: AsyncSession, event: Envelope, data: MemberRemoved) -> None:
        await repo.remove_membership(session, tenant_id=_tenant(event), user_id=data.user_id)

    @consumer.on(SubscriptionChanged, SubscriptionExpired)
    async def plan_changed(
        session: AsyncSession, event: Envelope, data: SubscriptionChanged | SubscriptionExpired
    ) -> None:
        await repo.set_plan(
            session, tenant_id=_tenant(event), plan=data.plan, updated_at=data.updated_at
        )

    @consumer.on(TenantDeleted)
    async def tenant_deleted(session: AsyncSession, event: Envelope, data: TenantDeleted) -> None:
        await repo.purge_tenant(session, tenant_id=_tenant(event))
        log.info("mail.tenant_purged")

    mailer = Mailer(settings, render)

    # -- mail to one person named by the event ------------------------------------------------

    async def to_user(session, event, data, template: str, **context: Any) -> None:
        await mailer.queue(
            session,
            causation_id=event.id,
            template=template,
            category=TRANSACTIONAL,
            to_email=data.email,
            user_id=data.user_id,
            tenant_id=event.tenantid,
            locale=pick_locale(data.locale),
            name=data.display_name,
            context={"expires_at": data.expires_at, **context},
        )

    @consumer.on(UserVerificationRequested)
    async def verification_requested(
        session: AsyncSession, event: Envelope, data: UserVerificationRequested
    ) -> None:
        await to_user(session, event, data, "verify_email", verification_url=data.verification_url)

    @consumer.on(UserPasswordResetRequested)
    async def password_reset_requested(
        session: AsyncSession, event: Envelope, data: UserPasswordResetRequested
    ) -> None:
        await to_user(session, event, data, "password_reset", reset_url=data.reset_url)

    @consumer.on(UserPasswordChanged)
    async def password_changed(
        session: AsyncSession, event: Envelope, data: UserPasswordChanged
    ) -> None:
        await mailer.queue(
            session,
            causation_id=event.id,
            template="password_changed",
            category=TRANSACTIONAL,
            to_email=data.email,
            user_id=data.user_id,
            tenant_id=event.tenantid,
            locale=pick_locale(data.locale),
            name=data.display_name,
            context={"changed_at": data.changed_at, "via": data.via},
        )

    @consumer.on(MemberInvited)
    async def member_invited(session: AsyncSession, event: Envelope, data: MemberInvited) -> None:
        if event.tenantid:
            await repo.set_tenant_name(session, tenant_id=event.tenantid, name=data.tenant_name)
        await mailer.queue(
            session,
            causation_id=event.id,
            template="invitation",
            category=TRANSACTIONAL,
            to_email=data.email,
            user_id=None,  # the invitee may have no account
            tenant_id=event.tenantid,
            # someone with an account reads it in their own language, not the inviter's
            locale=pick_locale(await repo.saved_locale_of(session, data.email), data.locale),
            name=None,
            context={
                "tenant_name": data.tenant_name,
                "inviter_name": data.invited_by_name,
                "role": data.role,
                "accept_url": data.accept_url,
                "expires_at": data.expires_at,
            },
        )

    # -- mail to the tenant's owners (and admins) ------------------------------------------------

    async def to_members(
        session, event, template: str, category: str, roles: tuple[str, ...], **context: Any
    ) -> None:
        people = await repo.members_with_roles(session, tenant_id=event.tenantid, roles=roles)
        team = await repo.tenant_name(session, event.tenantid) or ""
        if not people:
            log.warning("mail.no_recipients", template=template, roles=list(roles))
        for person in people:
            await mailer.queue(
                session,
                causation_id=event.id,
                template=template,
                category=category,
                to_email=person.email,
                user_id=person.user_id,
                tenant_id=event.tenantid,
                locale=pick_locale(person.locale),
                name=person.name,
                context={"role": person.role, "tenant_name": team, **context},
            )

    @consumer.on(SubscriptionActivated)
    async def subscription_activated(
        session: AsyncSession, event: Envelope, data: SubscriptionActivated
    ) -> None:
        await repo.set_plan(
            session, tenant_id=_tenant(event), plan=data.plan, updated_at=data.updated_at
        )
        if data.plan == "free":
            return  # every new team starts on Free: no mail for that
        await to_members(
            session,
            event,
            "subscription_activated",
            TRANSACTIONAL,
            ("owner",),
            plan=data.plan,
            interval=data.interval,
            current_period_end=data.current_period_end,
            trial_ends_at=data.trial_ends_at,
        )

    @consumer.on(SubscriptionCancelled)
    async def subscription_cancelled(
        session: AsyncSession, event: Envelope, data: SubscriptionCancelled
    ) -> None:
        await repo.set_plan(
            session, tenant_id=_tenant(event), plan=data.plan, updated_at=data.updated_at
        )
        await to_members(
            session,
            event,
            "subscription_cancelled",
            TRANSACTIONAL,
            ("owner",),
            plan=data.plan,
            ends_at=data.ends_at,
            cancelled_by=data.cancelled_by,
        )

    @consumer.on(PaymentFailed)
    async def payment_failed(session: AsyncSession, event: Envelope, data: PaymentFailed) -> None:
        await to_members(
            session,
            event,
            "payment_failed",
            TRANSACTIONAL,
            ("owner",),
            plan=data.plan,
            amount_minor=data.amount_minor,
            currency=data.currency,
            next_retry_at=data.next_retry_at,
            update_payment_method_url=data.update_payment_method_url
            or f"{settings.public_url.rstrip('/')}/billing",
        )

    @consumer.on(CreditsExhausted)
    async def credits_exhausted(
        session: AsyncSession, event: Envelope, data: CreditsExhausted
    ) -> None:
        await to_members(
            session,
            event,
            "credits_exhausted",
            NOTIFICATION,
            ("owner", "admin"),
            plan=data.plan,
            next_grant_at=data.next_grant_at,
            billing_url=f"{settings.public_url.rstrip('/')}/billing",
        )

    @consumer.on(WebhookDisabled)
    async def webhook_disabled(
        session: AsyncSession, event: Envelope, data: WebhookDisabled
    ) -> None:
        await to_members(
            session,
            event,
            "webhook_disabled",
            TRANSACTIONAL,
            ("owner",),
            url=data.url,
            reason=data.reason,
            failing_since=data.failing_since,
            consecutive_failures=data.consecutive_failures,
            settings_url=data.settings_url,
        )

    # -- opt-in notifications ------------------------------------------------------------------

    @consumer.on(JobCompleted)
    async def job_completed(session: AsyncSession, event: Envelope, data: JobCompleted) -> None:
        if data.user_id is None:
            return  # a partner's API key asked: nobody to mail
        person = await repo.recipient(session, data.user_id)
        if person is None:
            SKIPPED.labels("unknown_recipient").inc()
            log.info("mail.skipped", reason="unknown_recipient", template="job_completed")
            return
        await mailer.queue(
            session,
            causation_id=event.id,
            template="job_completed",
            category=NOTIFICATION,
            to_email=person.email,
            user_id=person.user_id,
            tenant_id=event.tenantid,
            locale=pick_locale(person.locale),
            name=person.name,
            context={
                "image_count": len(data.image_ids),
                "gallery_url": f"{settings.public_url.rstrip('/')}/gallery",
                "job_id": data.job_id,
            },
        )

    return mailer
