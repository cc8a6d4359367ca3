"""What every use case works with: the runtime (database, outbox), the settings, the
password hasher; built once in app.py."""

from __future__ import annotations

from dataclasses import dataclass

from pingvas_kit.service import ServiceContext

from ..domain.passwords import Passwords
from ..settings import Settings


@dataclass
class Context(ServiceContext[Settings]):
    """The service's runtime and its domain services."""

    passwords: Passwords

    def link(self, path: str) -> str:
        """An address in the SPA, for the links that go out by mail."""
        return self.settings.public_url.rstrip("/") + path
