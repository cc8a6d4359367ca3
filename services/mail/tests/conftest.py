"""The mail service as the bus, SES and the gateway see it: the real app in-process
(services/conftest.py) against moto's server (SES v2, SNS, SQS) and a real database, with
helpers that deliver events the way the bus does, publish SES notifications the way SES
does (SNS-wrapped, the documented notification format), forward requests with a signed
internal identity the way the gateway does, and read the database and SES's counters."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from pingvas_mail.adapters.db import messages, outbox, suppressions
from pingvas_mail.app import create_app
from pingvas_mail.settings import Settings

from pingvas_contracts import Envelope, EventData, envelope_of, example
from pingvas_contracts.events.billing import CreditsExhausted, PaymentFailed
from pingvas_contracts.events.render import JobCompleted
from pingvas_contracts.events.tenants import (
    MemberJoined,
    TenantCreated,
    UserRegistered,
    UserVerificationRequested,
)
from pingvas_kit.dev.testing import ServiceHandle
from pingvas_kit.identity import Identity, IdentityHeaders

#: every mail test: a quick sender, no rate limit to speak of
BASE: dict[str, Any] = {"send_interval_s": 0.05, "max_send_rate_per_s": 200.0}


def iso(when: datetime | None = None) -> str:
    return (when or datetime.now(UTC)).isoformat()


@dataclass
class Mail(ServiceHandle):
    moto: str = ""

    @property
    def sender(self):
        return self.app.state.sender

    # -- the bus's side -----------------------------------------------------------------------

    async def deliver(self, data: EventData, *, tenant_id: str | None = None) -> Envelope:
        """`data` in an envelope, as its publisher sends it, through the consumer."""
        envelope = envelope_of(data, tenant_id=tenant_id)
        await self.runtime.consumer(envelope)
        return envelope

    async def redeliver(self, envelope: Envelope) -> None:
        await self.runtime.consumer(envelope)

    async def user(
        self,
        *,
        locale: str = "en",
        email: str | None = None,
        name: str = "Alex Park",
        marketing: bool = False,
        tenant_id: str | None = None,
    ) -> str:
        user_id = str(uuid.uuid4())
        await self.deliver(
            example(
                UserRegistered,
                user_id=user_id,
                email=email or f"u{user_id[:8]}@example.com",
                display_name=name,
                locale=locale,
                via="signup",
                marketing_opt_in=marketing,
                registered_at=iso(),
            ),
            tenant_id=tenant_id,
        )
        return user_id

    async def team(self, owner_id: str, *, name: str = "하늘 스튜디오") -> str:
        """A tenant created by an already registered owner."""
        tenant_id = str(uuid.uuid4())
        async with self.db.sessionmaker() as session:
            from pingvas_mail.adapters.db import recipients

            owner = (
                await session.execute(sa.select(recipients).where(recipients.c.user_id == owner_id))
            ).one()
        await self.deliver(
            example(
                TenantCreated,
                name=name,
                slug=f"t-{tenant_id[:8]}",
                owner_user_id=owner_id,
                owner_email=owner.email,
                owner_display_name=owner.name or "Owner",
                locale="ko",
                created_at=iso(),
            ),
            tenant_id=tenant_id,
        )
        return tenant_id

    async def join(self, tenant_id: str, user_id: str, role: str) -> None:
        async with self.db.sessionmaker() as session:
            from pingvas_mail.adapters.db import recipients

            person = (
                await session.execute(sa.select(recipients).where(recipients.c.user_id == user_id))
            ).one()
        await self.deliver(
            example(
                MemberJoined,
                user_id=user_id,
                email=person.email,
                display_name=person.name or "Member",
                role=role,
                invitation_id=str(uuid.uuid4()),
                joined_at=iso(),
            ),
            tenant_id=tenant_id,
        )

    async def verification(self, user_id: str, email: str, *, locale: str = "en") -> Envelope:
        return await self.deliver(
            example(
                UserVerificationRequested,
                user_id=user_id,
                email=email,
                display_name="Alex Park",
                locale=locale,
                verification_url=f"https://app.pingvas.dev/verify-email?token=tok{user_id[:8]}",
                expires_at=iso(datetime.now(UTC) + timedelta(days=1)),
                requested_at=iso(),
            ),
        )

    async def credits_exhausted(self, tenant_id: str) -> Envelope:
        return await self.deliver(
            example(
                CreditsExhausted,
                plan="free",
                balance=0,
                next_grant_at=iso(datetime.now(UTC) + timedelta(days=10)),
                exhausted_at=iso(),
                updated_at=iso(),
            ),
            tenant_id=tenant_id,
        )

    async def payment_failed(self, tenant_id: str) -> Envelope:
        return await self.deliver(
            example(
                PaymentFailed,
                payment_id=str(uuid.uuid4()),
                subscription_id=str(uuid.uuid4()),
                plan="pro",
                amount_minor=2900,
                currency="USD",
                lemon_squeezy_invoice_id="7741388",
                attempt=1,
                reason="card_declined",
                next_retry_at=None,
                update_payment_method_url="https://app.lemonsqueezy.com/my-orders/x/update-payment",
                failed_at=iso(),
                updated_at=iso(),
            ),
            tenant_id=tenant_id,
        )

    async def job_completed(self, tenant_id: str, user_id: str, images: int = 2) -> Envelope:
        return await self.deliver(
            example(
                JobCompleted,
                job_id=str(uuid.uuid4()),
                user_id=user_id,
                api_key_id=None,
                image_ids=[str(uuid.uuid4()) for _ in range(images)],
                credits_reserved=images,
                credits_used=images,
                duration_ms=1200,
                completed_at=iso(),
            ),
            tenant_id=tenant_id,
        )

    # -- SES's side ------------------------------------------------------------------------------

    def _aws(self, service: str):
        return boto3.client(service, endpoint_url=self.moto, region_name=self.settings.aws_region)

    def ses_sent(self) -> int:
        """SES's count of recipients sent to (moto's account-wide counter: compare deltas)."""
        return int(self._aws("ses").get_send_quota()["SentLast24Hours"])

    def publish_ses(self, notification: dict[str, Any]) -> None:
        """An SES notification as SES publishes it to the configuration set's SNS topic."""
        topic = self.app.state.ses.topic_arn
        self._aws("sns").publish(TopicArn=topic, Message=json.dumps(notification))

    # -- the gateway's side ---------------------------------------------------------------------

    def as_user(self, user_id: str, tenant_id: str | None = None, *, kind: str = "user") -> dict:
        identity = Identity(
            principal_id=user_id,
            kind=kind,
            tenant_id=tenant_id,
            roles=("member",),
            email_verified=True,
        )
        return IdentityHeaders(
            identity,
            self.settings.internal_secret.get_secret_value(),
            audience=self.settings.service_name,
        )

    def anonymous(self) -> dict:
        identity = Identity(principal_id="anonymous", kind="anonymous", tenant_id=None)
        return IdentityHeaders(
            identity,
            self.settings.internal_secret.get_secret_value(),
            audience=self.settings.service_name,
        )

    # -- reading the database --------------------------------------------------------------------

    async def rows(self, table: sa.Table = messages, **where: Any) -> list[sa.Row]:
        async with self.db.sessionmaker() as session:
            query = sa.select(table)
            for column, value in where.items():
                query = query.where(table.c[column] == value)
            return list((await session.execute(query)).all())

    async def messages_for(self, causation: Envelope | str) -> list[sa.Row]:
        cid = causation.id if isinstance(causation, Envelope) else causation
        return await self.rows(messages, causation_id=cid)

    async def settled(self, causation: Envelope | str, timeout: float = 10.0) -> list[sa.Row]:
        """The event's messages once none is pending or sending any more."""
        for _ in range(int(timeout / 0.05)):
            rows = await self.messages_for(causation)
            if rows and all(r.status not in ("pending", "sending") for r in rows):
                return rows
            await asyncio.sleep(0.05)
        raise AssertionError(f"messages not settled: {[r.status for r in rows]}")

    async def suppressed(self, email: str) -> bool:
        return bool(await self.rows(suppressions, email=email.lower()))

    async def events(self, suffix: str | None = None) -> list[dict]:
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(sa.select(outbox.c.body).order_by(outbox.c.position))
            ).all()
        envelopes = [json.loads(r.body) for r in rows]
        if suffix:
            envelopes = [e for e in envelopes if e["type"] == f"pingvas.mail.{suffix}.v1"]
        return envelopes


@pytest.fixture
def mail_for(run_service, moto_endpoint):
    """`async with mail_for(run_sender=..., **settings) as m` (db_backend's dict may be
    passed as is)."""

    @asynccontextmanager
    async def start(*, run_sender: bool = True, **overrides: Any) -> AsyncIterator[Mail]:
        factory = functools.partial(create_app, run_sender=run_sender)
        async with run_service(factory, Settings, **{**BASE, **overrides}) as service:
            yield Mail(service, moto_endpoint)

    return start


@pytest.fixture
async def mail(mail_for) -> AsyncIterator[Mail]:
    async with mail_for() as m:
        yield m
