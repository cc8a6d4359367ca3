"""Settings: pydantic-settings, one environment prefix per service (e.g. BILLING_DATABASE_URL).

Secrets (SECURITY.md, docs/identity.md): a service runs in `production` unless told
otherwise (PINGVAS_ENVIRONMENT or <SVC>_ENVIRONMENT = development | test; the local run and
the test harness say so). In production it refuses to start while a secret is unset, is a
value written in this repository, or is too short (`require_secrets`). A few settings are
shared by every service (`SHARED_SETTINGS`): each reads <SVC>_X, else PINGVAS_X."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

Environment = Literal["production", "development", "test"]

#: DEVELOPMENT ONLY: public values (they are in this repository). Accepted only outside
#: production, where they stand in for a secret nobody set.
DEV_INTERNAL_SECRET = "dev-internal-secret-change-me-0123456789"
DEV_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
#: every development value of a secret written in the repository; a service module adds
#: its own (tenants' and the gateway's JWT secret, billing's signing secret)
KNOWN_DEV_SECRETS: set[str] = {DEV_INTERNAL_SECRET}
#: a production secret is at least this long (an HMAC-SHA256 key: 32 bytes)
MIN_SECRET_LENGTH = 32
#: settings every service also reads from PINGVAS_<NAME> when its own variable is unset
SHARED_SETTINGS = ("environment", "internal_secret", "bus_provision")


def register_dev_secret(value: str) -> str:
    """Record a development default as public (refused in production); returns it."""
    KNOWN_DEV_SECRETS.add(value)
    return value


class InsecureSettings(SystemExit):
    """Raised at start-up in production when a secret is missing or public. A SystemExit:
    the process ends with status 1 and this message, without a traceback. The message names
    the variables, never a value."""

    def __init__(self, service: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{service}: refusing to start in production without its secrets:\n{lines}\n"
            "Set them from the secret store (SECURITY.md). A local run or a test sets "
            "PINGVAS_ENVIRONMENT=development or test instead."
        )


class _SharedEnvSource(PydanticBaseSettingsSource):
    """PINGVAS_<NAME> for the shared settings, below the service's own variables."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        shared = getattr(self.settings_cls, "shared_settings", SHARED_SETTINGS)
        values: dict[str, Any] = {}
        for name in shared:
            if name not in self.settings_cls.model_fields:
                continue
            value = os.environ.get(f"PINGVAS_{name.upper()}")
            if value:
                values[name] = value
        return values


