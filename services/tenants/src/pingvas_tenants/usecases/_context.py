"""What every use case works with: the runtime (database, outbox), the settings, the
password hasher, the reader of other services' public objects and the webhook sender;
built once in app.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pingvas_kit.service import ServiceContext

from ..adapters.public_api import PublicApi
from ..domain.passwords import Passwords
from ..settings import Settings


@dataclass
class Context(ServiceContext[Settings]):
    """The service's runtime and its domain services."""

    passwords: Passwords
    public_api: PublicApi | None = None
    #: wakes the webhook sender after a commit staged deliveries (set by app.py)
    wake_sender: Callable[[], None] | None = field(default=None, repr=False)

    def link(self, path: str) -> str:
        """An address in the SPA, for the links that go out by mail."""
        return self.settings.public_url.rstrip("/") + path

    def wake_webhooks(self) -> None:
        if self.wake_sender is not None:
            self.wake_sender()
