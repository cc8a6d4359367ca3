"""One spelling per e-mail address, so one person is one account (and one log-in limit).

`normalise_email` is what an address is compared and stored as: the address of a display-name
form (`"Eve" <eve@x.com>`, `Eve <eve@x.com>`), Unicode NFKC (full-width `ｅｖｅ＠ｘ．ｃｏｍ` is
`eve@x.com`), surrounding space gone, lower case. It does not judge whether the address is
valid (the sign-up schema does); it only makes the spellings of one address equal, so the
gateway's log-in limits and tenants' look-ups agree on who is meant."""

from __future__ import annotations

import re
import unicodedata

#: RFC 5321's longest address
MAX_LENGTH = 320
_ANGLE = re.compile(r"<([^<>]*)>\s*$")


def normalise_email(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if match := _ANGLE.search(text):
        text = match.group(1).strip()
    # lower() may leave a combining sequence NFKC would compose (e.g. "İ" -> "i̇")
    return unicodedata.normalize("NFKC", text.lower())[:MAX_LENGTH]
