"""DevRunner: start the AWS emulator, provision the bus, start, supervise and stop services.

One run per var/ directory (a lock file); its state (ports, pids, URLs) is written to
STATE_FILE while it runs and removed when it stops. A service that exits unexpectedly is
restarted with back-off, at most MAX_RESTARTS_PER_MINUTE times a minute."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from pingvas_contracts import ServiceSpec

from ..ports import port_in_use
from ..settings import private_dir
from ._console import _COLOURS, Console, DevError
from ._env import (
    AwsTarget,
    local_secrets,
    service_env,
)
from ._processes import (
    Child,
    StartFailed,
    _die_with_parent,
    _emulator_at,
    _exited,
    _open_log,
    _sigint_ignored,
    _signal_group,
)
from ._services import (
    GATEWAY,
    assign_ports,
    discover_services,
    discover_workers,
    module_of,
    runnable,
)

MAX_RESTARTS_PER_MINUTE = 3
RESTART_WINDOW_S = 60.0
STATE_FILE = "run/pingvas-dev.json"
LOCK_FILE = "run/pingvas-dev.lock"


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
                status: int | str
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
