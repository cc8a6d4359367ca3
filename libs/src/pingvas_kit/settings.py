"""Settings: pydantic-settings, one environment prefix per service (e.g. BILLING_DATABASE_URL)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service reads. A service subclasses it and sets its own env prefix:

    class BillingSettings(ServiceSettings):
        service_name: ClassVar[str] = "billing"
        model_config = SettingsConfigDict(env_prefix="BILLING_")
    """

    model_config = SettingsConfigDict(env_prefix="PINGVAS_", extra="ignore")
    service_name: ClassVar[str] = "service"

    # -- storage: a SQLite file under var_dir unless DATABASE_URL names Postgres
    var_dir: Path = Path("var")
    database_url: SecretStr | None = None
    #: Postgres schema this service owns (default: its name)
    db_schema: str | None = None
    run_migrations: bool = True

    # -- bus
    bus: Literal["sqs", "amqp"] = "sqs"
    #: prefix of every topic, queue and exchange name; tests use a unique one
    bus_prefix: str = "pingvas"
    aws_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    #: SQS long-poll wait (seconds); AWS allows 0..20
    bus_wait_seconds: int = 20
    bus_visibility_timeout: int = 30
    bus_max_receive_count: int = 5
    run_consumers: bool = True
    run_relay: bool = True
    relay_batch_size: int = 100
    relay_poll_interval: float = 0.2

    # -- identity: the gateway signs, services verify (shared by gateway and services only)
    internal_secret: SecretStr = SecretStr("dev-internal-secret-change-me-0123456789")

    # -- http
    host: str = "127.0.0.1"
    port: int = 8000

    # -- logs
    log_level: str = "INFO"
    log_json: bool = True

    def derived_token(self, purpose: str) -> str:
        """A bearer token between two services that share the internal secret, for one
        purpose ("render-worker", "render-export"): HMAC-SHA256 of the secret over the
        purpose, hex. Both sides derive the same value; neither stores it."""
        secret = self.internal_secret.get_secret_value().encode()
        return hmac.new(secret, purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def schema_name(self) -> str:
        return self.db_schema or self.service_name

    @property
    def is_postgres(self) -> bool:
        return self.database_url is not None and self.database_url.get_secret_value().startswith(
            ("postgres://", "postgresql")
        )

    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL: asyncpg for Postgres, aiosqlite for the default file."""
        if self.database_url is None:
            self.var_dir.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{(self.var_dir / f'{self.service_name}.db').resolve()}"
        url = self.database_url.get_secret_value()
        for prefix in (
            "postgres://",
            "postgresql://",
            "postgresql+psycopg://",
            "postgresql+psycopg2://",
        ):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url


def with_local_secret(settings: ServiceSettings, *env_keys: str) -> ServiceSettings:
    """For a service's command line run beside the local run: when none of `env_keys` is
    set, the internal secret the local run made (<var_dir>/secrets.json), so what the
    command signs matches what the running services check."""
    import json
    import os

    if any(os.environ.get(key) for key in env_keys):
        return settings
    try:
        saved = json.loads((settings.var_dir / "secrets.json").read_text())
    except (OSError, ValueError):
        return settings
    secret = saved.get("PINGVAS_INTERNAL_SECRET") if isinstance(saved, dict) else None
    if not secret:
        return settings
    return settings.model_copy(update={"internal_secret": SecretStr(str(secret))})
