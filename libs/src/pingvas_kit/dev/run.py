"""`pingvas-dev up`: the whole product on this machine, without Docker.

    pingvas-dev up [--var DIR] [--gateway-port 8080] [--port-base 8100] [--moto-port 4566]
                   [--no-moto] [--only NAME,...] [--check] [--log-level INFO] [--log-json]
                   [--no-color] [--startup-timeout 90] [--stop-timeout 10]

What it does, in order:

1. finds the installed services (`pingvas_contracts.discover()`); one that cannot be
   loaded yet, or has no `__main__`, is skipped with a warning;
2. AWS (SNS, SQS, S3, SES): moto's server on 127.0.0.1:--moto-port with fake
   credentials, unless PINGVAS_AWS_ENDPOINT_URL or AWS_ENDPOINT_URL names another
   endpoint (LocalStack, ...) or --no-moto asks for real AWS. An emulator already
   listening on the port is reused (and left running);
3. provisions the whole bus topology (every discovered spec) once, so no event published
   before its consumer starts is lost;
4. starts each service as `python -m pingvas_<name>` in its own process group, with its
   settings in `<NAME>_*` variables, echoes its output line by line as `[name] ...` and
   appends it to `var/log/<name>.log`; waits for every /healthz and prints a banner;
5. restarts a service that exits unexpectedly, with back-off, at most
   MAX_RESTARTS_PER_MINUTE times a minute;
6. on Ctrl-C / SIGTERM / SIGHUP: SIGTERM to every service's process group, SIGKILL after
   --stop-timeout seconds, stops moto, exits 0. `var/` is kept, so the next run has the
   same data.

`--check` starts everything, checks every /healthz and /readyz (the gateway's must answer
200), stops, and exits 0 or 1: the smoke check behind the tests.

What each service gets (PREFIX is the upper-case name plus `_`, e.g. BILLING_):
PREFIX+VAR_DIR, PORT, HOST, BUS, BUS_PREFIX, BUS_WAIT_SECONDS, AWS_ENDPOINT_URL, AWS_REGION,
LOG_JSON (false: readable lines), LOG_LEVEL, DATABASE_URL (when DATABASE_URL is set: one
Postgres database, a schema per service), PUBLIC_URL (the gateway's URL); the gateway
also gets GATEWAY_UPSTREAMS, the JSON {name: url} of the other services of this run.
Every PINGVAS_X in the environment is forwarded as PREFIX+X (PINGVAS_BUS=amqp with
PINGVAS_AMQP_URL moves every service to RabbitMQ), and a PREFIX+X already set in the
environment wins over all of that, except PORT, HOST and VAR_DIR, which the runner owns.

Secrets: the run says it is one (PREFIX+ENVIRONMENT=development unless PINGVAS_ENVIRONMENT
says otherwise), so the services accept its generated secrets (var/secrets.json), each
only those it uses (the JWT secret: gateway and tenants; the signing secret: billing); a worker
(`render-worker`) gets none of them, only its bearer token for its service's internal API
(PREFIX+WORKER_TOKEN, derived from the internal secret as the service derives it). Files
the run and its services create (var/, SQLite databases, logs, secrets.json) are readable
by their owner only (umask 077)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import httpx

from pingvas_contracts import ServiceSpec, discover

from ..ports import port_in_use
from ..settings import derive_token, private_dir, private_file

GATEWAY = "gateway"
#: port = --port-base + offset; services not listed here follow in name order
PORT_OFFSETS = {"tenants": 1, "billing": 2, "render": 3, "mail": 4, "search": 5}
MAX_RESTARTS_PER_MINUTE = 3
RESTART_WINDOW_S = 60.0
TAIL_LINES = 40
STATE_FILE = "run/pingvas-dev.json"
LOCK_FILE = "run/pingvas-dev.lock"
#: long-poll wait given to services unless set: short, so a stop never waits long
DEV_BUS_WAIT_SECONDS = "5"
_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")


class DevError(Exception):
    """A problem the developer can act on; printed without a traceback."""


# -- output ------------------------------------------------------------------------------


class Console:
    """Progress lines, service output with a coloured `[name]` prefix, and the banner."""

    def __init__(self, stream: TextIO, *, colour: bool) -> None:
        self.stream = stream
        self.colour = colour
        self.width = 7

    def _paint(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def write(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def step(self, text: str) -> None:
        self.write(f"{self._paint('1;32', '✓')} {text}")

    def doing(self, text: str) -> None:
        self.write(f"{self._paint('2', '…')} {text}")

    def warn(self, text: str) -> None:
        self.write(f"{self._paint('1;33', '!')} {text}")

    def fail(self, text: str) -> None:
        self.write(f"{self._paint('1;31', '✗')} {text}")

    def service_line(self, name: str, colour: str, line: str) -> None:
        self.write(f"{self._paint(colour, f'[{name}]'.ljust(self.width + 2))} {line}")

    def bold(self, text: str) -> str:
        return self._paint("1", text)


# -- discovery, ports, environment ---------------------------------------------------------


def discover_services(console: Console) -> dict[str, ServiceSpec]:
    """Every installed service's spec. discover() fails on the first entry point that cannot
    load; while services are being written, skip those instead of refusing to run."""

    try:
        return discover()
    except Exception:  # noqa: BLE001 - fall through to the tolerant listing below
        pass
    specs: dict[str, ServiceSpec] = {}
    for ep in entry_points(group="pingvas.services"):
        try:
            spec = ep.load()
        except Exception as exc:  # noqa: BLE001
            console.warn(
                f"service {ep.name!r} skipped: cannot load {ep.value} ({type(exc).__name__}: {exc})"
            )
            continue
        if not isinstance(spec, ServiceSpec):
            console.warn(f"service {ep.name!r} skipped: {ep.value} is not a ServiceSpec")
            continue
        specs[spec.name] = spec
    return dict(sorted(specs.items()))


def module_of(name: str) -> str:
    return f"pingvas_{name}"


#: entry points naming worker processes that run beside a service (e.g. render's GPU
#: worker): `render-worker = "pingvas_render.worker"` runs `python -m pingvas_render.worker`
#: whenever the render service runs; it must answer /healthz on its PORT once it can work
WORKERS_GROUP = "pingvas.workers"


def discover_workers() -> dict[str, str]:
    """{worker name: module}; a worker `<service>-...` runs with that service."""
    return {ep.name: ep.value for ep in entry_points(group=WORKERS_GROUP)}


def runnable(name: str) -> bool:
    """Whether `python -m pingvas_<name>` can run (the package has a __main__)."""
    try:
        return importlib.util.find_spec(f"{module_of(name)}.__main__") is not None
    except Exception:  # noqa: BLE001 - a package that fails to import is not runnable
        return False


def assign_ports(names: Sequence[str], *, gateway_port: int, port_base: int) -> dict[str, int]:
    """Stable ports: gateway on its own, known services at base+offset, others after them."""
    ports: dict[str, int] = {}
    following = port_base + max(PORT_OFFSETS.values()) + 1
    for name in sorted(names):
        if name == GATEWAY:
            ports[name] = gateway_port
        elif name in PORT_OFFSETS:
            ports[name] = port_base + PORT_OFFSETS[name]
        else:
            ports[name] = following
            following += 1
    return ports


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


# -- processes ------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
try:
    _libc: Any = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _libc = None


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the runner dies (even by SIGKILL)."""
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(pid: int, sig: int) -> None:
    """Signal a service's whole process group (it was started in its own session), so
    anything it started goes too."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """The exit code, as soon as the process itself has exited. (Process.wait() also waits
    for its output pipe to close, which a grandchild left running can hold open forever.)"""
    while proc.returncode is None:  # noqa: ASYNC110 - asyncio offers no exit-only event
        await asyncio.sleep(0.1)
    return proc.returncode


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """A child started meanwhile inherits SIGINT ignored (Python keeps an ignored SIGINT),
    so Ctrl-C in the terminal reaches only the runner, which stops things in order."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def _emulator_at(url: str) -> str | None:
    """'LocalStack' or 'moto' if that is what answers at `url`, else None."""
    async with httpx.AsyncClient(timeout=2.0) as client:
        for path, kind in (("/_localstack/health", "LocalStack"), ("/moto-api/", "moto")):
            try:
                response = await client.get(url + path)
            except httpx.HTTPError:
                return None
            if response.status_code == 200:
                return kind
    return None


