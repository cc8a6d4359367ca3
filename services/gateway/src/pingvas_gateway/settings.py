"""The gateway's settings: environment variables prefixed GATEWAY_ (e.g. GATEWAY_PORT).

GATEWAY_UPSTREAMS is JSON: {"tenants": "http://tenants:8101", ...}."""

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings

DEFAULT_UPSTREAMS = {
    "tenants": "http://127.0.0.1:8101",
    "billing": "http://127.0.0.1:8102",
    "render": "http://127.0.0.1:8103",
    "mail": "http://127.0.0.1:8104",
    "search": "http://127.0.0.1:8105",
}


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")
    service_name: ClassVar[str] = "gateway"

    port: int = 8080
    #: service name -> base URL of that service's HTTP API
    upstreams: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    #: how long an upstream's /healthz may take before it counts as down
    upstream_health_timeout: float = 1.0
