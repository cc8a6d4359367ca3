"""`python -m pingvas_gateway`: run the gateway (settings from GATEWAY_* variables)."""

import uvicorn

from pingvas_kit.logging import configure_logging

from .app import create_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(Settings.service_name, level=settings.log_level, json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the structlog set-up above
        access_log=False,
    )


if __name__ == "__main__":
    main()
