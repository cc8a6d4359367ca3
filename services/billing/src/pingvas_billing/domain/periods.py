"""Billing periods: calendar months and years, and the references of their grants."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta


def add_months(when: datetime, months: int) -> datetime:
    """`when` moved by whole calendar months (the 31st becomes the month's last day)."""
    month0 = when.month - 1 + months
    year, month = when.year + month0 // 12, month0 % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def add_interval(when: datetime, interval: str | None, times: int = 1) -> datetime:
    return add_months(when, 12 * times if interval == "year" else times)


def period_bounds(
    *, end: datetime | None, interval: str | None, created_at: datetime, fallback: datetime
) -> tuple[datetime, datetime]:
    """(start, end) of a subscription's current period from what Lemon Squeezy tells:
    the end (renews_at, or ends_at once cancelled); the start is one interval earlier, but
    never before the subscription was created."""
    end = end or add_interval(fallback, interval)
    start = max(created_at, add_interval(end, interval, -1))
    return start, end


def stamp(when: datetime) -> str:
    """A period start as it appears in ledger references: UTC to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def later(candidate: datetime, previous: datetime | None) -> datetime:
    """`candidate`, or just after `previous` if it is not later: the `updated_at` of the
    events billing publishes never goes backwards for a tenant, so projections that keep the
    newest state (render's entitlements) apply every one of them."""
    if previous is not None and candidate <= previous:
        return previous + timedelta(milliseconds=1)
    return candidate
