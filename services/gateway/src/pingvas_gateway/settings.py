"""The gateway's settings: environment variables prefixed GATEWAY_ (e.g. GATEWAY_PORT).

GATEWAY_UPSTREAMS is JSON: {"tenants": "http://tenants:8101", ...}. Lists (GATEWAY_CORS_ORIGINS)
are JSON too: '["https://app.example.com"]'. Rate limits read "<count>/<second|minute|hour|day>"."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings

DEFAULT_UPSTREAMS = {
    "tenants": "http://127.0.0.1:8101",
    "billing": "http://127.0.0.1:8102",
    "render": "http://127.0.0.1:8103",
    "mail": "http://127.0.0.1:8104",
    "search": "http://127.0.0.1:8105",
}

Unit = Literal["second", "minute", "hour", "day"]
_UNITS = ("second", "minute", "hour", "day")

#: services/gateway/src/pingvas_gateway/settings.py -> the repository root (editable install)
_REPO_ROOT = Path(__file__).resolve().parents[4]


def parse_rate(value: str) -> tuple[Unit, int]:
    """'600/minute' -> ('minute', 600), the shape Litestar's RateLimitConfig takes."""
    count, _, unit = value.partition("/")
    unit = unit.strip() or "minute"
    if unit not in _UNITS or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"a rate limit reads '<count>/<{'|'.join(_UNITS)}>', not {value!r}")
    return unit, int(count)  # type: ignore[return-value]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)
    service_name: ClassVar[str] = "gateway"

    port: int = 8080
    #: service name -> base URL of that service's HTTP API
    upstreams: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    #: how long an upstream's /healthz may take before it counts as down
    upstream_health_timeout: float = 1.0
    #: how long a proxied request may wait for its upstream (then 504)
    upstream_timeout: float = 30.0
    #: origins besides https ones that the SPA may show images from (presigned storage
    #: URLs); an http AWS endpoint (the local emulator) is added by itself
    media_origins: list[str] = Field(default_factory=list)

    def image_origins(self) -> list[str]:
        origins = list(self.media_origins)
        endpoint = self.aws_endpoint_url or ""
        if endpoint.startswith("http://"):
            origins.append(endpoint.rstrip("/"))
        return origins

    # -- authentication
    #: verifies the access tokens tenants issues (HS256); the runner passes PINGVAS_JWT_SECRET
    jwt_secret: SecretStr = Field(
        SecretStr("dev-jwt-secret-change-me-0123456789abcdef"),
        validation_alias=AliasChoices("GATEWAY_JWT_SECRET", "PINGVAS_JWT_SECRET"),
    )
    jwt_issuer: str = "pingvas"
    jwt_audience: str = "pingvas-api"
    #: seconds of clock skew tolerated on exp/iat (tenants may run on another node)
    jwt_leeway: int = 5
    #: the access token's lifetime: how long a logged-out session stays deny-listed at most
    access_token_ttl: int = 15 * 60
    #: max-age of the pv_rt cookie (the refresh token's lifetime)
    refresh_token_ttl: int = 30 * 24 * 3600
    #: how long a verified (or refused) API key is remembered, keyed by its SHA-256
    api_key_cache_ttl: int = 30
    #: "auto": Secure cookies unless the request came over http to 127.0.0.1 / localhost
    cookie_secure: Literal["auto", "always", "never"] = "auto"

    #: rate-limit counters, the session deny list and the API-key cache; in process when unset
    redis_url: SecretStr | None = None

    # -- rate limits, "<count>/<unit>"
    rate_limit_tenant: str = "1200/minute"
    rate_limit_api_key: str = "600/minute"
    rate_limit_anonymous: str = "120/minute"
    #: per client IP and e-mail address
    rate_limit_login: str = "10/minute"
    #: per client IP, password-reset requests and confirmations together
    rate_limit_password_reset: str = "5/minute"

    # -- the edge
    #: origins allowed to call the API from a browser (CORS); none by default (same origin)
    cors_origins: list[str] = Field(default_factory=list)
    #: request bodies above this many bytes are refused with 413
    max_body_size: int = 1024 * 1024
    #: the built SPA (index.html + assets); default: the repository's web/dist
    web_dist: Path | None = None

    # -- the local run
    #: GET /dev/mail and /dev/mail/... go to the mail service's dev inbox, with no log-in
    #: (pingvas-dev up sets it, with MAIL_DEV_INBOX); never in production
    dev_mail: bool = False

    @field_validator(
        "rate_limit_tenant",
        "rate_limit_api_key",
        "rate_limit_anonymous",
        "rate_limit_login",
        "rate_limit_password_reset",
    )
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    def spa_dir(self) -> Path:
        return self.web_dist if self.web_dist is not None else _REPO_ROOT / "web" / "dist"
