"""The language a person saved on their account page is the language of their team mail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pingvas_contracts import example
from pingvas_contracts.events.tenants import MemberInvited, UserPreferencesChanged


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


async def test_an_invitation_to_someone_with_an_account_is_in_their_language(mail):
    await mail.user(locale="ko", email="jiwoo@haneul.example", name="김지우")
    data = example(
        MemberInvited,
        invitation_id=str(uuid.uuid4()),
        email="jiwoo@haneul.example",
        role="member",
        tenant_name="Partner Studio",
        invited_by_user_id=str(uuid.uuid4()),
        invited_by_name="Alex Park",
        locale="en",  # the inviter's language
    )
    (row,) = await mail.settled(await mail.deliver(data, tenant_id=str(uuid.uuid4())))
    assert row.locale == "ko"
    newcomer = data.model_copy(update={"email": "newcomer@partner.example"})
    (row,) = await mail.settled(await mail.deliver(newcomer, tenant_id=str(uuid.uuid4())))
    assert row.locale == "en"
