"""The metric families every service shares (the same names on the FastAPI services and
the Litestar gateway, so one dashboard and one alert cover them all).

Labels are bounded: a route is its template (`/api/v1/generations/{job_id}`), a request no
route matched is UNMATCHED, and no label ever holds a tenant, user or job id."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
