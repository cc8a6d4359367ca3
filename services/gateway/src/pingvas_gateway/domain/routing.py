"""The routing table (docs/identity.md): which service answers a path, and which routes are
public (forwarded with an anonymous identity when the caller brings no valid credentials)."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: path prefix -> service; the longest matching prefix wins
ROUTES: dict[str, str] = {
    "/api/v1/auth": "tenants",
    "/api/v1/me": "tenants",
    "/api/v1/members": "tenants",
    "/api/v1/invitations": "tenants",
    "/api/v1/api-keys": "tenants",
    "/api/v1/webhooks": "tenants",
    "/api/v1/audit-log": "tenants",
    "/api/v1/tenant": "tenants",
    "/api/v1/generations": "render",
    "/api/v1/images": "render",
    "/api/v1/models": "render",
    "/api/v1/entitlements": "render",
    "/api/v1/billing": "billing",
    "/webhooks/lemonsqueezy": "billing",
    "/api/v1/search": "search",
    "/api/v1/admin/tenants": "search",
    "/api/v1/notification-preferences": "mail",
    "/api/v1/mail": "mail",
}
_BY_LENGTH = sorted(ROUTES.items(), key=lambda item: len(item[0]), reverse=True)

_PUBLIC: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (method, re.compile(pattern))
    for method, pattern in (
        (
            "POST",
            r"/api/v1/auth/(signup|login|refresh|verify-email(/request)?|password-reset(/confirm)?)",
        ),
        ("GET", r"/api/v1/auth/password-policy"),
        # the public home page's plans
        ("GET", r"/api/v1/billing/plans"),
        ("GET", r"/api/v1/invitations/[^/]+"),
        # the models on offer, named as the Generate page names them (plan cards)
        ("GET", r"/api/v1/models/catalog"),
        ("POST", r"/api/v1/invitations/[^/]+/accept"),
        # the link in every non-transactional mail: the page asks (GET), the page or a mail
        # client's RFC 8058 one-click POST (no cookies, so no CSRF token) unsubscribes
        ("GET", r"/api/v1/mail/unsubscribe"),
        ("POST", r"/api/v1/mail/unsubscribe"),
        ("*", r"/webhooks/.+"),
    )
)

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
VERIFY_EMAIL = "/api/v1/auth/verify-email"
PASSWORD_RESET = ("/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm")
#: a new verification link, asked for by address (from a used or expired link's page)
VERIFY_EMAIL_REQUEST = "/api/v1/auth/verify-email/request"
#: the anonymous routes that send mail to an address: their own, tighter limit per IP
MAIL_BY_ADDRESS = (*PASSWORD_RESET, VERIFY_EMAIL_REQUEST)
#: the local run's inbox (settings.dev_mail): captured messages, served by the mail service
DEV_MAIL = "/dev/mail"
#: live progress (server-sent events): capped per tenant and key, over their own pool
_EVENT_STREAM = re.compile(r"/api/v1/generations/[^/]+/events/?")


def is_event_stream(method: str, path: str) -> bool:
    return method == "GET" and _EVENT_STREAM.fullmatch(path) is not None


@dataclass(frozen=True, slots=True)
class Route:
    service: str
    public: bool


def service_for(path: str) -> str | None:
    for prefix, service in _BY_LENGTH:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def is_public(method: str, path: str) -> bool:
    path = path.rstrip("/") or "/"
    return any((m == "*" or m == method) and pattern.fullmatch(path) for m, pattern in _PUBLIC)


def resolve(method: str, path: str) -> Route | None:
    """Where a request goes; None when no service answers that path (a 404)."""
    service = service_for(path)
    if service is None:
        return None
    return Route(service=service, public=is_public(method, path))