class BaseServiceSettings(BaseSettings):
    """What every process reads, the GPU worker included; it holds no internal secret.
    A service subclasses `ServiceSettings`, which adds it."""

    model_config = SettingsConfigDict(env_prefix="PINGVAS_", extra="ignore")
    service_name: ClassVar[str] = "service"
    shared_settings: ClassVar[tuple[str, ...]] = SHARED_SETTINGS
    #: the secret settings `require_secrets` checks in production
    secret_settings: ClassVar[tuple[str, ...]] = ()
    #: secrets with a derived default: checked likewise when set
    optional_secret_settings: ClassVar[tuple[str, ...]] = ()

    #: production (the default) refuses public or missing secrets; development (the local
    #: run) and test (the test harness) accept the development defaults
    environment: Environment = "production"
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
    amqp_url: SecretStr = SecretStr(DEV_AMQP_URL)
    #: SQS long-poll wait (seconds); AWS allows 0..20
    bus_wait_seconds: int = 20
    bus_visibility_timeout: int = 30
    bus_max_receive_count: int = 5
    #: TEST ONLY (the fault suite, tests/faults/): publish every event this many times, so
    #: that every consumer receives each one more than once; 1 (the default) is off
    bus_publish_copies: int = Field(default=1, ge=1, le=5)
    #: create or update this service's topics, queues and subscriptions at start-up (local
    #: run, tests); false on AWS, where Terraform owns them and no role may change them
    bus_provision: bool = True
    run_consumers: bool = True
    run_relay: bool = True
    #: outbox rows per relay round: published as concurrent PublishBatch calls of 10
    relay_batch_size: int = 500
    relay_poll_interval: float = 0.2

    # -- http
    host: str = "127.0.0.1"
    port: int = 8000

    # -- logs
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the service's own variables first, then the shared PINGVAS_ ones
        return (
            init_settings,
            env_settings,
            _SharedEnvSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _no_test_faults_in_production(self) -> BaseServiceSettings:
        if self.environment == "production" and self.bus_publish_copies != 1:
            raise ValueError("bus_publish_copies is for the fault suite; production publishes once")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def env_names(self, field: str) -> str:
        """The variable(s) that set `field`, for messages: 'BILLING_X (or PINGVAS_X)'."""
        info = type(self).model_fields[field]
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            return " or ".join(str(c) for c in choices)
        prefix = str(self.model_config.get("env_prefix", ""))
        name = f"{prefix}{field.upper()}"
        if field in self.shared_settings and prefix != "PINGVAS_":
            name += f" (or PINGVAS_{field.upper()})"
        return name

    def secret_problems(self) -> list[str]:
        """What keeps these settings from production, one line per variable (no values)."""
        problems = []
        optional = tuple(f for f in self.optional_secret_settings if getattr(self, f) is not None)
        for field in (*self.secret_settings, *optional):
            value = getattr(self, field)
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            name = self.env_names(field)
            if not raw:
                problems.append(f"{name} is not set")
            elif raw in KNOWN_DEV_SECRETS:
                problems.append(f"{name} is a development value written in the source")
            elif len(raw) < MIN_SECRET_LENGTH:
                problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
        if self.bus == "amqp" and self.amqp_url.get_secret_value() == DEV_AMQP_URL:
            problems.append(
                f"{self.env_names('amqp_url')} is the development default (guest:guest)"
            )
        return problems

    def require_secrets(self) -> None:
        """At start-up: in production, InsecureSettings (exit 1, a message naming each
        variable) unless every secret is set and private. Outside production, nothing."""
        if not self.is_production:
            return
        problems = self.secret_problems()
        if problems:
            from .logging import get_logger

            get_logger("pingvas.settings").error(
                "settings.insecure", variables=[p.split(" ", 1)[0] for p in problems]
            )
            raise InsecureSettings(self.service_name, problems)

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
            path = private_file(self.var_dir / f"{self.service_name}.db")
            return f"sqlite+aiosqlite:///{path.resolve()}"
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


class ServiceSettings(BaseServiceSettings):
    """What every service reads. A service subclasses it and sets its own env prefix:

    class BillingSettings(ServiceSettings):
        service_name: ClassVar[str] = "billing"
        model_config = SettingsConfigDict(env_prefix="BILLING_")
    """

    secret_settings: ClassVar[tuple[str, ...]] = ("internal_secret",)

    # -- identity: the gateway signs, services verify (shared by gateway and services only;
    # never the GPU worker). <SVC>_INTERNAL_SECRET, else PINGVAS_INTERNAL_SECRET.
    internal_secret: SecretStr = SecretStr(DEV_INTERNAL_SECRET)

    def derived_token(self, purpose: str) -> str:
        """A bearer token between two services that share the internal secret, for one
        purpose ("render-worker", "render-export"): HMAC-SHA256 of the secret over the
        purpose, hex. Both sides derive the same value; neither stores it."""
        return derive_token(self.internal_secret.get_secret_value(), purpose)


def derive_token(secret: str, purpose: str) -> str:
    """HMAC-SHA256(secret, purpose), hex: what `derived_token` and the local run compute."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can read (made if missing, narrowed if not)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode
    if mode & stat.S_ISVTX:
        # a shared directory such as /tmp: narrowing it would lock everyone else out
        raise ValueError(f"{path} is a shared directory (sticky bit); use a directory of its own")
    if mode & 0o077:
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read and write (created empty if missing), in a
    private directory: local SQLite databases, logs, secrets."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return path


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
