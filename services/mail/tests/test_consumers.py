"""Events in, one message out (docs/mail.md, "Who gets what", "Exactly one message")."""

from __future__ import annotations

import uuid

import pytest
from pingvas_mail.adapters.db import memberships, tenant_plans

from pingvas_contracts import example
from pingvas_contracts.events.billing import SubscriptionActivated
from pingvas_contracts.events.render import JobCompleted
from pingvas_contracts.events.tenants import (
    MemberInvited,
    MemberRemoved,
    TenantDeleted,
    WebhookDisabled,
)

from .conftest import iso


@pytest.mark.parametrize("db_backend", ["sqlite", "postgres"], indirect=True)
async def test_a_duplicated_event_sends_one_mail(mail_for, db_backend):
    async with mail_for(**db_backend) as m:
        user = await m.user(locale="en", email="dup@example.com")
        before = m.ses_sent()
        event = await m.verification(user, "dup@example.com")
        (row,) = await m.settled(event)
        assert row.status == "sent" and row.provider_message_id
        after_first = m.ses_sent()
        assert after_first > before

        await m.redeliver(event)  # the bus delivers it again
        await m.sender.send_once()
        assert [r.id for r in await m.messages_for(event)] == [row.id]
        assert m.ses_sent() == after_first
        sent = [e for e in await m.events("sent") if e["data"]["message_id"] == row.id]
        assert len(sent) == 1
        assert sent[0]["data"]["causation_event_id"] == event.id
        assert sent[0]["data"]["template"] == "verify_email"
        assert "verification_url" not in sent[0]["data"]


async def test_the_locale_is_the_events_then_the_recipients(mail):
    ko = await mail.user(locale="ko", email="ko@example.com", name="김지우")
    en = await mail.user(locale="en", email="en@example.com")
    ko_mail = (await mail.settled(await mail.verification(ko, "ko@example.com", locale="ko")))[0]
    en_mail = (await mail.settled(await mail.verification(en, "en@example.com", locale="en")))[0]
    assert ko_mail.locale == "ko" and en_mail.locale == "en"
    assert ko_mail.subject != en_mail.subject
    assert any("\uac00" <= ch <= "\ud7a3" for ch in ko_mail.text)  # Hangul
    assert not any("\uac00" <= ch <= "\ud7a3" for ch in en_mail.subject)

    # billing's events carry no locale: each owner's own
    team = await mail.team(ko)
    await mail.join(team, en, "owner")
    rows = await mail.settled(await mail.payment_failed(team))
    by_address = {r.to_email: r for r in rows}
    assert by_address["ko@example.com"].locale == "ko"
    assert by_address["en@example.com"].locale == "en"
    assert all(r.status == "sent" and r.category == "transactional" for r in rows)


async def test_invitation_reaches_someone_without_an_account(mail):
    tenant = str(uuid.uuid4())
    event = await mail.deliver(
        example(
            MemberInvited,
            invitation_id=str(uuid.uuid4()),
            email="newcomer@partner.example",
            role="member",
            tenant_name="하늘 스튜디오",
            invited_by_user_id=str(uuid.uuid4()),
            invited_by_name="김지우",
            locale="en",
            accept_url="https://app.pingvas.dev/invitations/accept?token=Zt4nB8cK2mR6vE0x",
            expires_at=iso(),
            invited_at=iso(),
        ),
        tenant_id=tenant,
    )
    (row,) = await mail.settled(event)
    assert row.status == "sent" and row.user_id is None
    # sent: the stored copy keeps no working link (pingvas_mail.redact)
    assert "https://app.pingvas.dev/invitations/accept?token=REDACTED" in row.text
    assert "Zt4nB8cK2mR6vE0x" not in row.text + row.html
    assert "하늘 스튜디오" in row.text


async def test_credits_exhausted_goes_to_owners_and_admins_who_want_it(mail):
    owner = await mail.user(email="owner@example.com")
    admin = await mail.user(email="admin@example.com")
    quiet_admin = await mail.user(email="quiet@example.com")
    member = await mail.user(email="member@example.com")
    team = await mail.team(owner)
    await mail.join(team, admin, "admin")
    await mail.join(team, quiet_admin, "admin")
    await mail.join(team, member, "member")
    r = await mail.client.put(
        "/api/v1/notification-preferences",
        json={"usage_notices": False},
        headers=mail.as_user(quiet_admin, team),
    )
    assert r.status_code == 200, r.text

    rows = await mail.settled(await mail.credits_exhausted(team))
    status = {r.to_email: r.status for r in rows}
    assert status == {
        "owner@example.com": "sent",
        "admin@example.com": "sent",
        "quiet@example.com": "unsubscribed",
    }
    metrics = (await mail.client.get("/metrics")).text
    assert 'pingvas_mail_skipped_total{reason="unsubscribed"}' in metrics


