"""The search service's settings: environment variables prefixed SEARCH_ (e.g. SEARCH_PORT)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SEARCH_", extra="ignore")
    service_name: ClassVar[str] = "search"

    port: int = 8105
