"""The credit ledger's rules (docs/billing.md, "The credit ledger"), apart from its tables.

Entries are unique on (kind, reference): a job's are `job:<job id>`, a grant's expiry is
`expire:<grant id>`. A grant's reason is its reference's prefix. Spending comes out of the
oldest open grant first, and a grant never lapses more than it has left. A run-out is
announced once: its event id is derived from the tenant and how many entries have added
credits so far."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .periods import add_months

#: event ids of `credits.exhausted`: uuid5 of the tenant and the run-out
EXHAUSTED_NS = uuid.UUID("6f1d2c3b-8a4e-5f60-9b7a-1c2d3e4f5a6b")

GRANT_REASONS = ("plan_start", "renewal", "purchase", "promotion", "refund", "adjustment")

#: the entries of a job, each written once
JOB_KINDS = ("reserve", "settle", "release")


class InsufficientCredits(Exception):
    """A reservation asked to be covered (`require_available`) and was not, or a negative
    adjustment would take the available balance below zero."""

    def __init__(self, needed: int, available: int) -> None:
        super().__init__(f"needs {needed} credits, {available} available")
        self.needed = needed
        self.available = available


@dataclass(frozen=True)
class Totals:
    balance: int
    reserved: int
    next_grant_at: datetime | None

    @property
    def available(self) -> int:
        return self.balance - self.reserved


@dataclass(frozen=True)
class OpenGrant:
    """A period grant not expired yet: its entry id and the credits it gave."""

    id: str
    credits: int


def job_reference(job_id: str) -> str:
    return f"job:{job_id}"


def expiry_reference(grant_id: str) -> str:
    return f"expire:{grant_id}"


def grant_reason(reference: str) -> str:
    """A period grant's reason from its reference (`plan_start:` or `renewal:`)."""
    prefix = reference.split(":", 1)[0]
    return prefix if prefix in GRANT_REASONS else "plan_start"


def other_end(kind: str) -> str:
    """The entry that ends a job the other way (a settle's is the release, and back)."""
    return "release" if kind == "settle" else "settle"


def charge(used: int, held: int) -> int:
    """What a settlement charges: what the job used, never below zero nor above what its
    reservation holds."""
    return min(max(used, 0), held)


def lapses(grants: Iterable[OpenGrant], spent: int) -> list[tuple[str, int]]:
    """(grant id, credits to lapse) of each open grant, oldest first, after `spent` credits
    settled since the oldest was made came out of them in that order."""
    result = []
    for g in grants:
        used = min(g.credits, spent)
        spent -= used
        result.append((g.id, g.credits - used))
    return result


def exhausted_event_id(tenant_id: str, credited: int) -> str:
    """The id of the `credits.exhausted` for the run-out after `credited` entries added
    credits: the same run-out gives the same id, so inboxes drop repeats."""
    return str(uuid.uuid5(EXHAUSTED_NS, f"{tenant_id}:{credited}"))


def add_month(value: datetime) -> datetime:
    """The same time a calendar month later (the 31st becomes the month's last day)."""
    return add_months(value, 1)


def current_period(start: datetime, at: datetime) -> tuple[datetime, datetime]:
    """The monthly period, from `start` on, that `at` falls in (a tenant away for months gets
    the current period only)."""
    end = add_month(start)
    while end <= at:
        start, end = end, add_month(end)
    return start, end
