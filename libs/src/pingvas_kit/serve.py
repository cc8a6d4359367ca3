"""`python -m pingvas_<service>`: one way to run any service's web app.

    # pingvas_billing/__main__.py
    from pingvas_kit.serve import serve
    from .app import create_app
    from .settings import Settings

    if __name__ == "__main__":
        serve(Settings, create_app)

`python -m pingvas_<service> migrate` migrates the service's schema to head and exits
(the deploy's migration Job), instead of serving.

Settings come from the service's environment variables; logs are structlog's (uvicorn's
own logging and access log are off: the app's middleware logs and counts requests)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import uvicorn

from .logging import configure_logging
from .settings import BaseServiceSettings
from .telemetry import configure as configure_telemetry

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
    settings_type: type[S],
    create_app: Callable[[S], Any],
    *,
    proxy_headers: bool = True,
    argv: Sequence[str] | None = None,
) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in ([], ["migrate"]):
        print(f"usage: python -m pingvas_{settings_type.service_name} [migrate]", file=sys.stderr)
        raise SystemExit(2)
    settings = settings_type()
    configure_logging(settings_type.service_name, level=settings.log_level, json=settings.log_json)
    # before the app is made: its instrumentation depends on whether spans are sent
    configure_telemetry(settings_type.service_name)
    if args == ["migrate"]:
        runtime = create_app(settings).state.runtime
        asyncio.run(runtime.migrate())
        return
    uvicorn.Server(server_config(settings, create_app, proxy_headers=proxy_headers)).run()
