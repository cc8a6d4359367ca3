"""The tenant's credits and what it spent them on.

    GET /api/v1/billing/credits                                       member
        {balance, reserved, available, plan, next_grant_at, next_grant_credits}
    GET /api/v1/billing/usage?from=&to=&group_by=day|user|api_key     admin
        {items: [{key, credits, jobs}], from, to, group_by}; CSV with ?format=csv or
        Accept: text/csv

Usage is the credits settled (`settle` entries of the ledger) in [from, to): dates mean
whole UTC days (`to` included), times are taken as given; at most 366 days; by default the
last 30 days. The tenant always comes from the forwarded identity."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel

from pingvas_contracts.plans import PLANS
from pingvas_kit.db import Database, aware, now
from pingvas_kit.http import problem_responses
from pingvas_kit.identity import Identity, require_role

from ..adapters import ledger as store

router = APIRouter(prefix="/api/v1/billing", tags=["billing"])

Member = Annotated[Identity, require_role("member")]
Admin = Annotated[Identity, require_role("admin")]

MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=30)
#: a paid subscription in these states renews (and grants) at the end of its period
RENEWING = ("on_trial", "active", "past_due", "unpaid")


class CreditsOut(BaseModel):
    balance: int
    reserved: int
    available: int
    plan: str
    next_grant_at: datetime | None
    next_grant_credits: int


class UsageItem(BaseModel):
    key: str | None
    credits: int
    jobs: int


class UsageOut(BaseModel):
    items: list[UsageItem]
    from_: datetime
    to: datetime
    group_by: str

    def body(self) -> dict[str, Any]:
        return {
            "items": [i.model_dump() for i in self.items],
            "from": self.from_.isoformat(),
            "to": self.to.isoformat(),
            "group_by": self.group_by,
        }


def _db(request: Request) -> Database:
    return request.app.state.runtime.db


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error"}]
    )


@router.get(
    "/credits",
    response_model=CreditsOut,
    summary="The credit balance",
    description=(
        "The team's credits this period: its plan's allowance, what is spent and what is left, "
        "and when the period renews."
    ),
    responses=problem_responses(403),
)
async def get_credits(request: Request, me: Member) -> CreditsOut:
    tenant_id = me.tenant_id
    assert tenant_id is not None
    async with _db(request).sessionmaker() as session:
        held = await store.totals(session, tenant_id)
        sub = await store.plan_and_status(session, tenant_id)
    plan = sub.plan if sub is not None and sub.plan in PLANS else "free"
    next_plan = plan
    if sub is not None and plan != "free" and sub.status not in RENEWING:
        # cancelled or paused: what comes next is Free's grant (or nothing yet)
        next_plan = "free"
    return CreditsOut(
        balance=held.balance,
        reserved=held.reserved,
        available=held.available,
        plan=plan,
        next_grant_at=held.next_grant_at,
        next_grant_credits=PLANS[next_plan].monthly_credits,
    )


#: what `from` and `to` take, as the schema says it (`_parse`; an empty value is none)
DAY_OR_TIME: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "maxLength": 0},
    ]
}


def _parse(value: str | None, field: str, *, end: bool) -> datetime | None:
    """A date (a whole UTC day: its start, or for `to` the next day's start) or an ISO
    time (UTC unless it says otherwise)."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        text = text.replace("Z", "+00:00")
        if len(text) > 19 and text[19:].startswith(" "):
            text = text[:19] + "+" + text[20:]  # an unescaped "+" of the offset
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(field, "Use a date (2026-11-26) or an ISO 8601 time.") from None
    return aware(moment).astimezone(UTC)


def _range(from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    start = _parse(from_, "from", end=False)
    stop = _parse(to, "to", end=True)
    if stop is None:
        stop = now() if start is None else min(start + DEFAULT_RANGE, now())
    if start is None:
        start = stop - DEFAULT_RANGE
    if start >= stop:
        raise _invalid("from", "`from` must be before `to`.")
    if stop - start > MAX_RANGE:
        raise _invalid("to", "The range is at most 366 days.")
    return start, stop


async def usage_items(
    db: Database, tenant_id: str, start: datetime, stop: datetime, group_by: str
) -> list[UsageItem]:
    async with db.sessionmaker() as session:
        rows = await store.usage(session, tenant_id, start, stop, group_by)
    items = [UsageItem(key=key, credits=credits, jobs=jobs) for key, credits, jobs in rows]
    if group_by == "day":
        items.sort(key=lambda i: i.key or "")
    else:
        items.sort(key=lambda i: (-i.credits, i.key is None, i.key or ""))
    return items


def _wants_csv(request: Request, format_: str | None) -> bool:
    if format_ is not None:
        return format_ == "csv"
    return "text/csv" in request.headers.get("accept", "")


@router.get(
    "/usage",
    response_model=None,
    summary="Usage by day and model",
    description=(
        "What the team spent its credits on between `from` and `to` (dates or ISO times, UTC, at "
        "most 366 days; the last 30 days by default), grouped by `group_by` (day, user or API "
        "key), as JSON or, with `format=csv` or `Accept: text/csv`, as CSV. Owners and admins."
    ),
    responses={
        200: {
            "content": {
                "application/json": {"schema": {}},
                "text/csv": {"schema": {"type": "string"}},
            }
        },
        **problem_responses(403, 422),
    },
)
async def get_usage(
    request: Request,
    me: Admin,
    from_: Annotated[str | None, Query(alias="from", json_schema_extra=DAY_OR_TIME)] = None,
    to: Annotated[str | None, Query(json_schema_extra=DAY_OR_TIME)] = None,
    group_by: Literal["day", "user", "api_key"] = "day",
    format_: Annotated[Literal["json", "csv"] | None, Query(alias="format")] = None,
) -> Any:
    tenant_id = me.tenant_id
    assert tenant_id is not None
    start, stop = _range(from_, to)
    items = await usage_items(_db(request), tenant_id, start, stop, group_by)
    if not _wants_csv(request, format_):
        return UsageOut(items=items, from_=start, to=stop, group_by=group_by).body()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([group_by, "credits", "jobs"])
    for item in items:
        writer.writerow([item.key or "", item.credits, item.jobs])
    name = f"usage-{group_by}-{start:%Y%m%d}-{stop:%Y%m%d}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
