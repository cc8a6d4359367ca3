"""Rate limits on the proxied routes: Litestar's RateLimitMiddleware, one per bucket, each
with its own identifier, all counting in the "rate_limit" store (Redis or in process).

- every authenticated caller: per tenant (a user without a tenant: per user)
- API keys, in addition: per key
- anonymous callers: per client IP (not /webhooks: signed, bursty, from few addresses)
- POST auth/login: per client IP and e-mail address; password reset: per client IP

A refusal is a 429 problem with Retry-After and RateLimit-Limit/-Remaining/-Reset
(api/problems.py adds Retry-After); allowed responses carry the RateLimit-* headers too."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.types import Receive, Scope, Send

from pingvas_kit.identity import Identity

from .adapters.stores import RATE_LIMITS
from .domain.routing import LOGIN, PASSWORD_RESET
from .edge import client_ip
from .settings import Settings, parse_rate

_EMAIL_KEY = "pv_login_email"


def _identity(request: Request) -> Identity:
    return request.scope["user"]  # type: ignore[typeddict-item]


class LoginRateLimitMiddleware(RateLimitMiddleware):
    """Reads the log-in body's e-mail first (the body stays cached for the handler)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_login(scope):
            request = scope["litestar_app"].request_class(scope, receive)
            scope["state"][_EMAIL_KEY] = _email_of(await request.body())  # type: ignore[typeddict-item]
        await super().__call__(scope, receive, send)


def _is_login(scope: Any) -> bool:
    return scope["method"] == "POST" and scope["path"].rstrip("/") == LOGIN


def _email_of(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    email = data.get("email") if isinstance(data, dict) else None
    return email.strip().lower()[:320] if isinstance(email, str) else ""


def _on_event_loop(check: Any) -> Any:
    """Litestar runs a sync check_throttle_handler in a worker thread: a thread hop per
    limiter per request. These checks only read the scope, so run them in the loop."""

    async def check_async(request: Any) -> bool:
        return bool(check(request))

    return check_async


def rate_limit_middleware(settings: Settings) -> list[DefineMiddleware]:
    def config(rate: str, **kw: Any) -> DefineMiddleware:
        kw["check_throttle_handler"] = _on_event_loop(kw["check_throttle_handler"])
        return RateLimitConfig(rate_limit=parse_rate(rate), store=RATE_LIMITS, **kw).middleware

    return [
        config(
            settings.rate_limit_login,
            middleware_class=LoginRateLimitMiddleware,
            check_throttle_handler=lambda r: _is_login(r.scope),
            identifier_for_request=lambda r: (
                f"login:{client_ip(r.scope)}:{r.scope['state'].get(_EMAIL_KEY, '')}"
            ),
        ),
        config(
            settings.rate_limit_password_reset,
            check_throttle_handler=lambda r: (
                r.method == "POST" and r.scope["path"].rstrip("/") in PASSWORD_RESET
            ),
            identifier_for_request=lambda r: f"reset:{client_ip(r.scope)}",
        ),
        config(
            settings.rate_limit_anonymous,
            # webhooks come from a few provider addresses in bursts, and are signed
            check_throttle_handler=lambda r: (
                _identity(r).kind == "anonymous" and not r.scope["path"].startswith("/webhooks/")
            ),
            identifier_for_request=lambda r: f"ip:{client_ip(r.scope)}",
        ),
        # the key's headers win over the tenant's (outer middleware writes last)
        config(
            settings.rate_limit_api_key,
            check_throttle_handler=lambda r: _identity(r).kind == "api_key",
            identifier_for_request=lambda r: f"key:{_identity(r).principal_id}",
        ),
        config(
            settings.rate_limit_tenant,
            check_throttle_handler=lambda r: _identity(r).kind != "anonymous",
            identifier_for_request=lambda r: (
                f"tenant:{_identity(r).tenant_id}"
                if _identity(r).tenant_id
                else f"user:{_identity(r).principal_id}"
            ),
        ),
    ]
