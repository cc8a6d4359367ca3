"""The tenants service's settings: environment variables prefixed TENANTS_ (e.g. TENANTS_PORT)."""

from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings, register_dev_secret

from .domain.webhooks import RETRY_SCHEDULE

#: DEVELOPMENT ONLY. `./pingvas up` passes a generated secret; production takes it from the
#: cluster's secret store and refuses to start with this value (it is public).
DEV_JWT_SECRET = register_dev_secret("dev-jwt-secret-change-me-0123456789abcdef")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TENANTS_", extra="ignore", populate_by_name=True)
    service_name: ClassVar[str] = "tenants"
    secret_settings: ClassVar[tuple[str, ...]] = ("internal_secret", "jwt_secret")

    port: int = 8101

    #: signs the public access tokens (HS256); the gateway verifies them with the same secret
    #: (TENANTS_JWT_SECRET, else PINGVAS_JWT_SECRET, as the gateway reads it)
    jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET),
        validation_alias=AliasChoices("TENANTS_JWT_SECRET", "PINGVAS_JWT_SECRET"),
    )
    #: where people reach Pingvas: the base of links in verification, reset and invitation mail
    public_url: str = "http://127.0.0.1:8080"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    verification_ttl: int = 48 * 3600
    password_reset_ttl: int = 3600
    invitation_ttl: int = 7 * 24 * 3600

    #: argon2id cost (argon2-cffi's defaults, RFC 9106's low-memory profile)
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    # -- partner webhooks (docs/webhooks.md)
    #: where the public objects of render's and billing's events are read (their own API,
    #: with an identity minted for the tenant: the payload is what GET returns)
    render_url: str = "http://127.0.0.1:8103"
    billing_url: str = "http://127.0.0.1:8102"
    #: send to loopback and private addresses: the local run and the tests only (its
    #: receivers run on 127.0.0.1); refused in production
    webhook_allow_private: bool = False
    #: seconds to wait for a receiver's answer
    webhook_timeout: float = 15.0
    #: seconds between attempts after the first (8 attempts, about 27.5 hours)
    webhook_retry_schedule: tuple[float, ...] = RETRY_SCHEDULE
    webhook_poll_interval: float = 1.0
    #: deliveries a replica sends at once
    webhook_concurrency: int = Field(16, ge=1, le=256)
    run_webhook_sender: bool = True
    #: the delivery log keeps finished deliveries this long
    webhook_log_retention_days: int = Field(30, ge=1)

    @model_validator(mode="after")
    def _no_private_webhooks_in_production(self) -> "Settings":
        if self.is_production and self.webhook_allow_private:
            raise ValueError(
                "TENANTS_WEBHOOK_ALLOW_PRIVATE=true is for the local run only: production "
                "never sends webhooks to loopback or private addresses"
            )
        return self

    @property
    def webhook_require_https(self) -> bool:
        return self.is_production
