"""`python -m pingvas_gateway`: run the gateway (settings from GATEWAY_* variables)."""

from pingvas_kit.serve import serve

from .app import create_app
from .settings import Settings

if __name__ == "__main__":
    # the gateway reads forwarded headers itself, from GATEWAY_TRUSTED_PROXIES only
    serve(Settings, create_app, proxy_headers=False)
