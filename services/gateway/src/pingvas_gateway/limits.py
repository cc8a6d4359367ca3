"""Rate limits on the proxied routes: Litestar's RateLimitMiddleware, one per bucket, each
with its own identifier, all counting in the "rate_limit" store (Redis or in process).

- every authenticated caller: per tenant (a user without a tenant: per user)
- API keys, in addition: per key
- anonymous callers: per client IP (not /webhooks: signed, bursty, from few addresses)
- POST auth/login: per client IP and e-mail address; password reset and the verification
  link asked for by address: per client IP
- POST auth/login, in addition, per account from every IP (`LoginDelays`, counted in
  adapters/login_delays.py, the wait by domain/limits.py's `login_delay`): after
  `login_failures_before_delay` attempts without a success each further one must wait,
  1 s, then twice as long each time up to `login_delay_max`; a successful log-in clears
  it. The wait caps, so nobody can lock another person out for good by failing on
  purpose: the owner logs in with the right password once the (short) wait is over; and
  from an IP the account logged in from before (its last few, for 30 days) the owner
  never waits at all (only the per-IP + address limit counts there), so a stranger
  failing on purpose from elsewhere cannot even hold the owner off by racing each wait.

The e-mail address counts as tenants reads it (`pingvas_kit.emails.normalise_email`:
display-name forms, full-width letters and case are one account).

A refusal is a 429 problem with Retry-After and RateLimit-Limit/-Remaining/-Reset
(api/problems.py adds Retry-After); allowed responses carry the RateLimit-* headers too.
The account wait is a 429 problem with `code` `login_delayed` and Retry-After.

Open event streams (`GET /api/v1/generations/{id}/events`) are counted while they last
(`StreamSlots`, per gateway replica): at most `max_streams_per_tenant` per tenant and
`max_streams_per_api_key` per key (429 `too_many_streams`), and `stream_pool_size` in all,
the size of the streams' own connection pool (503 `streams_full`: no stream ever waits
for a connection)."""

from __future__ import annotations

import json
import math
from typing import Any, cast

from litestar import Request
from litestar.exceptions import ServiceUnavailableException, TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, RateLimitMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from pingvas_kit.emails import normalise_email
from pingvas_kit.identity import Identity

from .adapters.login_delays import LoginDelays
from .adapters.stores import RATE_LIMITS
from .domain.routing import LOGIN, MAIL_BY_ADDRESS, is_event_stream
from .edge import client_ip
from .settings import Settings, parse_rate

_EMAIL_KEY = "pv_login_email"


def _identity(request: Request) -> Identity:
    return request.scope["user"]


class LoginRateLimitMiddleware(RateLimitMiddleware):
    """Reads the log-in body's e-mail first (the body stays cached for the handler)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_login(scope):
            request = scope["litestar_app"].request_class(scope, receive)
            scope["state"][_EMAIL_KEY] = _email_of(await request.body())
        await super().__call__(scope, receive, send)


def _is_login(scope: Any) -> bool:
    return scope["method"] == "POST" and scope["path"].rstrip("/") == LOGIN


def _email_of(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""
    email = data.get("email") if isinstance(data, dict) else None
    return normalise_email(email) if isinstance(email, str) else ""


class LoginDelayMiddleware:
    """POST auth/login: refused with 429 `login_delayed` while the account must wait; a
    2xx answer clears the account's count. Runs after LoginRateLimitMiddleware, which
    reads the address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        account = scope["state"].get(_EMAIL_KEY, "") if _is_login(scope) else ""
        if not account:
            await self.app(scope, receive, send)
            return
        delays: LoginDelays = scope["litestar_app"].state.login_delays
        ip = client_ip(scope)
        wait = await delays.attempt(account, ip)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequestsException(
                f"Too many log-in attempts for this account; try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
                extra={"code": "login_delayed"},
            )
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if 200 <= status < 300:
            await delays.succeeded(account, ip)


class StreamSlots:
    """How many event streams are open, per tenant, per API key and in all (this replica)."""

    def __init__(self, *, per_tenant: int, per_key: int, total: int) -> None:
        self.per_tenant = per_tenant
        self.per_key = per_key
        self.total = total
        self.open: dict[str, int] = {}
        self.in_all = 0

    def take(self, identity: Identity) -> list[str]:
        """The counters the new stream holds; raises 429 / 503 problems when one is full."""
        owner = (
            f"tenant:{identity.tenant_id}"
            if identity.tenant_id
            else f"user:{identity.principal_id}"
        )
        held = [(owner, self.per_tenant)]
        if identity.kind == "api_key":
            held.append((f"key:{identity.principal_id}", self.per_key))
        for name, cap in held:
            if self.open.get(name, 0) >= cap:
                what = "API key" if name.startswith("key:") else "team"
                raise TooManyRequestsException(
                    f"This {what} has {cap} live progress streams open already; close one first.",
                    headers={"Retry-After": "5"},
                    extra={"code": "too_many_streams"},
                )
        if self.in_all >= self.total:
            raise ServiceUnavailableException(
                "Too many live progress streams are open right now; try again shortly.",
                headers={"Retry-After": "5"},
                extra={"code": "streams_full"},
            )
        self.in_all += 1
        for name, _cap in held:
            self.open[name] = self.open.get(name, 0) + 1
        return [name for name, _cap in held]

    def give_back(self, names: list[str]) -> None:
        self.in_all -= 1
        for name in names:
            left = self.open.get(name, 0) - 1
            if left > 0:
                self.open[name] = left
            else:
                self.open.pop(name, None)


class StreamLimitMiddleware:
    """Holds a stream slot for as long as the request runs: an ASGI app returns only once
    its response has been sent whole, or the client went away, or it failed; so the slot
    comes back in every case. Anonymous callers pass (the guards answer them 401)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        identity = scope.get("user")
        if (
            scope["type"] != "http"
            or not is_event_stream(cast("HTTPScope", scope)["method"], scope["path"])
            or identity is None
            or identity.kind == "anonymous"
        ):
            await self.app(scope, receive, send)
            return
        slots: StreamSlots = scope["litestar_app"].state.stream_slots
        held = slots.take(identity)
        try:
            await self.app(scope, receive, send)
        finally:
            slots.give_back(held)


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
        DefineMiddleware(LoginDelayMiddleware),
        DefineMiddleware(StreamLimitMiddleware),
        config(
            settings.rate_limit_password_reset,
            check_throttle_handler=lambda r: (
                r.method == "POST" and r.scope["path"].rstrip("/") in MAIL_BY_ADDRESS
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
