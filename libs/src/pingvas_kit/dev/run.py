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
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..ports import port_in_use
from ._console import Console
from ._env import AwsTarget, local_secrets, service_env
from ._processes import _open_log
from ._runner import STATE_FILE, DevRunner
from ._services import GATEWAY, assign_ports

# what the tests and the end-to-end stack use from here; the pieces live in the private
# modules beside this one
__all__ = [
    "GATEWAY",
    "STATE_FILE",
    "AwsTarget",
    "_open_log",
    "assign_ports",
    "local_secrets",
    "main",
    "port_in_use",
    "service_env",
]


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
