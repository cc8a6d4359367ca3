"""The metric families every service shares (the same names on the FastAPI services and
the Litestar gateway, so one dashboard and one alert cover them all), and counting on
commit: a figure about a database change counts once the change is committed, never
for a transaction that rolled back and will be retried.

Labels are bounded: a route is its template (`/api/v1/generations/{job_id}`), a request no
route matched is UNMATCHED, and no label ever holds a tenant, user or job id."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

REQUESTS = Counter(
    "pingvas_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "pingvas_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
#: the route label of a request no route matched: raw paths would grow the series unbounded
UNMATCHED = "unmatched"
#: a service's answer names its matched route here; the gateway labels with it, then drops it
ROUTE_HEADER = "x-pingvas-route"

_PENDING = "pingvas_metrics_on_commit"


def count_on_commit(session: AsyncSession, counter: Any, amount: float = 1.0) -> None:
    """`counter.inc(amount)` once the session's transaction commits; dropped on rollback."""
    if amount:
        session.sync_session.info.setdefault(_PENDING, []).append((counter, amount))


@event.listens_for(Session, "after_commit")
def _apply(session: Session) -> None:
    for counter, amount in session.info.pop(_PENDING, ()):
        counter.inc(amount)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)
