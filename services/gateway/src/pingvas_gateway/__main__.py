"""`python -m pingvas_gateway`: run the gateway (settings from GATEWAY_* variables)."""

import uvicorn

from pingvas_kit.logging import configure_logging

from .app import create_app
from .settings import Settings


def server_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the structlog set-up
        access_log=False,
        # the gateway reads forwarded headers itself, from GATEWAY_TRUSTED_PROXIES only
        # (uvicorn's own default believes any loopback peer)
        proxy_headers=False,
    )


def main() -> None:
    settings = Settings()
    configure_logging(Settings.service_name, level=settings.log_level, json=settings.log_json)
    uvicorn.Server(server_config(settings)).run()


if __name__ == "__main__":
    main()
