"""`pingvas-dev up`, run for real: subprocesses, moto's server, signals, var/ kept.

SLOW (real processes; about 10 s for the stand-in service, 30-60 s for the whole stack on a
busy 2-core machine). Every run uses a temporary --var and free ports, so a developer's own
`./pingvas up` on 8080/8101../4566 is never touched.

- the runner's mechanics are tested with a stand-in service (`devfake`), installed for the
  run only through PYTHONPATH (a dist-info with a `pingvas.services` entry point);
- the whole installed stack is tested when the gateway is installed."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from pingvas_kit.dev.run import (
    GATEWAY,
    STATE_FILE,
    AwsTarget,
    assign_ports,
    port_in_use,
    service_env,
)
from pingvas_kit.dev.stack import free_port_base
from pingvas_kit.ports import free_port

pytestmark = pytest.mark.timeout(180)

PINGVAS_DEV = Path(sys.executable).with_name("pingvas-dev")
#: what the developer's shell may set that must not leak into these runs
_SCRUB = (
    "PINGVAS_AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "DATABASE_URL",
    "PINGVAS_DATABASE_URL",
    "PINGVAS_BUS",
    "PINGVAS_BUS_PREFIX",
)

FAKE_SPEC = """\
from pingvas_contracts import ServiceSpec

SERVICE = ServiceSpec(
    name="devfake",
    context=None,
    description="a stand-in service for the dev runner's tests",
    consumes=("pingvas.tenants.tenant.created.v1",),
)
"""

FAKE_MAIN = """\
import json, os, signal, sqlite3, subprocess, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if os.environ.get("DEVFAKE_FAIL"):
    print("devfake: cannot start, DEVFAKE_FAIL is set", flush=True)
    sys.exit(2)
