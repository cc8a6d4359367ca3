"""Secrets and internal credentials (SECURITY.md): no service starts in production on a
missing or public secret, the shared PINGVAS_ variables reach every service, the GPU worker
holds no internal secret, and what the local run writes is its owner's alone."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from exo_support import ExoSettings

from pingvas_contracts import ServiceSpec
from pingvas_kit.dev.run import AwsTarget, local_secrets, service_env
from pingvas_kit.messaging import inbox_table, outbox_table
from pingvas_kit.service import ServiceRuntime
from pingvas_kit.settings import (
    DEV_INTERNAL_SECRET,
    InsecureSettings,
    ServiceSettings,
    private_file,
)

PRIVATE = "p" * 48


def test_production_is_the_default_and_refuses_the_development_secret(monkeypatch):
    monkeypatch.delenv("PINGVAS_ENVIRONMENT", raising=False)
    settings = ExoSettings()
    assert settings.environment == "production"
    with pytest.raises(InsecureSettings) as raised:
        settings.require_secrets()
    message = str(raised.value)
    assert "EXO_TEST_INTERNAL_SECRET (or PINGVAS_INTERNAL_SECRET)" in message
    assert "development value" in message
    assert DEV_INTERNAL_SECRET not in message
    assert raised.value.code != 0


@pytest.mark.parametrize(
    ("value", "why"), [("", "is not set"), ("short-but-private", "shorter than 32")]
)
def test_production_refuses_an_empty_or_short_secret(value, why):
    settings = ExoSettings(environment="production", internal_secret=value)
    with pytest.raises(InsecureSettings, match=why) as raised:
        settings.require_secrets()
    assert value not in str(raised.value) or not value


def test_production_refuses_the_default_broker_credentials():
    settings = ExoSettings(environment="production", internal_secret=PRIVATE, bus="amqp")
    with pytest.raises(InsecureSettings, match="guest:guest"):
        settings.require_secrets()
    ExoSettings(
        environment="production",
        internal_secret=PRIVATE,
        bus="amqp",
        amqp_url="amqp://pingvas:" + PRIVATE + "@mq/",
    ).require_secrets()


def test_an_optional_secret_is_checked_when_set():
    from pingvas_render.settings import Settings as Render
    from pingvas_render.worker.settings import DEV_WORKER_TOKEN

    Render(environment="production", internal_secret=PRIVATE).require_secrets()
    with pytest.raises(InsecureSettings, match="RENDER_WORKER_TOKEN is a development value"):
        Render(
            environment="production", internal_secret=PRIVATE, worker_token=DEV_WORKER_TOKEN
        ).require_secrets()


def test_production_starts_with_private_secrets():
    ExoSettings(environment="production", internal_secret=PRIVATE).require_secrets()


@pytest.mark.parametrize("environment", ["development", "test"])
def test_a_local_run_and_the_tests_may_use_the_development_secret(environment):
    settings = ExoSettings(environment=environment)
    assert settings.internal_secret.get_secret_value() == DEV_INTERNAL_SECRET
    settings.require_secrets()


def test_a_runtime_in_production_refuses_to_start(tmp_path):
    md = sa.MetaData()
    outbox_table(md)
    inbox_table(md)
    spec = ServiceSpec(name="quiet", context=None, description="no events")
    settings = ExoSettings(environment="production", var_dir=tmp_path)
    with pytest.raises(SystemExit):
        ServiceRuntime(spec, settings, metadata=md, migrations=None)


def test_the_shared_variables_reach_every_service_under_its_own(monkeypatch):
    monkeypatch.setenv("PINGVAS_INTERNAL_SECRET", "from-pingvas-" + PRIVATE)
    monkeypatch.setenv("PINGVAS_ENVIRONMENT", "development")
    settings = ExoSettings()
    assert settings.internal_secret.get_secret_value() == "from-pingvas-" + PRIVATE
    assert settings.environment == "development"
    # the service's own variable wins
    monkeypatch.setenv("EXO_TEST_INTERNAL_SECRET", "from-exo-" + PRIVATE)
    monkeypatch.setenv("EXO_TEST_ENVIRONMENT", "test")
    settings = ExoSettings()
    assert settings.internal_secret.get_secret_value() == "from-exo-" + PRIVATE
    assert settings.environment == "test"
    # only the shared settings: PINGVAS_PORT does not move every service
    monkeypatch.setenv("PINGVAS_PORT", "1234")
    assert ExoSettings().port == 8000


def test_every_service_reads_the_shared_internal_secret(monkeypatch):
    from pingvas_billing.settings import Settings as Billing
    from pingvas_gateway.settings import Settings as Gateway
    from pingvas_mail.settings import Settings as Mail
    from pingvas_render.settings import Settings as Render
    from pingvas_search.settings import Settings as Search
    from pingvas_tenants.settings import Settings as Tenants

    monkeypatch.setenv("PINGVAS_INTERNAL_SECRET", PRIVATE)
    monkeypatch.setenv("PINGVAS_JWT_SECRET", "j" * 48)
    for cls in (Billing, Gateway, Mail, Render, Search, Tenants):
        settings = cls(_env_file=None)
        assert settings.internal_secret.get_secret_value() == PRIVATE, cls.service_name
    # tenants signs access tokens with the secret the gateway verifies them with
    assert Tenants().jwt_secret.get_secret_value() == Gateway().jwt_secret.get_secret_value()


def test_the_worker_holds_no_internal_secret(monkeypatch):
    from pingvas_render.settings import Settings as Render
    from pingvas_render.worker.settings import WorkerSettings

    monkeypatch.setenv("PINGVAS_INTERNAL_SECRET", PRIVATE)
    monkeypatch.setenv("RENDER_WORKER_INTERNAL_SECRET", PRIVATE)
    assert "internal_secret" not in WorkerSettings.model_fields
    worker = WorkerSettings()
    assert not hasattr(worker, "internal_secret")
    assert not hasattr(worker, "derived_token")
    # in production it needs its own token, and refuses to start without it
    monkeypatch.delenv("PINGVAS_ENVIRONMENT", raising=False)
    with pytest.raises(InsecureSettings, match="RENDER_WORKER_WORKER_TOKEN is not set"):
        WorkerSettings().require_secrets()
    token = Render().worker_token_value()
    monkeypatch.setenv("RENDER_WORKER_WORKER_TOKEN", token)
    WorkerSettings().require_secrets()
    assert WorkerSettings().worker_token_value() == token


SERVICES = [
    ("pingvas_gateway", ["GATEWAY_INTERNAL_SECRET", "GATEWAY_JWT_SECRET"]),
    ("pingvas_tenants", ["TENANTS_INTERNAL_SECRET", "TENANTS_JWT_SECRET"]),
    ("pingvas_billing", ["BILLING_INTERNAL_SECRET", "BILLING_LEMONSQUEEZY_SIGNING_SECRET"]),
    ("pingvas_render", ["RENDER_INTERNAL_SECRET"]),
    ("pingvas_mail", ["MAIL_INTERNAL_SECRET"]),
    ("pingvas_search", ["SEARCH_INTERNAL_SECRET"]),
    ("pingvas_render.worker", ["RENDER_WORKER_WORKER_TOKEN"]),
]


@pytest.mark.parametrize(("module", "names"), SERVICES)
def test_a_service_started_in_production_without_its_secrets_exits(tmp_path, module, names):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_ENVIRONMENT", "_SECRET", "_TOKEN")) and "DATABASE_URL" not in k
    }
    prefix = names[0].split("_", 1)[0] + "_"
    if module.endswith(".worker"):
        prefix = "RENDER_WORKER_"
    env |= {prefix + "VAR_DIR": str(tmp_path), prefix + "PORT": "1"}
    # a public value set on purpose is refused like an unset one, and never printed
    env[prefix + "INTERNAL_SECRET"] = DEV_INTERNAL_SECRET
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=120
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "refusing to start in production" in output
    for name in names:
        assert name in output, output
    assert DEV_INTERNAL_SECRET not in output
    assert "Traceback" not in output
    assert not list(tmp_path.glob("*.db"))  # nothing was started


def _aws() -> AwsTarget:
    return AwsTarget("http://127.0.0.1:4566", "us-east-1", True, "moto")


def test_the_local_run_says_it_is_one_and_the_worker_gets_only_its_token(tmp_path):
    secrets = local_secrets(tmp_path)
    base = {**secrets, "PATH": "/bin", "RENDER_WORKER_INTERNAL_SECRET": "set by hand"}
    urls = {"render": "http://127.0.0.1:8103"}
    kw = dict(var_dir=tmp_path, aws=_aws(), urls=urls, log_level=None, log_json=False)
    render = service_env("render", base=base, port=8103, **kw)
    assert render["RENDER_ENVIRONMENT"] == "development"
    assert render["RENDER_INTERNAL_SECRET"] == secrets["PINGVAS_INTERNAL_SECRET"]
    worker = service_env("render-worker", base=base, port=8110, **kw)
    assert worker["RENDER_WORKER_ENVIRONMENT"] == "development"
    assert not [k for k in worker if k.endswith("_SECRET") and "AWS" not in k], sorted(worker)
    assert not [v for v in worker.values() if v in secrets.values()]
    expected = hmac.new(
        secrets["PINGVAS_INTERNAL_SECRET"].encode(), b"render-worker", hashlib.sha256
    ).hexdigest()
    assert worker["RENDER_WORKER_WORKER_TOKEN"] == expected
    # exactly what render checks
    from pingvas_render.settings import Settings as Render

    assert Render(internal_secret=render["RENDER_INTERNAL_SECRET"]).worker_token_value() == expected
    # a token set for render explicitly is the worker's too
    mine = service_env(
        "render-worker", base={**base, "RENDER_WORKER_TOKEN": "t" * 40}, port=1, **kw
    )
    assert mine["RENDER_WORKER_WORKER_TOKEN"] == "t" * 40


def test_the_local_run_gives_each_service_only_the_secrets_it_uses(tmp_path):
    secrets = local_secrets(tmp_path)
    kw = dict(var_dir=tmp_path, aws=_aws(), urls={}, log_level=None, log_json=False)
    envs = {
        name: service_env(name, base={**secrets, "PATH": "/bin"}, port=1, **kw)
        for name in ("gateway", "tenants", "billing", "render", "mail", "search")
    }
    jwt = secrets["PINGVAS_JWT_SECRET"]
    signing = secrets["PINGVAS_LEMONSQUEEZY_SIGNING_SECRET"]
    for name, env in envs.items():
        assert (jwt in env.values()) == (name in ("gateway", "tenants")), name
        assert (signing in env.values()) == (name == "billing"), name
        assert env[name.upper() + "_INTERNAL_SECRET"] == secrets["PINGVAS_INTERNAL_SECRET"]
    assert envs["tenants"]["TENANTS_JWT_SECRET"] == envs["gateway"]["GATEWAY_JWT_SECRET"] == jwt
    assert envs["billing"]["BILLING_LEMONSQUEEZY_SIGNING_SECRET"] == signing


# -- local files: the owner's alone ------------------------------------------------------------


def test_local_secrets_made_private_even_when_the_file_was_not(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    (var / "secrets.json").write_text(json.dumps({"PINGVAS_INTERNAL_SECRET": "x"}))
    (var / "secrets.json").chmod(0o644)
    local_secrets(var)
    assert (var / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert var.stat().st_mode & 0o777 == 0o700


def test_a_local_database_is_private(tmp_path):
    var = tmp_path / "fresh" / "var"
    url = ServiceSettings(var_dir=var).sqlalchemy_url()
    db = Path(url.removeprefix("sqlite+aiosqlite:///"))
    assert db.stat().st_mode & 0o777 == 0o600
    assert var.stat().st_mode & 0o777 == 0o700
    db.chmod(0o644)
    ServiceSettings(var_dir=var).sqlalchemy_url()
    assert db.stat().st_mode & 0o777 == 0o600


def test_a_log_file_is_private(tmp_path):
    from pingvas_kit.dev.run import _open_log

    with _open_log(tmp_path / "log" / "x.log") as log:
        log.write(b"line\n")
    assert (tmp_path / "log" / "x.log").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "log").stat().st_mode & 0o777 == 0o700
    path = private_file(tmp_path / "other.log")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_shared_directory_is_refused_as_a_private_one_and_left_as_it_was(tmp_path: Path):
    """var_dir=/tmp (or any sticky, shared directory) would be narrowed to 0700 and lock
    every other user out of it (Postgres's own user, for one): it is refused instead."""
    from pingvas_kit.settings import private_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with pytest.raises(ValueError, match="shared directory"):
        private_dir(shared)
    assert shared.stat().st_mode & 0o7777 == 0o1777
    mine = private_dir(tmp_path / "mine")
    assert mine.stat().st_mode & 0o777 == 0o700