def _open_log(path: Path) -> BinaryIO:
    """Append-only log file, readable by its owner only; local writes are short enough to
    do on the event loop."""
    return private_file(path).open("ab")


@dataclass
class Child:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    colour: str
    module: str = ""
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    restarts: list[float] = field(default_factory=list)
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class StartFailed(Exception):
    def __init__(self, child: Child, reason: str) -> None:
        super().__init__(reason)
        self.child = child
        self.reason = reason


# -- the runner ------------------------------------------------------------------------------


class DevRunner:
    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.console = console
        self.var_dir: Path = args.var.expanduser().resolve()
        self.log_dir = self.var_dir / "log"
        self.children: dict[str, Child] = {}
        self.moto: subprocess.Popen | None = None
        self._moto_start: asyncio.Future | None = None
        self.aws: AwsTarget | None = None
        self.stopping = False
        self._supervisors: list[asyncio.Task] = []
        self._lock: TextIO | None = None
        self._main: asyncio.Task | None = None
        self._signalled_at = -10.0

    # -- signals

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        now = time.monotonic()
        if now - self._signalled_at < 1.0:
            # the same Ctrl-C often arrives twice: from the terminal to the whole process
            # group, and forwarded by a wrapper such as `uv run`
            return
        self._signalled_at = now
        if not self.stopping:
            self.stopping = True
            self.console.write()
            self.console.doing(f"{signal.Signals(sig).name}: stopping (again to kill at once) ...")
            if self._main is not None:
                self._main.cancel()
            return
        self.console.warn("killing every service now")
        for child in self.children.values():
            if child.proc is not None:
                _signal_group(child.proc.pid, signal.SIGKILL)

    # -- steps

    def _lock_var_dir(self) -> None:
        private_dir(self.var_dir)
        private_dir(self.var_dir / "run")
        private_dir(self.log_dir)
        lock = open(self.var_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held until exit
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            other = lock.read().strip() or "?"
            lock.close()
            raise DevError(
                f"another pingvas-dev (pid {other}) is running on {self.var_dir}; stop it first, "
                "or use another --var"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _select(self, specs: Mapping[str, ServiceSpec]) -> list[str]:
        wanted = [n for part in self.args.only or () for n in part.split(",") if n.strip()]
        wanted = [n.strip() for n in wanted]
        unknown = sorted(set(wanted) - set(specs))
        if unknown:
            raise DevError(
                f"--only names unknown services {unknown}; installed: {sorted(specs) or 'none'}"
            )
        names = []
        for name in specs:
            if wanted and name not in wanted:
                continue
            if not runnable(name):
                self.console.warn(
                    f"service {name!r} skipped: {module_of(name)} has no __main__ yet"
                )
                continue
            names.append(name)
        if not names:
            raise DevError(
                "no runnable service is installed (run `uv sync --all-packages`, or check --only)"
            )
        # the gateway first: it starts fastest, and it is what the banner leads with
        return sorted(names, key=lambda n: (n != GATEWAY, n))

    def _check_ports(self, ports: Mapping[str, int]) -> None:
        busy = [f"{port} ({name})" for name, port in sorted(ports.items()) if port_in_use(port)]
        if busy:
            raise DevError(
                f"port(s) already in use: {', '.join(busy)}. Is another `./pingvas up` running? "
                "Stop it, or choose others with --gateway-port / --port-base."
            )

    async def _start_aws(self) -> AwsTarget:
        region = (
            os.environ.get("PINGVAS_AWS_REGION")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        endpoint = os.environ.get("PINGVAS_AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            host = httpx.URL(endpoint).host
            local = host in ("127.0.0.1", "localhost", "::1", "localstack", "host.docker.internal")
            fake = local and not os.environ.get("AWS_ACCESS_KEY_ID")
            self.console.step(f"AWS endpoint {endpoint} (from the environment)")
            return AwsTarget(endpoint, region, fake, f"SNS/SQS/S3/SES at {endpoint}")
        if self.args.no_moto:
            self.console.warn(
                "--no-moto: using real AWS with your credentials; this creates real resources"
            )
            return AwsTarget(None, region, False, f"real AWS ({region})")

        port = self.args.moto_port
        url = f"http://127.0.0.1:{port}"
        if port_in_use(port):
            kind = await _emulator_at(url)
            if kind is None:
                raise DevError(
                    f"port {port} is taken by something that is not an AWS emulator (moto or "
                    f"LocalStack). Stop it, pass --moto-port, or set PINGVAS_AWS_ENDPOINT_URL."
                )
            self.console.step(f"{kind} already running at {url}: using it (it is left running)")
            return AwsTarget(url, region, True, f"SNS/SQS/S3/SES on {kind} at {url}")

        if importlib.util.find_spec("moto") is None:
            raise DevError(
                "moto is not installed (it comes with the workspace's dev dependencies: run "
                "`uv sync --all-packages`), or point PINGVAS_AWS_ENDPOINT_URL at LocalStack"
            )
        from .emulator import start_moto_server

        self.console.doing(f"starting moto (AWS emulator) on {url}")
        loop = asyncio.get_running_loop()
        loop.remove_signal_handler(signal.SIGINT)
        try:
            with _sigint_ignored():
                # shielded: a stop requested meanwhile must still learn the process to stop it
                self._moto_start = asyncio.ensure_future(
                    asyncio.to_thread(start_moto_server, port, self.log_dir / "moto.log")
                )
                self.moto = await asyncio.shield(self._moto_start)
        except (RuntimeError, TimeoutError) as exc:
            raise DevError(f"moto did not start ({exc}); see {self.log_dir / 'moto.log'}") from None
        finally:
            loop.add_signal_handler(signal.SIGINT, self._on_signal, signal.SIGINT)
        self.console.step(f"moto (AWS emulator) on {url}")
        return AwsTarget(url, region, True, f"SNS/SQS/S3/SES on moto at {url}")

    async def _provision(self, specs: Mapping[str, ServiceSpec]) -> None:
        from ..bus import build_topology, make_bus
        from ..settings import ServiceSettings

        assert self.aws is not None
        overrides: dict[str, Any] = {"aws_region": self.aws.region}
        if self.aws.endpoint_url:
            overrides["aws_endpoint_url"] = self.aws.endpoint_url
        if self.aws.fake_credentials:
            overrides |= {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        settings = ServiceSettings(**overrides)  # PINGVAS_BUS, _BUS_PREFIX, _AMQP_URL from env
        try:
            topology = build_topology(
                specs, prefix=settings.bus_prefix, max_receive_count=settings.bus_max_receive_count
            )
        except Exception as exc:  # noqa: BLE001 - e.g. a spec consuming an unknown event type
            raise DevError(f"the services' event declarations do not add up: {exc}") from None
        if not topology.contexts and not topology.consumers:
            self.console.step(
                "bus: the installed services declare no events yet; nothing to provision"
            )
            return
        where = "RabbitMQ" if settings.bus == "amqp" else self.aws.description.split(" at ")[-1]
        # an external broker may still be starting; our own moto is up already
        deadline = time.monotonic() + (5 if self.moto else self.args.startup_timeout)
        while True:
            bus = make_bus(settings, topology)
            try:
                await bus.start()
                await bus.provision()
                break
            except Exception as exc:  # noqa: BLE001 - reported below with its cause
                if time.monotonic() > deadline:
                    raise DevError(
                        f"could not provision the bus ({settings.bus}) at {where}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await bus.close()
        self.console.step(
            f"bus provisioned ({settings.bus}, prefix {settings.bus_prefix!r}): "
            f"{len(topology.contexts)} topics, {len(topology.consumers)} queues with DLQs, "
            f"{len(topology.subscriptions)} subscriptions"
        )

    async def _spawn(self, child: Child) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with _open_log(child.log_path) as log:
            log.write(f"\n===== pingvas-dev: {child.name} starting at {stamp} =====\n".encode())
        child.tail.clear()
        child.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            child.module or module_of(child.name),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            limit=1 << 20,
        )
        child.started_at = time.monotonic()
        child.pump = asyncio.create_task(self._pump(child, child.proc), name=f"pump-{child.name}")
        self._write_state()

    async def _pump(self, child: Child, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        with _open_log(child.log_path) as log:
            while True:
                try:
                    raw = await proc.stdout.readline()
                except ValueError:
                    raw = b"[pingvas-dev: a line over 1 MiB was dropped]\n"
                if not raw:
                    return
                log.write(raw if raw.endswith(b"\n") else raw + b"\n")
                log.flush()
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                child.tail.append(text)
                self.console.service_line(child.name, child.colour, text)

    async def _wait_healthy(self, child: Child) -> float:
        """Seconds until /healthz answered 200; StartFailed if the process exits first or
        the timeout passes."""
        assert child.proc is not None
        deadline = child.started_at + self.args.startup_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if child.proc.returncode is not None:
                    raise StartFailed(
                        child, f"exited with code {child.proc.returncode} before answering /healthz"
                    )
                try:
                    response = await client.get(child.url + "/healthz")
                    if response.status_code == 200:
                        return time.monotonic() - child.started_at
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise StartFailed(
                        child,
                        f"did not answer {child.url}/healthz "
                        f"within {self.args.startup_timeout:g} s",
                    )
                await asyncio.sleep(0.2)

    async def _report_failure(self, failure: StartFailed) -> None:
        child = failure.child
        if child.pump is not None:
            # let the last lines of a crashed process arrive before showing them
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(child.pump), 2)
        self.console.fail(f"{child.name} {failure.reason}")
        lines = list(child.tail)[-15:]
        if lines:
            self.console.write(f"  last lines of {child.log_path}:")
            for line in lines:
                self.console.write(f"    {line}")
        else:
            self.console.write(f"  it printed nothing (log: {child.log_path})")

    async def _stop_child(self, child: Child, timeout: float) -> None:
        proc = child.proc
        if proc is None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(_exited(proc), timeout)
        except TimeoutError:
            self.console.warn(f"{child.name} did not stop within {timeout:g} s: killing it")
            _signal_group(proc.pid, signal.SIGKILL)
            await _exited(proc)
        # whatever it started and left behind
        _signal_group(proc.pid, signal.SIGKILL)
        if child.pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.pump, 2)

    async def _supervise(self, child: Child) -> None:
        """Restart a service that exits on its own, with back-off, a few times a minute."""
        while not self.stopping:
            assert child.proc is not None
            code = await _exited(child.proc)
            if self.stopping:
                return
            if child.pump is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(child.pump), 2)
            _signal_group(child.proc.pid, signal.SIGKILL)
            now = time.monotonic()
            child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW_S]
            if len(child.restarts) >= MAX_RESTARTS_PER_MINUTE:
                self.console.fail(
                    f"{child.name} exited (code {code}) {len(child.restarts) + 1} times within a "
                    f"minute; not restarting it. See {child.log_path}; the others keep running."
                )
                return
            delay = 2 ** len(child.restarts)
            self.console.fail(
                f"{child.name} exited unexpectedly (code {code}); restarting in {delay} s"
            )
            await asyncio.sleep(delay)
            if self.stopping:
                return
            child.restarts.append(time.monotonic())
            await self._spawn(child)
            try:
                seconds = await self._wait_healthy(child)
            except StartFailed as failure:
                await self._report_failure(failure)
                if child.running:
                    await self._stop_child(child, self.args.stop_timeout)
                continue
            self.console.step(f"{child.name} restarted ({seconds:.1f} s) at {child.url}")

    def _write_state(self) -> None:
        state = {
            "pid": os.getpid(),
            "var_dir": str(self.var_dir),
            "aws_endpoint_url": self.aws.endpoint_url if self.aws else None,
            "moto_pid": self.moto.pid if self.moto else None,
            "services": {
                c.name: {
                    "url": c.url,
                    "pid": c.proc.pid if c.proc else None,
                    "log": str(c.log_path),
                }
                for c in self.children.values()
            },
        }
        path = self.var_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(path)

    async def _check(self) -> bool:
        """Every /healthz again, then every /readyz (polled until ready or timeout)."""
        ok = True
        async with httpx.AsyncClient(timeout=5.0) as client:
            for child in self.children.values():
                try:
                    status = (await client.get(child.url + "/healthz")).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status == 200:
                    self.console.step(f"{child.name} /healthz 200")
                else:
                    ok = False
                    self.console.fail(f"{child.name} /healthz answered {status}")
            deadline = time.monotonic() + self.args.startup_timeout
            for child in self.children.values():
                last: Any = None
                while True:
                    try:
                        response = await client.get(child.url + "/readyz")
                        last = f"{response.status_code} {response.text[:300]}"
                        if response.status_code in (200, 404):
                            break
                    except httpx.HTTPError as exc:
                        last = type(exc).__name__
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                if last.startswith("200"):
                    self.console.step(f"{child.name} /readyz 200")
                elif last.startswith("404") and child.name != GATEWAY:
                    self.console.warn(f"{child.name} has no /readyz (404)")
                else:
                    ok = False
                    self.console.fail(f"{child.name} /readyz: {last}")
        if GATEWAY not in self.children:
            self.console.warn(
                "the gateway is not running (not installed yet?): its /readyz was not checked"
            )
        return ok

    def _banner(self) -> None:
        c = self.console
        c.write()
        if GATEWAY in self.children:
            c.write(f"  {c.bold('Pingvas is running:')} {c.bold(self.children[GATEWAY].url)}")
        else:
            c.write(f"  {c.bold('Pingvas services are running')} (no gateway in this run)")
        c.write()
        for child in self.children.values():
            c.write(f"    {child.name.ljust(c.width)}  {child.url}")
        c.write()
        database = os.environ.get("PINGVAS_DATABASE_URL") or os.environ.get("DATABASE_URL")
        if database:
            c.write("  data   Postgres from DATABASE_URL, a schema per service")
        else:
            c.write(f"  data   SQLite files in {self.var_dir} (kept between runs)")
        assert self.aws is not None
        c.write(f"  AWS    {self.aws.description}")
        if self.moto is not None:
            c.write(
                "         moto keeps its state in memory: events queued but not yet consumed, "
                "and stored objects,\n         do not survive a restart of this run "
                "(the SQLite data in var/ does)"
            )
        c.write(f"  logs   {self.log_dir}/<service>.log")
        c.write()
        c.write("  Ctrl-C stops everything.")
        c.write()

    # -- the whole run

    async def run(self) -> int:
        self._main = asyncio.current_task()
        self.install_signal_handlers()
        try:
            return await self._run()
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            if self._main is not None:
                self._main.uncancel()
            return 0
        except DevError as exc:
            self.console.fail(str(exc))
            return 1
        finally:
            await self.shutdown()

    async def _run(self) -> int:
        args = self.args
        self._lock_var_dir()
        self.console.step(f"var dir {self.var_dir}")

        specs = discover_services(self.console)
        names = self._select(specs)
        ports = assign_ports(list(specs), gateway_port=args.gateway_port, port_base=args.port_base)
        ports = {n: ports[n] for n in names}
        workers = (
            {}
            if args.no_workers
            else {
                worker: module
                for worker, module in discover_workers().items()
                if worker.split("-", 1)[0] in names
            }
        )
        # workers at base+10, base+11, ... (the services take base+1..base+5)
        for index, worker in enumerate(sorted(workers)):
            ports[worker] = args.port_base + 10 + index
        names = names + sorted(workers)
        self._check_ports(ports)
        self.console.step(f"services: {', '.join(names)}")
        self.console.width = max(7, *(len(n) for n in names))

        self.aws = await self._start_aws()
        await self._provision(specs)

        urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items() if n not in workers}
        for index, name in enumerate(names):
            env = service_env(
                name,
                base={**local_secrets(self.var_dir), **os.environ},
                port=ports[name],
                var_dir=self.var_dir,
                aws=self.aws,
                urls=urls,
                log_level=args.log_level,
                log_json=args.log_json,
            )
            self.children[name] = Child(
                name,
                ports[name],
                env,
                self.log_dir / f"{name}.log",
                _COLOURS[index % len(_COLOURS)],
                module=workers.get(name, ""),
            )
        self.console.doing(f"starting {len(names)} service(s) ...")
        for child in self.children.values():
            await self._spawn(child)

        async def started(child: Child) -> None:
            seconds = await self._wait_healthy(child)
            self.console.step(f"{child.name} healthy ({seconds:.1f} s) at {child.url}")

        results = await asyncio.gather(
            *(started(c) for c in self.children.values()), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if isinstance(failure, StartFailed):
                await self._report_failure(failure)
            else:
                raise failure
        if failures:
            self.console.fail("not every service started; stopping the others")
            return 1
        self._write_state()

        if args.check:
            ok = await self._check()
            if ok:
                self.console.step("smoke check passed")
            else:
                self.console.fail("smoke check failed")
            return 0 if ok else 1

        self._banner()
        self._supervisors = [
            asyncio.create_task(self._supervise(c), name=f"supervise-{c.name}")
            for c in self.children.values()
        ]
        await asyncio.Event().wait()  # until a signal cancels us
        return 0

    async def shutdown(self) -> None:
        self.stopping = True
        for task in self._supervisors:
            task.cancel()
        await asyncio.gather(*self._supervisors, return_exceptions=True)
        live = [c for c in self.children.values() if c.proc is not None]
        if live:
            self.console.doing(f"stopping {len(live)} service(s) ...")
            await asyncio.gather(
                *(self._stop_child(c, self.args.stop_timeout) for c in live), return_exceptions=True
            )
        if self._moto_start is not None and self.moto is None:
            with contextlib.suppress(Exception):
                self.moto = await self._moto_start
        if self.moto is not None:
            self.moto.terminate()
            try:
                await asyncio.to_thread(self.moto.wait, 5)
            except subprocess.TimeoutExpired:
                self.moto.kill()
                await asyncio.to_thread(self.moto.wait)
            self.console.step("moto stopped")
            self.moto = None
        with contextlib.suppress(FileNotFoundError):
            (self.var_dir / STATE_FILE).unlink()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        if live or self.children:
            self.console.step(f"stopped; data kept in {self.var_dir}")


# -- command line ------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pingvas-dev", description="Run Pingvas on this machine, without Docker."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        help="start every installed service (Ctrl-C stops them)",
        description="Start moto, provision the bus, start every installed service, "
        "and keep them running until Ctrl-C.",
    )
    up.add_argument("--var", type=Path, default=Path("var"), help="data and logs (default: var)")
    up.add_argument("--gateway-port", type=int, default=8080, help="default: 8080")
    up.add_argument(
        "--port-base",
        type=int,
        default=8100,
        help="the other services listen on base+1.. (tenants, billing, render, mail, search; "
        "default 8100)",
    )
    up.add_argument(
        "--moto-port",
        type=int,
        default=4566,
        help="port of the embedded AWS emulator (default 4566)",
    )
    up.add_argument(
        "--no-moto",
        action="store_true",
        help="no emulator: use real AWS with your credentials (careful: real resources)",
    )
    up.add_argument(
        "--only",
        action="append",
        metavar="NAME[,NAME]",
        help="start only these services (the bus is still provisioned for all)",
    )
    up.add_argument(
        "--check",
        "--once",
        dest="check",
        action="store_true",
        help="start everything, check every /healthz and /readyz, stop; exit 0 or 1",
    )
    up.add_argument(
        "--no-workers",
        action="store_true",
        help="do not start the services' workers (render's GPU worker and its engine)",
    )
    up.add_argument("--log-level", help="services' log level (default: PINGVAS_LOG_LEVEL or INFO)")
    up.add_argument(
        "--log-json", action="store_true", help="JSON log lines instead of readable ones"
    )
    up.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    up.add_argument(
        "--startup-timeout",
        type=float,
        default=90.0,
        help="seconds each service has to answer /healthz (default 90)",
    )
    up.add_argument(
        "--stop-timeout",
        type=float,
        default=10.0,
        help="seconds between SIGTERM and SIGKILL when stopping (default 10)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # what the run and its services create (var/, databases, logs) is the owner's alone
    os.umask(0o077)
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace", line_buffering=True)  # type: ignore[union-attr]
    colour = sys.stdout.isatty() and not args.no_color and not os.environ.get("NO_COLOR")
    console = Console(sys.stdout, colour=colour)

    # the runner's own library logs (bus provisioning) stay quiet unless they matter
    from ..logging import configure_logging

    configure_logging("pingvas-dev", level="WARNING", json=False)
    return asyncio.run(DevRunner(args, console).run())


if __name__ == "__main__":
    sys.exit(main())