var = Path(os.environ["DEVFAKE_VAR_DIR"])
db = sqlite3.connect(var / "devfake.db")
db.execute("CREATE TABLE IF NOT EXISTS starts (n INTEGER)")
db.execute("INSERT INTO starts VALUES (1)")
db.commit()
starts = db.execute("SELECT count(*) FROM starts").fetchone()[0]
db.close()
# a grandchild, as a service that runs a helper process would have
helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
KEYS = ["DEVFAKE_AWS_ENDPOINT_URL", "DEVFAKE_BUS", "DEVFAKE_LOG_JSON", "DEVFAKE_BUS_WAIT_SECONDS",
        "DEVFAKE_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "DEVFAKE_PUBLIC_URL"]
info = {"starts": starts, "helper": helper.pid, "env": {k: os.environ.get(k) for k in KEYS}}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path in ("/healthz", "/readyz"):
            return self.reply(info)
        if self.path == "/crash":
            self.reply({"bye": True})
            threading.Timer(0.1, os._exit, (3,)).start()
            return
        self.send_error(404)

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        print("devfake request:", fmt % args, flush=True)


server = ThreadingHTTPServer((os.environ["DEVFAKE_HOST"], int(os.environ["DEVFAKE_PORT"])), Handler)
signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
print(f"devfake start #{starts} on port {server.server_port}", flush=True)
server.serve_forever()
print("devfake stopped", flush=True)
"""


# -- helpers -----------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, state) from /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def _descendants(pid: int) -> set[int]:
    table = _proc_table()
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, _state) in table.items():
            if ppid == parent and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    entry = _proc_table().get(pid)
    return entry is not None and entry[1] != "Z"


def _wait(predicate, timeout: float, what: str, run: DevRun | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run is not None and run.proc.poll() is not None:
            raise AssertionError(
                f"pingvas-dev exited ({run.proc.returncode}) while waiting for {what}"
            )
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2.0)
    except httpx.HTTPError:
        return None


class DevRun:
    """One `pingvas-dev up` subprocess; its output goes to a file, shown when a test fails."""

    def __init__(
        self, var: Path, args: list[str], env: dict[str, str], name: str, moto_port: int = 0
    ) -> None:
        self.var = var
        self.out = var.parent / f"{name}.out"
        self.gateway_port = free_port()
        self.port_base = free_port_base()
        self.moto_port = moto_port or free_port()
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(PINGVAS_DEV),
                    "up",
                    "--var",
                    str(var),
                    "--gateway-port",
                    str(self.gateway_port),
                    "--port-base",
                    str(self.port_base),
                    "--moto-port",
                    str(self.moto_port),
                    "--no-color",
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self.seen: set[int] = set()

    @property
    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def state(self) -> dict | None:
        try:
            return json.loads((self.var / STATE_FILE).read_text())
        except (OSError, ValueError):
            return None

    def url(self, service: str) -> str:
        state = self.state()
        assert state is not None, "no state file"
        return state["services"][service]["url"]

    def wait_healthy(self, service: str, timeout: float = 90) -> dict:
        def healthy() -> bool:
            state = self.state()
            if not state or service not in state["services"]:
                return False
            response = _get(self.url(service) + "/healthz")
            return response is not None and response.status_code == 200

        _wait(healthy, timeout, f"{service} /healthz", self)
        self.remember_processes()
        return httpx.get(self.url(service) + "/healthz").json()

    def remember_processes(self) -> None:
        self.seen |= _descendants(self.proc.pid)

    def interrupt(self, timeout: float = 30) -> int:
        self.remember_processes()
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=timeout)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in self.seen | _descendants(self.proc.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def runs(request: pytest.FixtureRequest) -> Iterator[list[DevRun]]:
    """The runs a test starts: always cleaned up; their output shown if the test failed."""
    started: list[DevRun] = []
    failed_before = request.session.testsfailed
    yield started
    for run in started:
        run.cleanup()
    if request.session.testsfailed > failed_before:
        for run in started:
            print(f"\n----- {run.out.name} -----\n{run.output[-6000:]}")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(NO_COLOR="1", PINGVAS_BUS_WAIT_SECONDS="1", **extra)
    return env


@pytest.fixture
def fake_service(tmp_path: Path) -> Path:
    """A directory that, on PYTHONPATH, installs the `devfake` service."""
    root = tmp_path / "plugin"
    package = root / "pingvas_devfake"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_SPEC)
    (package / "__main__.py").write_text(FAKE_MAIN)
    meta = root / "pingvas_devfake-0.0.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: pingvas-devfake\nVersion: 0.0.0\n")
    (meta / "entry_points.txt").write_text(
        "[pingvas.services]\ndevfake = pingvas_devfake:SERVICE\n"
    )
    return root


def _assert_all_gone(run: DevRun) -> None:
    time.sleep(0.2)
    left = sorted(pid for pid in run.seen if _alive(pid))
    assert not left, f"processes left behind: {left}"
    assert not port_in_use(run.moto_port), "moto still listening"
    assert not (run.var / STATE_FILE).exists()


# -- pure parts -------------------------------------------------------------------------------


def test_ports_are_stable_and_separate() -> None:
    ports = assign_ports(
        ["search", "gateway", "zeta", "billing", "tenants", "alpha"],
        gateway_port=9000,
        port_base=7000,
    )
    assert ports == {
        "gateway": 9000,
        "tenants": 7001,
        "billing": 7002,
        "search": 7005,
        "alpha": 7006,
        "zeta": 7007,
    }


def test_service_env_rules(tmp_path: Path) -> None:
    base = {
        "PATH": "/bin",
        "DATABASE_URL": "postgresql://u:p@db/pingvas",
        "PINGVAS_BUS": "amqp",
        "PINGVAS_AMQP_URL": "amqp://rabbit/",
        "PINGVAS_LOG_LEVEL": "WARNING",
        "PINGVAS_BUS_WAIT_SECONDS": "2",
        "BILLING_LOG_LEVEL": "DEBUG",  # explicit per-service setting wins
        "BILLING_PORT": "1",  # ...except the port, which the runner owns
        "AWS_PROFILE": "prod",
    }
    aws = AwsTarget("http://127.0.0.1:4566", "us-east-1", True, "moto")
    urls = {"gateway": "http://127.0.0.1:8080", "billing": "http://127.0.0.1:8102"}
    env = service_env(
        "billing", base=base, port=8102, var_dir=tmp_path, aws=aws, urls=urls,
        log_level=None, log_json=False,
    )  # fmt: skip
    assert env["BILLING_PORT"] == "8102"
    assert env["BILLING_HOST"] == "127.0.0.1"
    assert env["BILLING_VAR_DIR"] == str(tmp_path)
    assert env["BILLING_DATABASE_URL"] == "postgresql://u:p@db/pingvas"
    assert env["BILLING_BUS"] == "amqp"
    assert env["BILLING_AMQP_URL"] == "amqp://rabbit/"
    assert env["BILLING_LOG_LEVEL"] == "DEBUG"
    assert env["BILLING_LOG_JSON"] == "false"
    assert env["BILLING_BUS_WAIT_SECONDS"] == "2"  # PINGVAS_X over the runner's default
    assert env["BILLING_BUS_PREFIX"] == "pingvas"
    assert env["BILLING_AWS_ENDPOINT_URL"] == env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ACCESS_KEY_ID"] == env["BILLING_AWS_ACCESS_KEY_ID"] == "test"
    assert "AWS_PROFILE" not in env  # the emulator never sees a real account
    assert env["BILLING_PUBLIC_URL"] == "http://127.0.0.1:8080"
    gateway = service_env(
        GATEWAY, base=base, port=8080, var_dir=tmp_path, aws=aws, urls=urls,
        log_level="INFO", log_json=True,
    )  # fmt: skip
    assert json.loads(gateway["GATEWAY_UPSTREAMS"]) == {"billing": "http://127.0.0.1:8102"}
    assert gateway["GATEWAY_LOG_JSON"] == "true"
    assert gateway["GATEWAY_LOG_LEVEL"] == "INFO"  # --log-level over PINGVAS_LOG_LEVEL
    mail = service_env(
        "mail", base=base, port=8104, var_dir=tmp_path, aws=aws, urls=urls,
        log_level=None, log_json=False,
    )  # fmt: skip
    assert mail["MAIL_LOG_LEVEL"] == "WARNING"
    assert "MAIL_UPSTREAMS" not in mail


# -- real runs --------------------------------------------------------------------------------


def test_moto_port_taken_by_something_else(tmp_path: Path, runs: list[DevRun]) -> None:
    """A port held by something that is not moto or LocalStack: a clear error, nothing started."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        run = DevRun(tmp_path / "var", [], _env(), "squatter", moto_port=port)
        runs.append(run)
        assert run.proc.wait(timeout=60) == 1
    assert f"port {port} is taken by something that is not an AWS emulator" in run.output
    assert "healthy" not in run.output


def test_runner_mechanics_with_a_stand_in_service(
    tmp_path: Path, fake_service: Path, runs: list[DevRun], moto_endpoint: str, bus_prefix: str
) -> None:
    """Start, env wiring, provisioning before start, logs, restart after a crash,
    Ctrl-C stopping every process (grandchildren and moto too), exit 0, var/ kept."""
    var = tmp_path / "var"
    env = _env(
        PYTHONPATH=os.pathsep.join(filter(None, [str(fake_service), os.environ.get("PYTHONPATH")]))
    )

    run = DevRun(var, ["--only", "devfake"], env, "first")
    runs.append(run)
    info = run.wait_healthy("devfake", timeout=60)
    moto = f"http://127.0.0.1:{run.moto_port}"
    assert info["starts"] == 1
    assert info["env"]["DEVFAKE_AWS_ENDPOINT_URL"] == info["env"]["AWS_ENDPOINT_URL"] == moto
    assert info["env"]["AWS_ACCESS_KEY_ID"] == info["env"]["DEVFAKE_AWS_ACCESS_KEY_ID"] == "test"
    assert info["env"]["DEVFAKE_BUS"] == "sqs"
    assert info["env"]["DEVFAKE_LOG_JSON"] == "false"
    assert info["env"]["DEVFAKE_BUS_WAIT_SECONDS"] == "1"
    assert (var / "devfake.db").exists()
    assert "devfake start #1" in (var / "log" / "devfake.log").read_text()
    assert "[devfake] devfake start #1" in run.output

    # the whole topology was provisioned before the service started
    sqs = boto3.client(
        "sqs", endpoint_url=moto, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    queues = {url.rsplit("/", 1)[-1] for url in sqs.list_queues().get("QueueUrls", [])}
    assert {"pingvas-devfake", "pingvas-devfake-dlq"} <= queues

    # a crash is reported and the service restarted; what it left behind is cleaned up
    first_helper = info["helper"]
    httpx.get(run.url("devfake") + "/crash")
    _wait(
        lambda: (
            (r := _get(run.url("devfake") + "/healthz")) is not None
            and r.status_code == 200
            and r.json()["starts"] == 2
        ),
        30,
        "devfake restarted",
        run,
    )
    assert "devfake exited unexpectedly (code 3)" in run.output
    _wait(lambda: "devfake restarted" in run.output, 10, "the restart to be reported", run)
    _wait(lambda: not _alive(first_helper), 5, "the crashed instance's helper to be killed")
    run.wait_healthy("devfake")

    assert run.interrupt() == 0
    _assert_all_gone(run)
    assert "stopped; data kept" in run.output

    # again on the same var/: it starts, and the data is still there. This run uses an
    # emulator that is already running (the endpoint from the environment), which also
    # saves starting moto twice.
    env |= {"PINGVAS_AWS_ENDPOINT_URL": moto_endpoint, "PINGVAS_BUS_PREFIX": bus_prefix}
    again = DevRun(var, ["--only", "devfake", "--check"], env, "second")
    runs.append(again)
    assert again.proc.wait(timeout=60) == 0, again.output
    assert "smoke check passed" in again.output
    assert f"AWS endpoint {moto_endpoint} (from the environment)" in again.output
    assert "moto stopped" not in again.output  # not ours: left running
    db = sqlite3.connect(var / "devfake.db")
    assert db.execute("SELECT count(*) FROM starts").fetchone()[0] == 3
    db.close()


def test_a_service_that_cannot_start_is_shown_with_its_last_lines(
    tmp_path: Path, fake_service: Path, runs: list[DevRun], moto_endpoint: str, bus_prefix: str
) -> None:
    env = _env(
        PYTHONPATH=str(fake_service),
        DEVFAKE_FAIL="1",
        PINGVAS_AWS_ENDPOINT_URL=moto_endpoint,
        PINGVAS_BUS_PREFIX=bus_prefix,
    )
    run = DevRun(tmp_path / "var", ["--only", "devfake"], env, "failing")
    runs.append(run)
    assert run.proc.wait(timeout=60) == 1
    assert "devfake exited with code 2 before answering /healthz" in run.output
    assert "    devfake: cannot start, DEVFAKE_FAIL is set" in run.output  # the last lines
    assert "not every service started" in run.output


def test_whole_stack_up_interrupt_and_again(
    tmp_path: Path, runs: list[DevRun], moto_endpoint: str, bus_prefix: str
) -> None:
    """Every installed service: gateway /healthz, SQLite files under var/, Ctrl-C stops all
    of it with exit 0; a second run on the same var/ passes the smoke check, data kept."""
    var = tmp_path / "var"
    run = DevRun(var, [], _env(), "stack")
    runs.append(run)
    run.wait_healthy(GATEWAY, timeout=120)
    _wait(lambda: "Ctrl-C stops everything" in run.output, 120, "every service healthy", run)
    run.remember_processes()
    assert httpx.get(f"http://127.0.0.1:{run.gateway_port}/healthz").status_code == 200
    databases = sorted(p.name for p in var.glob("*.db"))
    assert databases, "no SQLite file under var/"

    assert run.interrupt() == 0
    _assert_all_gone(run)

    # mark a database while nothing runs; the next run must find it untouched
    marked = var / databases[0]
    with sqlite3.connect(marked) as db:
        db.execute("CREATE TABLE devrun_marker (kept INTEGER)")
    env = _env(PINGVAS_AWS_ENDPOINT_URL=moto_endpoint, PINGVAS_BUS_PREFIX=bus_prefix)
    again = DevRun(var, ["--check", "--no-workers"], env, "stack-again")
    runs.append(again)
    assert again.proc.wait(timeout=150) == 0, again.output
    assert "smoke check passed" in again.output
    with sqlite3.connect(marked) as db:
        db.execute("SELECT count(*) FROM devrun_marker")
    assert sorted(p.name for p in var.glob("*.db")) == databases


def test_local_secrets_are_made_once_private_and_kept(tmp_path) -> None:  # noqa: ANN001
    from pingvas_kit.dev.run import local_secrets

    first = local_secrets(tmp_path)
    assert set(first) == {
        "PINGVAS_INTERNAL_SECRET",
        "PINGVAS_JWT_SECRET",
        "PINGVAS_LEMONSQUEEZY_SIGNING_SECRET",
    }
    assert all(len(v) >= 48 for v in first.values())
    # safe as a command-line argument (`--secret VALUE`): never read as an option
    assert all(not v.startswith("-") and v.isalnum() for v in first.values())
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert local_secrets(tmp_path) == first
