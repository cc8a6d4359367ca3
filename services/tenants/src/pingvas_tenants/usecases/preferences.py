"""A person's own preferences: the language their mail is written in."""

from __future__ import annotations

import sqlalchemy as sa

from pingvas_contracts.events.tenants import UserPreferencesChanged

from ..adapters import repository as repo
from ..domain.errors import NotAuthenticated
from ._context import Context


async def set_preferences(
    ctx: Context, *, user_id: str, tenant_id: str | None, locale: str
) -> sa.Row:
    """Saves `locale` and says so (user.preferences_changed: mail follows it); the user as
    saved. Saving the same value again changes nothing and says nothing."""
    async with ctx.db.transaction() as session:
        user = await repo.get_user(session, user_id=user_id)
        if user is None:
            raise NotAuthenticated("Log in first.")
        if user.locale == locale:
            return user
        at = repo.now()
        await repo.update_user(session, user_id=user_id, locale=locale)
        await ctx.runtime.outbox.add(
            session,
            UserPreferencesChanged(user_id=user_id, locale=locale, changed_at=at),
            tenant_id=tenant_id,
        )
        saved = await repo.get_user(session, user_id=user_id)
        assert saved is not None
        return saved
