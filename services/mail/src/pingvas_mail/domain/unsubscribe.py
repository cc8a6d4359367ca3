"""Signed one-click unsubscribe links (docs/mail.md, "Messages").

A token names a person and one preference (`job_completed`, `usage_notices`,
`newsletter`) and carries an HMAC-SHA256 of both, so whoever holds the link can turn that
one preference off without logging in, and nobody can forge a link for someone else. The
key is `MAIL_UNSUBSCRIBE_SECRET`, or one derived from the internal secret. Tokens do not
expire: a link in an old mail keeps working, and turning a preference off twice is harmless.

    token = sign(settings, user_id, "newsletter")
    verify(settings, token)  # -> ("<user id>", "newsletter"), or raises BadToken
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import quote

from ..settings import Settings

#: (user_id, preference) -> the link that turns that preference off
UnsubscribeUrl = Callable[[str, str], str]

#: the preferences an unsubscribe link can turn off
PREFERENCES = ("job_completed", "usage_notices", "newsletter")

#: which preference governs a non-transactional template (marketing: the newsletter)
_BY_TEMPLATE = {"job_completed": "job_completed", "credits_exhausted": "usage_notices"}


class BadToken(ValueError):
    pass


def preference_for(template: str, category: str) -> str | None:
    """The preference a message of this template and category depends on; None for
    transactional mail, which always goes out."""
    if category == "transactional":
        return None
    if category == "marketing":
        return "newsletter"
    return _BY_TEMPLATE.get(template, "usage_notices")


def _key(settings: Settings) -> bytes:
    if settings.unsubscribe_secret is not None:
        return settings.unsubscribe_secret.get_secret_value().encode()
    internal = settings.internal_secret.get_secret_value().encode()
    return hmac.new(internal, b"pingvas-mail-unsubscribe-v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, payload: bytes) -> bytes:
    return hmac.new(_key(settings), payload, hashlib.sha256).digest()[:20]


def sign(settings: Settings, user_id: str, preference: str) -> str:
    if preference not in PREFERENCES:
        raise ValueError(f"unknown preference {preference!r}")
    payload = f"{user_id}:{preference}".encode()
    return f"{_b64(payload)}.{_b64(_mac(settings, payload))}"


def verify(settings: Settings, token: str) -> tuple[str, str]:
    """(user id, preference) of a token this service signed; BadToken otherwise."""
    try:
        body, mac = token.split(".", 1)
        payload = _unb64(body)
        given = _unb64(mac)
    except (ValueError, TypeError):
        raise BadToken("malformed") from None
    if not hmac.compare_digest(given, _mac(settings, payload)):
        raise BadToken("bad signature")
    user_id, _, preference = payload.decode(errors="replace").rpartition(":")
    if not user_id or preference not in PREFERENCES:
        raise BadToken("bad payload")
    return user_id, preference


def api_url(settings: Settings, token: str) -> str:
    """The one-click URL for `List-Unsubscribe` (mail clients POST to it)."""
    return f"{settings.public_url.rstrip('/')}/api/v1/mail/unsubscribe?token={quote(token)}"


def page_url(settings: Settings, token: str) -> str:
    """The link in the mail's body: the web app's page, which asks before it POSTs."""
    return f"{settings.public_url.rstrip('/')}/unsubscribe?token={quote(token)}"
