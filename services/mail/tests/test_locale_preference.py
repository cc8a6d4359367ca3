"""The language a person saved on their account page is the language of their team mail."""

from __future__ import annotations

from datetime import UTC, datetime

from pingvas_contracts.events.tenants import UserPreferencesChanged


async def test_team_mail_follows_the_language_the_person_saved(mail):
    owner = await mail.user(locale="en", email="owner@example.com", name="김지우")
    team = await mail.team(owner)
    before = await mail.settled(await mail.payment_failed(team))
    assert [r.locale for r in before] == ["en"]

    await mail.deliver(
        UserPreferencesChanged(user_id=owner, locale="ko", changed_at=datetime.now(UTC)),
        tenant_id=team,
    )
    (after,) = await mail.settled(await mail.payment_failed(team))
    assert after.locale == "ko" and after.to_email == "owner@example.com"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in after.subject)  # Hangul
