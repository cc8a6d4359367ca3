"""The billing service's settings: environment variables prefixed BILLING_ (e.g. BILLING_PORT)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")
    service_name: ClassVar[str] = "billing"

    port: int = 8102