async def test_job_completed_only_when_opted_in(mail):
    user = await mail.user(email="artist@example.com")
    team = await mail.team(user)
    (off,) = await mail.settled(await mail.job_completed(team, user))
    assert off.status == "unsubscribed"

    r = await mail.client.put(
        "/api/v1/notification-preferences",
        json={"job_completed": True},
        headers=mail.as_user(user, team),
    )
    assert r.status_code == 200 and r.json()["job_completed"] is True
    (on,) = await mail.settled(await mail.job_completed(team, user, images=3))
    assert on.status == "sent" and on.template == "job_completed" and on.category == "notification"
    assert f"{mail.settings.public_url}/gallery" in on.text

    # a partner's API key ran the job: nobody to mail
    event = await mail.deliver(
        example(
            JobCompleted,
            job_id=str(uuid.uuid4()),
            user_id=None,
            api_key_id=str(uuid.uuid4()),
            image_ids=[str(uuid.uuid4())],
            credits_reserved=1,
            credits_used=1,
            completed_at=iso(),
        ),
        tenant_id=team,
    )
    assert await mail.messages_for(event) == []


async def test_paid_activation_mails_the_owners_free_does_not(mail):
    owner = await mail.user(email="boss@example.com")
    team = await mail.team(owner, name="Blue Team")

    def activated(plan: str) -> SubscriptionActivated:
        return example(
            SubscriptionActivated,
            subscription_id=str(uuid.uuid4()),
            plan=plan,
            status="active",
            interval=None if plan == "free" else "month",
            lemon_squeezy=None,
            entitlements={
                "monthly_credits": 50,
                "max_concurrent_jobs": 1,
                "max_images_per_job": 2,
                "max_width": 1024,
                "max_height": 1024,
                "allowed_models": ["sd-1.5"],
                "priority_weight": 1,
            },
            trial_ends_at=None,
            current_period_start=iso(),
            current_period_end=iso(),
            updated_at=iso(),
        )

    free = await mail.deliver(activated("free"), tenant_id=team)
    assert await mail.messages_for(free) == []
    pro = await mail.deliver(activated("pro"), tenant_id=team)
    (row,) = await mail.settled(pro)
    assert row.to_email == "boss@example.com" and row.template == "subscription_activated"
    assert "Blue Team" in row.text
    (plan,) = await mail.rows(tenant_plans, tenant_id=team)
    assert plan.plan == "pro"


async def test_a_deleted_tenant_is_purged(mail):
    owner = await mail.user(email="gone@example.com")
    team = await mail.team(owner)
    await mail.settled(await mail.payment_failed(team))
    assert await mail.rows(memberships, tenant_id=team)
    await mail.deliver(
        example(
            TenantDeleted,
            slug="gone-team",
            deleted_by_user_id=owner,
            reason="owner_request",
            deleted_at=iso(),
        ),
        tenant_id=team,
    )
    assert await mail.rows(memberships, tenant_id=team) == []
    assert await mail.rows(tenant_plans, tenant_id=team) == []
    assert await mail.rows(tenant_id=team) == []


async def test_member_removed_stops_their_team_mail(mail):
    owner = await mail.user(email="o2@example.com")
    admin = await mail.user(email="a2@example.com")
    team = await mail.team(owner)
    await mail.join(team, admin, "admin")
    await mail.deliver(
        example(
            MemberRemoved,
            user_id=admin,
            removed_by_user_id=owner,
            reason="removed",
            removed_at=iso(),
        ),
        tenant_id=team,
    )
    rows = await mail.settled(await mail.credits_exhausted(team))
    assert [r.to_email for r in rows] == ["o2@example.com"]


async def test_a_disabled_webhook_is_told_to_the_owners_in_their_language(mail):
    owner = await mail.user(email="owner@example.com", locale="ko", name="김지우")
    admin = await mail.user(email="admin@example.com")
    team = await mail.team(owner)
    await mail.join(team, admin, "admin")
    event = await mail.deliver(
        example(
            WebhookDisabled,
            endpoint_id=str(uuid.uuid4()),
            url="https://hooks.partner.example/pingvas",
            reason="gone",
            failing_since=iso(),
            consecutive_failures=1,
            owners=[{"email": "owner@example.com", "display_name": "김지우", "locale": "ko"}],
            settings_url="https://app.pingvas.dev/webhooks",
            disabled_at=iso(),
        ),
        tenant_id=team,
    )
    (row,) = await mail.settled(event)
    assert row.to_email == "owner@example.com" and row.status == "sent"
    assert row.locale == "ko"
    assert "410 Gone" in row.text and "https://hooks.partner.example/pingvas" in row.text
    assert "https://app.pingvas.dev/webhooks" in row.text


async def test_a_changed_password_is_told_to_the_person_in_their_language(mail):
    from pingvas_contracts.events.tenants import UserPasswordChanged

    ko = await mail.user(locale="ko", email="ko@example.com", name="김지우")
    event = await mail.deliver(
        UserPasswordChanged(
            user_id=ko,
            email="ko@example.com",
            display_name="김지우",
            locale="ko",
            via="change",
            changed_at=iso(),
        )
    )
    (row,) = await mail.settled(event)
    assert row.status == "sent" and row.category == "transactional"
    assert row.to_email == "ko@example.com" and row.locale == "ko"
    assert row.subject == "Pingvas 비밀번호가 변경되었습니다"
    assert "/forgot-password" in row.text and "비밀번호가 변경되었습니다" in row.text
