"""What each child process is given: its settings, the run's secrets, the AWS endpoint.

A service gets only the secrets it uses (SECRET_HOLDERS); a worker none, only its bearer
token. A PREFIX+X already in the environment wins, except PORT, HOST and VAR_DIR, which
the runner owns. The emulator's fake credentials replace the developer's, never mix."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..settings import derive_token, private_dir, private_file
from ._services import GATEWAY

#: long-poll wait given to services unless set: short, so a stop never waits long
DEV_BUS_WAIT_SECONDS = "5"


@dataclass(frozen=True)
class AwsTarget:
    #: None: the AWS SDK's own endpoints (real AWS)
    endpoint_url: str | None
    region: str
    #: give the children fake credentials (the emulator; never a real account)
    fake_credentials: bool
    description: str


#: what var/secrets.json holds
LOCAL_SECRETS = (
    "PINGVAS_INTERNAL_SECRET",
    "PINGVAS_JWT_SECRET",
    "PINGVAS_LEMONSQUEEZY_SIGNING_SECRET",
)
#: the run's secrets that only some services use: the others never get them
SECRET_HOLDERS = {
    "JWT_SECRET": ("gateway", "tenants"),
    "LEMONSQUEEZY_SIGNING_SECRET": ("billing",),
}
#: variables a worker never gets, whoever's they are
_SECRET_SUFFIXES = ("_INTERNAL_SECRET", "_JWT_SECRET", "_SIGNING_SECRET", "_UNSUBSCRIBE_SECRET")


def local_secrets(var_dir: Path) -> dict[str, str]:
    """The local run's signing secrets, made once per var dir (var/secrets.json, mode 600)
    and reused, so sessions survive a restart. Given as PINGVAS_* defaults: a value set in
    the environment wins."""
    import secrets

    path = var_dir / "secrets.json"
    private_dir(var_dir)
    if path.exists():
        private_file(path)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    # the Lemon Squeezy one reaches billing as BILLING_LEMONSQUEEZY_SIGNING_SECRET, and
    # `pingvas-billing simulate-webhook` reads it from here to sign its sample webhooks
    wanted = set(LOCAL_SECRETS)
    if not wanted <= saved.keys():
        # hex: a url-safe token may start with '-', which a command line reads as an option
        saved = {key: saved.get(key) or secrets.token_hex(48) for key in sorted(wanted)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(saved, f)
    return saved


def service_env(
    name: str,
    *,
    base: Mapping[str, str],
    port: int,
    var_dir: Path,
    aws: AwsTarget,
    urls: Mapping[str, str],
    log_level: str | None,
    log_json: bool,
) -> dict[str, str]:
    """The environment of one service process (see the module docstring for the rules)."""

    prefix = name.upper().replace("-", "_") + "_"
    # every PINGVAS_X of the environment, as X ...
    values = {
        key[len("PINGVAS_") :]: value
        for key, value in base.items()
        if key.startswith("PINGVAS_") and len(key) > len("PINGVAS_")
    }
    # ... over the local-run defaults ...
    defaults = {
        "LOG_JSON": "false",
        "LOG_LEVEL": "INFO",
        "BUS": "sqs",
        "BUS_PREFIX": "pingvas",
        "BUS_WAIT_SECONDS": DEV_BUS_WAIT_SECONDS,
        "AWS_REGION": aws.region,
        # render: the local model folder and the tiny test model on every plan
        "MODELS_DIR": str(var_dir / "models"),
        "TEST_MODELS": "true",
        # mail: capture messages in the dev inbox, which the gateway shows at /dev/mail
        # (GATEWAY_DEV_MAIL, MAIL_DEV_INBOX; every other service ignores its copy)
        "DEV_MAIL": "true",
        "DEV_INBOX": "true",
        # a local run: the services accept its generated secrets (never in production)
        "ENVIRONMENT": "development",
        # ... and send webhooks to receivers on this machine (tenants, render; production
        # refuses loopback and private addresses)
        "WEBHOOK_ALLOW_PRIVATE": "true",
    }
    if base.get("DATABASE_URL"):
        defaults["DATABASE_URL"] = base["DATABASE_URL"]
    for key, value in defaults.items():
        values.setdefault(key, value)
    # ... and under what this run decided: its options, its emulator, its ports
    if log_level:
        values["LOG_LEVEL"] = log_level
    if log_json:
        values["LOG_JSON"] = "true"
    if aws.endpoint_url:
        values["AWS_ENDPOINT_URL"] = aws.endpoint_url
    if aws.fake_credentials:
        values |= {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    if GATEWAY in urls:
        values["PUBLIC_URL"] = urls[GATEWAY]
    service = name.split("-", 1)[0]
    if name != service and service in urls:
        # a worker: where its service answers (e.g. RENDER_WORKER_RENDER_URL)
        values[service.upper() + "_URL"] = urls[service]
    elif name == service:
        # a service: where the others answer (tenants reads render's and billing's public
        # objects for webhook payloads: TENANTS_RENDER_URL, TENANTS_BILLING_URL)
        for other, url in urls.items():
            if other not in (name, GATEWAY) and "-" not in other:
                values[other.upper() + "_URL"] = url
    if name == GATEWAY:
        # where the gateway routes to: exactly the services of this run, on their ports
        values["UPSTREAMS"] = json.dumps({n: u for n, u in urls.items() if n != GATEWAY})

    env = dict(base)
    if name != service:
        # a worker holds no secret of the run (the internal secret mints identities for
        # every service): only the bearer token of its service's internal API
        token = base.get(prefix + "WORKER_TOKEN") or base.get(service.upper() + "_WORKER_TOKEN")
        internal = base.get(service.upper() + "_INTERNAL_SECRET") or base.get(
            "PINGVAS_INTERNAL_SECRET"
        )
        if not token and internal:
            token = derive_token(internal, name)
        for key in list(env):
            if key.endswith(_SECRET_SUFFIXES):
                del env[key]
        values = {k: v for k, v in values.items() if not f"_{k}".endswith(_SECRET_SUFFIXES)}
        if token:
            values["WORKER_TOKEN"] = token
    else:
        # a service gets the run's secrets it uses, not the others' (SECRET_HOLDERS)
        for secret, holders in SECRET_HOLDERS.items():
            if service not in holders:
                env.pop("PINGVAS_" + secret, None)
                values.pop(secret, None)
    for key, value in values.items():
        if prefix + key not in base:
            env[prefix + key] = value
    # the runner owns these: it health-checks that port and keeps the data in that dir
    env |= {
        prefix + "PORT": str(port),
        prefix + "HOST": "127.0.0.1",
        prefix + "VAR_DIR": str(var_dir),
    }
    env["PYTHONUNBUFFERED"] = "1"
    if aws.endpoint_url:
        # any AWS client a service builds without an explicit endpoint goes there too
        env["AWS_ENDPOINT_URL"] = aws.endpoint_url
    if aws.fake_credentials:
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            env.pop(key, None)
        env.update(
            AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=aws.region
        )
    return env
