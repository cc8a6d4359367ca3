"""A person's notification preferences (docs/mail.md, "API"). Always the caller's own:
the person comes from the verified identity, never from the request."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from pingvas_kit.http import problem_responses

from ..usecases.preferences import change_preferences, preferences_of
from .deps import Ctx, Person

router = APIRouter(prefix="/api/v1/notification-preferences", tags=["mail"])


class Preferences(BaseModel):
    #: mail me when a batch of images is finished (off until turned on)
    job_completed: bool
    #: credits running out and similar notices about the team's usage
    usage_notices: bool
    #: product news
    newsletter: bool


class PreferencesIn(BaseModel):
    """The same shape; keys left out keep their value, unknown keys are refused (422)."""

    # strict: 0 or "yes" is not a boolean (the schema says true or false)
    model_config = ConfigDict(extra="forbid", strict=True)

    job_completed: bool | None = None
    usage_notices: bool | None = None
    newsletter: bool | None = None


@router.get(
    "",
    response_model=Preferences,
    summary="Your notification preferences",
    description=(
        "Which kinds of mail the caller gets (product news, billing notices, ...). Security mail "
        "(verification, reset, invitations) cannot be turned off."
    ),
    responses=problem_responses(403),
)
async def get_preferences(ctx: Ctx, me: Person) -> Preferences:
    return Preferences(**await preferences_of(ctx.db, me.principal_id))


@router.put(
    "",
    response_model=Preferences,
    summary="Change your notification preferences",
    description=(
        "The same shape as the answer of GET; kinds left out keep their value, unknown kinds are "
        "refused (422)."
    ),
    responses=problem_responses(403, 422),
)
async def put_preferences(body: PreferencesIn, ctx: Ctx, me: Person) -> Preferences:
    values = body.model_dump(exclude_none=True)
    return Preferences(**await change_preferences(ctx.db, me.principal_id, values))
