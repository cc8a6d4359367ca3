"""A person's notification preferences: read and change them, as the person (the
preferences API) or as whoever holds a signed one-click unsubscribe link.

A link names one person and one preference (`pingvas_mail.domain.unsubscribe`); a token
this service did not sign raises `BadToken` before anything is read. Turning a preference
off twice is harmless."""

from __future__ import annotations

from dataclasses import dataclass

from pingvas_kit.db import Database

from ..adapters import repository as repo
from ..domain import unsubscribe as tokens
from ..settings import Settings


@dataclass(frozen=True, slots=True)
class Unsubscription:
    """What an unsubscribe link concerns: the preference, the person's address (None when
    mail does not know them), and whether that mail is still on."""

    preference: str
    email: str | None
    subscribed: bool


async def preferences_of(db: Database, user_id: str) -> dict[str, bool]:
    async with db.sessionmaker() as session:
        return await repo.get_preferences(session, user_id)


async def change_preferences(
    db: Database, user_id: str, values: dict[str, bool]
) -> dict[str, bool]:
    """Set the given preferences (the others keep their value); all of them after."""
    async with db.transaction() as session:
        return await repo.set_preferences(session, user_id, values)


async def describe_unsubscribe(db: Database, settings: Settings, token: str) -> Unsubscription:
    user_id, preference = tokens.verify(settings, token)
    async with db.sessionmaker() as session:
        person = await repo.recipient(session, user_id)
        prefs = await repo.get_preferences(session, user_id)
    return Unsubscription(preference, person.email if person else None, prefs[preference])


async def unsubscribe(db: Database, settings: Settings, token: str) -> Unsubscription:
    """Turn off the one preference the link names."""
    user_id, preference = tokens.verify(settings, token)
    async with db.transaction() as session:
        await repo.set_preferences(session, user_id, {preference: False})
        person = await repo.recipient(session, user_id)
    return Unsubscription(preference, person.email if person else None, False)
