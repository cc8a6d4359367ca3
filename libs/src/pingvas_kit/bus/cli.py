"""`pingvas-bus`: provision the bus, print its topology or the IAM input, read dead letters.

    pingvas-bus provision [--prefix P] [--endpoint-url URL] [--bus sqs|amqp]
    pingvas-bus topology [--prefix P] [--out FILE]
    pingvas-bus access [--prefix P] [--out FILE]
    pingvas-bus dead-letters CONSUMER [--max N]
    pingvas-bus redrive CONSUMER [--max N]

`topology` and `access` write deploy/terraform/bus-topology.json and access.json, which
Terraform builds the bus and the workloads' IAM roles from.

Settings come from the environment with the PINGVAS_ prefix (PINGVAS_BUS,
PINGVAS_BUS_PREFIX, PINGVAS_AWS_ENDPOINT_URL, PINGVAS_AWS_REGION, PINGVAS_AMQP_URL...);
the flags override them. The topology is built from every installed service's spec."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from pingvas_contracts import discover

from ..logging import configure_logging
from ..settings import ServiceSettings
from . import make_bus
from .access import build_access
from .topology import Topology, build_topology


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--prefix", help="name prefix of topics and queues (PINGVAS_BUS_PREFIX)")
    common.add_argument(
        "--max-receive-count",
        type=int,
        help="deliveries before a failing message is dead-lettered (PINGVAS_BUS_MAX_RECEIVE_COUNT)",
    )
    broker = argparse.ArgumentParser(add_help=False)
    broker.add_argument("--bus", choices=["sqs", "amqp"], help="adapter (PINGVAS_BUS)")
    broker.add_argument(
        "--endpoint-url", help="SNS/SQS endpoint, e.g. LocalStack (PINGVAS_AWS_ENDPOINT_URL)"
    )

    parser = argparse.ArgumentParser(prog="pingvas-bus", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "provision",
        parents=[common, broker],
        help="create or update every topic, queue, DLQ and subscription (idempotent)",
    )
    topology = commands.add_parser("topology", parents=[common], help="print the topology as JSON")
    topology.add_argument("--out", type=Path, help="write it to this file instead")
    access = commands.add_parser(
        "access",
        parents=[common],
        help="print what each workload may do on AWS (the IAM roles' input) as JSON",
    )
    access.add_argument("--out", type=Path, help="write it to this file instead")
    dead = commands.add_parser(
        "dead-letters",
        parents=[common, broker],
        help="take messages off a consumer's dead-letter queue and print them (removes them)",
    )
    dead.add_argument("consumer", help="the consuming service, e.g. billing")
    dead.add_argument("--max", type=int, default=10, help="at most this many (default 10)")
    redrive = commands.add_parser(
        "redrive",
        parents=[common, broker],
        help="move messages from a consumer's dead-letter queue back to its queue",
    )
    redrive.add_argument("consumer", help="the consuming service, e.g. billing")
    redrive.add_argument("--max", type=int, default=100, help="at most this many (default 100)")
    return parser


def _settings(args: argparse.Namespace) -> ServiceSettings:
    settings = ServiceSettings()
    updates: dict[str, object] = {}
    if getattr(args, "bus", None):
        updates["bus"] = args.bus
    if getattr(args, "endpoint_url", None):
        updates["aws_endpoint_url"] = args.endpoint_url
    if args.prefix:
        updates["bus_prefix"] = args.prefix
    if args.max_receive_count is not None:
        updates["bus_max_receive_count"] = args.max_receive_count
    return settings.model_copy(update=updates)


def _topology(settings: ServiceSettings) -> Topology:
    return build_topology(
        discover(),
        prefix=settings.bus_prefix,
        max_receive_count=settings.bus_max_receive_count,
        visibility_timeout=settings.bus_visibility_timeout,
    )


def _write(text: str, out: Path | None) -> int:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


async def _provision(settings: ServiceSettings, topology: Topology) -> int:
    if not topology.contexts and not topology.consumers:
        print("nothing to provision: no installed service publishes or consumes events")
        return 0
    async with make_bus(settings, topology) as bus:
        await bus.provision()
        report = getattr(bus, "provision_report", None)
    if report:
        for action, kind, name in report:
            print(f"{action:8} {kind:13} {name}")
    else:
        print(
            f"provisioned {len(topology.contexts)} topic(s), {len(topology.consumers)} "
            f"queue(s), {len(topology.subscriptions)} subscription(s) on {settings.bus}"
        )
    return 0


def _known(topology: Topology, consumer: str) -> bool:
    """Whether the topology has `consumer`; says which it has when not."""
    if consumer in topology.consumers:
        return True
    known = ", ".join(topology.consumers) or "none"
    print(f"unknown consumer {consumer!r} (consumers: {known})", file=sys.stderr)
    return False


async def _dead_letters(
    settings: ServiceSettings, topology: Topology, consumer: str, max_messages: int
) -> int:
    if not _known(topology, consumer):
        return 2
    async with make_bus(settings, topology) as bus:
        letters = await bus.dead_letters(consumer, max_messages=max_messages)
    for letter in letters:
        print(json.dumps({"reason": letter.reason, "body": letter.body}))
    print(f"{len(letters)} dead letter(s) taken from {consumer}", file=sys.stderr)
    return 0


async def _redrive(
    settings: ServiceSettings, topology: Topology, consumer: str, max_messages: int
) -> int:
    if not _known(topology, consumer):
        return 2
    async with make_bus(settings, topology) as bus:
        moved = await bus.redrive(consumer, max_messages=max_messages)
    print(f"{moved} dead letter(s) moved back to {topology.queue_name(consumer)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    if not structlog.is_configured():
        # logs to stderr, warnings and errors only: stdout carries the command's output
        configure_logging("pingvas-bus", level="WARNING", json=settings.log_json)
    try:
        topology = _topology(settings)
        if args.command == "access":
            return _write(build_access(discover(), prefix=settings.bus_prefix).to_json(), args.out)
    except Exception as exc:  # a broken service spec: say which, then stop
        print(f"cannot build the {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2

    if args.command == "topology":
        return _write(topology.to_json(), args.out)
    if args.command == "provision":
        return asyncio.run(_provision(settings, topology))
    if args.command == "redrive":
        return asyncio.run(_redrive(settings, topology, args.consumer, args.max))
    return asyncio.run(_dead_letters(settings, topology, args.consumer, args.max))


if __name__ == "__main__":
    raise SystemExit(main())
