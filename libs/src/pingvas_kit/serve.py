"""`python -m pingvas_<service>`: one way to run any service's web app.

    # pingvas_billing/__main__.py
    from pingvas_kit.serve import serve
    from .app import create_app
    from .settings import Settings

    if __name__ == "__main__":
        serve(Settings, create_app)

Settings come from the service's environment variables; logs are structlog's (uvicorn's
own logging and access log are off: the app's middleware logs and counts requests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from .logging import configure_logging
from .settings import BaseServiceSettings

S = TypeVar("S", bound=BaseServiceSettings)


def server_config(
    settings: S, create_app: Callable[[S], Any], *, proxy_headers: bool = True
) -> uvicorn.Config:
    """The uvicorn configuration `serve` runs; `proxy_headers=False` for a service that
    reads forwarded headers itself (uvicorn's own default believes any loopback peer)."""
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=proxy_headers,
    )


def serve(
    settings_type: type[S], create_app: Callable[[S], Any], *, proxy_headers: bool = True
) -> None:
    settings = settings_type()
    configure_logging(settings_type.service_name, level=settings.log_level, json=settings.log_json)
    uvicorn.Server(server_config(settings, create_app, proxy_headers=proxy_headers)).run()
