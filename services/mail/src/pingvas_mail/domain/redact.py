"""What a message keeps once it is out of our hands: its working links are not kept.

A verification, password-reset or invitation mail carries a single-use secret in its link
(`…?token=…`, `/invitations/<token>`). It must live in the stored message until SES has it,
and not after: a database dump, a backup or an operator reading `messages` must not be able
to use the links. When a message reaches an end (sent, failed, unknown, suppressed,
unsubscribed) its HTML and text are stored with those secrets replaced by `REDACTED`.

The local run's inbox (`MAIL_DEV_INBOX=true`, /dev/mail) shows messages as they went out,
links included, so that a person can click them; that is the only place that keeps them."""

from __future__ import annotations

import re

REDACTED = "REDACTED"

# `token=` in any query (`?token=`, `&token=`, `&amp;token=` in HTML), and the invitation path;
# not an unsubscribe link's: it only turns mail off, and is made again from the user id
_QUERY_TOKEN = re.compile(r"(?<!unsubscribe)([?&](?:amp;)?token=)[^\s\"'<>&#]+")
_INVITATION = re.compile(r"(/invitations/)[A-Za-z0-9_\-]{16,}")


def redact(text: str | None) -> str:
    """`text` with the link secrets replaced by REDACTED."""
    if not text:
        return text or ""
    text = _QUERY_TOKEN.sub(lambda m: m.group(1) + REDACTED, text)
    return _INVITATION.sub(lambda m: m.group(1) + REDACTED, text)
