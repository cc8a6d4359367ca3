"""The gateway's settings: environment variables prefixed GATEWAY_ (e.g. GATEWAY_PORT).

GATEWAY_UPSTREAMS is JSON: {"tenants": "http://tenants:8101", ...}. Lists (GATEWAY_CORS_ORIGINS)
are JSON too: '["https://app.example.com"]'. Rate limits read "<count>/<second|minute|hour|day>"."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from pingvas_kit.settings import ServiceSettings, register_dev_secret

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

#: DEVELOPMENT ONLY (public; refused in production): the JWT secret tenants also defaults to
DEV_JWT_SECRET = register_dev_secret("dev-jwt-secret-change-me-0123456789abcdef")


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
    secret_settings: ClassVar[tuple[str, ...]] = ("internal_secret", "jwt_secret")

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
        SecretStr(DEV_JWT_SECRET),
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
    #: how long a verified (or refused) API key is remembered, keyed by its SHA-256: a
    #: revoked key, or a key of a deleted tenant, stops working within this time
    api_key_cache_ttl: int = Field(5, ge=1)
    #: how long tenants' answer on a person's session state (token version, membership) is
    #: current: a password reset, a removal from a team or a team's deletion ends the
    #: person's access tokens within this time (docs/identity.md, "Revocation")
    session_state_ttl: float = Field(5.0, ge=0)
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

    # -- abuse paths (docs/identity.md, "Limits at the edge")
    #: proxies (CIDRs, e.g. the load balancer's subnets) whose X-Forwarded-For / Forwarded /
    #: X-Forwarded-Proto are believed; from any other peer those headers count for nothing
    trusted_proxies: list[str] = Field(default_factory=list)
    #: which header the trusted proxies write the client chain into
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    #: TLS ends in front of the gateway (load balancer): send Strict-Transport-Security always
    tls_in_front: bool = False
    hsts_max_age: int = 365 * 24 * 3600
    #: log-in failures of one account (its normalised address, from any IP) before each
    #: further attempt waits; the wait starts at login_delay_initial seconds and doubles up to
    #: login_delay_max; a successful log-in clears it, and it is forgotten after
    #: login_failure_window seconds without an attempt
    login_failures_before_delay: int = Field(5, ge=1)
    login_delay_initial: float = Field(1.0, gt=0)
    login_delay_max: int = Field(300, ge=1)
    login_failure_window: int = Field(3600, ge=1)
    #: open event streams (SSE) at once, per tenant and per API key (per gateway replica)
    max_streams_per_tenant: int = Field(20, ge=1)
    max_streams_per_api_key: int = Field(10, ge=1)
    #: connections the event streams may hold to the services, all together: their own pool,
    #: apart from ordinary requests' (so streams never starve them)
    stream_pool_size: int = Field(256, ge=1)
    #: entries each in-process store (no Redis) keeps at most
    memory_store_max_entries: int = Field(100_000, ge=100)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr.strip(), strict=False)  # ValueError names the bad one
        return [cidr.strip() for cidr in value]

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        # the API is called with credentials (cookies): a wildcard would let any site in
        if any(origin.strip() == "*" for origin in value):
            raise ValueError(
                "GATEWAY_CORS_ORIGINS may not hold '*': credentials are allowed, so list the "
                "origins one by one"
            )
        return value
