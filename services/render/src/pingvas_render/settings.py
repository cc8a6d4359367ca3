"""The render service's settings: environment variables prefixed RENDER_ (e.g. RENDER_PORT)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RENDER_", extra="ignore")
    service_name: ClassVar[str] = "render"

    port: int = 8103
