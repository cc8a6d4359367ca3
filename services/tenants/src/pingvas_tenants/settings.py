"""The tenants service's settings: environment variables prefixed TENANTS_ (e.g. TENANTS_PORT)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTS_", extra="ignore")
    service_name: ClassVar[str] = "tenants"

    port: int = 8101
