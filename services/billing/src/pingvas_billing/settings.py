"""The billing service's settings: environment variables prefixed BILLING_ (e.g. BILLING_PORT).
What each means: docs/billing.md, "Settings"."""

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings, register_dev_secret

#: DEVELOPMENT ONLY (public; refused in production)
DEV_SIGNING_SECRET = register_dev_secret("dev-lemonsqueezy-signing-secret-change-me")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore", populate_by_name=True)
    service_name: ClassVar[str] = "billing"
    secret_settings: ClassVar[tuple[str, ...]] = ("internal_secret", "lemonsqueezy_signing_secret")
    optional_secret_settings: ClassVar[tuple[str, ...]] = ("lemonsqueezy_api_key",)

    port: int = 8102
    #: where links in checkouts and mails point (the gateway's public URL)
    public_url: str = "http://127.0.0.1:8080"
    #: plans.toml next to the package unless set
    plans_file: Path | None = None

    # -- Lemon Squeezy
    lemonsqueezy_api_url: str = "https://api.lemonsqueezy.com"
    lemonsqueezy_api_key: SecretStr | None = None
    lemonsqueezy_store_id: str | None = None
    #: the webhook signing secret; the local run makes one (var/secrets.json)
    lemonsqueezy_signing_secret: SecretStr = Field(
        SecretStr(DEV_SIGNING_SECRET),
        validation_alias=AliasChoices(
            "BILLING_LEMONSQUEEZY_SIGNING_SECRET", "PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"
        ),
    )
    #: the store's mode: events of the other mode are recorded and ignored
    lemonsqueezy_test_mode: bool = True
    lemonsqueezy_timeout_s: float = 10.0

    # -- processing
    #: past due this long: entitlements fall to the free plan's
    grace_period_s: float = 3 * 24 * 3600
    #: the webhook processor's and the sweeps' poll
    process_interval_s: float = 0.5
    #: a webhook event that fails this many times is left for an operator
    max_webhook_attempts: int = 5
