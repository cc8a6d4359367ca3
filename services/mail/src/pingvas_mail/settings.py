"""The mail service's settings: environment variables prefixed MAIL_ (e.g. MAIL_PORT)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MAIL_", extra="ignore")
    service_name: ClassVar[str] = "mail"

    port: int = 8104
