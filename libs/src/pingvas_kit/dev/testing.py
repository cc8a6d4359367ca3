"""pytest plugin shared by every package's tests: the real servers they run against.

- `moto_endpoint`: moto's server, started on a free loopback port for the session
  (the same HTTP API as AWS and LocalStack; never the in-process mock decorators).
- `postgres_url` / `amqp_url`: the machine's PostgreSQL and RabbitMQ. They are required:
  a test that needs them fails loudly when they are down (CI starts them).
- `bus_prefix`: a unique prefix so tests never share queues.
- `db_backend`: parametrise a test over SQLite and Postgres with `@pytest.mark.parametrize(
  "db_backend", ["sqlite", "postgres"], indirect=True)`; yields settings overrides with a
  fresh SQLite file or a fresh Postgres schema (dropped afterwards)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..ports import free_port, wait_for_port
from .emulator import start_moto_server

__all__ = ["free_port", "start_moto_server", "wait_for_port"]

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def pytest_configure(config: pytest.Config) -> None:
    # the services' test mode, said explicitly: the development defaults of the secrets
    # are accepted (a service in production refuses them); a test of production mode
    # removes or overrides it for its own process
    os.environ.setdefault("PINGVAS_ENVIRONMENT", "test")


@pytest.fixture(scope="session", autouse=True)
def _aws_test_credentials() -> Iterator[None]:
    # fake credentials for the emulator, so nothing ever reaches a real account
    keys = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    old = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = start_moto_server(port, tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _require_tcp(url_env: str, default: str, host: str, port: int, what: str) -> str:
    url = os.environ.get(url_env, default)
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        pytest.fail(f"{what} is not reachable at {host}:{port} ({exc}); start it (see .ci/run)")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _require_tcp(
        "PINGVAS_TEST_POSTGRES_URL", DEFAULT_POSTGRES, "127.0.0.1", 5432, "PostgreSQL"
    )


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return _require_tcp("PINGVAS_TEST_AMQP_URL", DEFAULT_AMQP, "127.0.0.1", 5672, "RabbitMQ")


@pytest.fixture
def bus_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
def db_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Settings overrides for one database backend: {'var_dir': ..., 'database_url': ...,
    'db_schema': ...}. Parametrise indirectly with 'sqlite' or 'postgres'."""
    backend = getattr(request, "param", "sqlite")
    schema = f"test_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        yield {"var_dir": tmp_path, "database_url": None, "db_schema": schema, "backend": "sqlite"}
        return
    url = request.getfixturevalue("postgres_url")
    yield {"var_dir": tmp_path, "database_url": url, "db_schema": schema, "backend": "postgres"}
    asyncio.run(_drop_schema(url, schema))


@dataclass
class ServiceHandle:
    """A running service as a test helper wraps it (`services/conftest.py`'s run_service
    gives the `service`): its client, settings, runtime and database, one way for all."""

    service: Any

    @property
    def app(self) -> Any:
        return self.service.app

    @property
    def client(self) -> Any:
        return self.service.client

    @property
    def settings(self) -> Any:
        return self.service.settings

    @property
    def runtime(self) -> Any:
        return self.service.runtime

    @property
    def db(self) -> Any:
        return self.runtime.db
