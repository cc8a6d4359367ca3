"""Billing throughput on Postgres, in one run, on this machine.

Starts moto's server (billing publishes and consumes events) and the billing service as a
real process on a fresh Postgres schema, then measures:

  webhooks      signed POST /webhooks/lemonsqueezy (Lemon Squeezy `subscription_updated`
                bodies, each one distinct) from N concurrent keep-alive clients: verify the
                signature, record the delivery, answer 200. The service's processor works
                through them meanwhile, as it would; how long it takes to finish is printed
                too.
  reservations  render's reserve -> settle for many jobs through `pingvas_billing.usecases.ledger`,
                each call its own transaction, from many concurrent tasks, over a few
                tenants and then one hot tenant (every call waits for that tenant's
                balances row). Afterwards the totals are checked against the entries.

Prints operations/s and p50/p99 latency for each.

    uv run python bench/billing.py [--webhooks 3000] [--clients 32]
                                   [--jobs 3000] [--tasks 64] [--tenants 16]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import sqlalchemy as sa
from pingvas_billing.adapters.db import balances, metadata, webhook_events
from pingvas_billing.adapters.db import ledger as entries
from pingvas_billing.settings import Settings
from pingvas_billing.usecases import ledger
from tqdm import tqdm

from pingvas_kit.db import Database
from pingvas_kit.dev.emulator import start_moto_server
from pingvas_kit.outbox import Outbox
from pingvas_kit.ports import free_port, wait_for_port

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SECRET = "bench-lemonsqueezy-signing-secret"
VARIANT = "412090"  # plans.toml: pro, monthly


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else 0.0


def line(name: str, ops: int, seconds: float, latencies: list[float], unit: str) -> str:
    latencies = sorted(latencies)
    return (
        f"{name:28s} {ops / seconds:10.0f} {unit:>8s} {pct(latencies, 0.5):9.2f} "
        f"{pct(latencies, 0.99):9.2f} {ops:8d}"
    )


def ls_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def webhook_body(i: int) -> bytes:
    """A Lemon Squeezy `subscription_updated` for its own tenant and subscription."""
    at = datetime.now(UTC)
    sub_id = str(2_000_000 + i)
    body = {
        "meta": {
            "test_mode": True,
            "event_name": "subscription_updated",
            "webhook_id": str(uuid.uuid4()),
            "custom_data": {"tenant_id": str(uuid.uuid4())},
        },
        "data": {
            "type": "subscriptions",
            "id": sub_id,
            "attributes": {
                "store_id": 99001,
                "customer_id": 3_000_000 + i,
                "order_id": 4_000_000 + i,
                "product_id": 301122,
                "variant_id": int(VARIANT),
                "product_name": "Pingvas",
                "variant_name": "Monthly",
                "user_name": "Bench",
                "user_email": f"bench{i}@example.com",
                "status": "active",
                "status_formatted": "Active",
                "cancelled": False,
                "trial_ends_at": None,
                "billing_anchor": at.day,
                "urls": {
                    "update_payment_method": f"https://pingvas.lemonsqueezy.com/s/{sub_id}/pay",
                    "customer_portal": f"https://pingvas.lemonsqueezy.com/billing?s={sub_id}",
                },
                "renews_at": ls_time(at + timedelta(days=30)),
                "ends_at": None,
                "created_at": ls_time(at),
                "updated_at": ls_time(at),
                "test_mode": True,
            },
        },
    }
    return json.dumps(body).encode()


def start_billing(port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    child_env = {
        **os.environ,
        **{f"BILLING_{k}": v for k, v in env.items()},
        "BILLING_PORT": str(port),
    }
    proc = subprocess.Popen(  # noqa: ASYNC220 - before the event loop has work
        [sys.executable, "-m", "pingvas_billing"],
        env=child_env,
        stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, timeout=60, proc=proc)
    return proc


async def bench_webhooks(url: str, count: int, clients: int) -> tuple[float, list[float]]:
    bodies = [webhook_body(i) for i in range(count)]
    signed = [
        (body, hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()) for body in bodies
    ]
    queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
    for item in signed:
        queue.put_nowait(item)
    latencies: list[float] = []
    bar = tqdm(total=count, desc="webhooks", unit="req", leave=False)
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as client:
        # a warm-up request, not counted
        warm = webhook_body(count + 1)
        sig = hmac.new(SECRET.encode(), warm, hashlib.sha256).hexdigest()
        async with client.post(url, data=warm, headers={"x-signature": sig}) as r:
            assert r.status == 200, await r.text()

        async def worker() -> None:
            while True:
                try:
                    body, signature = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                async with client.post(
                    url,
                    data=body,
                    headers={"x-signature": signature, "content-type": "application/json"},
                ) as response:
                    text = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {text[:300]!r}")
                latencies.append(time.perf_counter() - started)
                bar.update()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    bar.close()
    return elapsed, latencies


async def wait_processed(db: Database, total: int, timeout: float) -> tuple[int, float]:
    started = time.perf_counter()
    done = 0
    bar = tqdm(total=total, desc="processor", unit="event", leave=False)
    while time.perf_counter() - started < timeout:
        async with db.sessionmaker() as s:
            done = await s.scalar(
                sa.select(sa.func.count())
                .select_from(webhook_events)
                .where(webhook_events.c.processed_at.is_not(None))
            )
        bar.update(done - bar.n)
        if done >= total:
            break
        await asyncio.sleep(0.25)
    bar.close()
    return done, time.perf_counter() - started


async def bench_reservations(
    db: Database, outbox: Outbox, *, jobs: int, tasks: int, tenants: int, desc: str
) -> tuple[float, list[float], list[str]]:
    """`jobs` reserve + settle pairs over `tenants` tenants from `tasks` concurrent tasks."""
    now = datetime.now(UTC)
    tenant_ids = [str(uuid.uuid4()) for _ in range(tenants)]
    async with db.transaction() as s:
        for tenant_id in tenant_ids:
            await ledger.start_period(
                s,
                outbox,
                tenant_id=tenant_id,
                plan="team",
                credits=1_000_000,
                reference=f"plan_start:{tenant_id}:{now:%Y-%m-%dT%H:%M:%SZ}",
                period_end=now + timedelta(days=30),
            )
    todo: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()
    for _ in range(jobs):
        todo.put_nowait((random.choice(tenant_ids), str(uuid.uuid4()), random.randint(1, 8)))
    latencies: list[float] = []
    bar = tqdm(total=2 * jobs, desc=desc, unit="op", leave=False)

    async def worker() -> None:
        while True:
            try:
                tenant_id, job_id, credits = todo.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            async with db.transaction() as s:
                await ledger.reserve(s, tenant_id=tenant_id, job_id=job_id, credits=credits)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0)  # let the others in between, as render's events would
            started = time.perf_counter()
            async with db.transaction() as s:
                await ledger.settle(
                    s,
                    tenant_id=tenant_id,
                    job_id=job_id,
                    reserved=credits,
                    used=credits - 1,
                    outbox=outbox,
                )
            latencies.append(time.perf_counter() - started)
            bar.update(2)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    elapsed = time.perf_counter() - started
    bar.close()
    return elapsed, latencies, tenant_ids


async def check_totals(db: Database, tenant_ids: list[str]) -> bool:
    """`balances` equals the sum of the entries for every tenant, nothing left reserved."""
    async with db.sessionmaker() as s:
        held = {
            r.tenant_id: (r.balance, r.reserved)
            for r in await s.execute(
                sa.select(balances.c.tenant_id, balances.c.balance, balances.c.reserved).where(
                    balances.c.tenant_id.in_(tenant_ids)
                )
            )
        }
        summed = {
            r.tenant_id: (int(r.credits), int(r.reserved))
            for r in await s.execute(
                sa.select(
                    entries.c.tenant_id,
                    sa.func.sum(entries.c.credits).label("credits"),
                    sa.func.sum(entries.c.reserved).label("reserved"),
                )
                .where(entries.c.tenant_id.in_(tenant_ids))
                .group_by(entries.c.tenant_id)
            )
        }
    return held == summed and all(reserved == 0 for _, reserved in held.values())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", default=os.environ.get("PINGVAS_TEST_POSTGRES_URL", POSTGRES))
    parser.add_argument("--webhooks", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--tenants", type=int, default=16)
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    tmp = Path(tempfile.mkdtemp(prefix="pingvas-bench-billing-"))
    moto_port, billing_port = free_port(), free_port()
    procs = [start_moto_server(moto_port, tmp / "moto.log")]
    settings = Settings(database_url=args.postgres, db_schema=schema, var_dir=tmp)
    db = Database(settings)
    try:
        env = {
            "DATABASE_URL": args.postgres,
            "DB_SCHEMA": schema,
            "LEMONSQUEEZY_SIGNING_SECRET": SECRET,
            # the bench's own secrets; the internal one is the development default
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "BUS_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
            "BUS_WAIT_SECONDS": "1",
            "VAR_DIR": str(tmp),
        }
        procs.append(start_billing(billing_port, env, tmp / "billing.log"))
        print(
            f"bench/billing.py: Postgres schema {schema}, {os.cpu_count()} CPUs; logs in {tmp}",
            file=sys.stderr,
        )

        url = f"http://127.0.0.1:{billing_port}/webhooks/lemonsqueezy"
        hook_s, hook_lat = await bench_webhooks(url, args.webhooks, args.clients)
        processed, processed_s = await wait_processed(db, args.webhooks + 1, timeout=180)

        outbox = Outbox(metadata.tables["outbox"], source="billing")
        spread_s, spread_lat, spread_ids = await bench_reservations(
            db, outbox, jobs=args.jobs, tasks=args.tasks, tenants=args.tenants, desc="ledger"
        )
        hot_s, hot_lat, hot_ids = await bench_reservations(
            db, outbox, jobs=args.jobs, tasks=args.tasks, tenants=1, desc="ledger, hot tenant"
        )
        exact = await check_totals(db, spread_ids + hot_ids)

        print()
        print(f"{'':28s} {'ops/s':>10s} {'':>8s} {'p50 ms':>9s} {'p99 ms':>9s} {'ops':>8s}")
        print(line(f"webhooks ({args.clients} clients)", args.webhooks, hook_s, hook_lat, "req/s"))
        print(
            line(
                f"ledger ({args.tasks} tasks, {args.tenants} tenants)",
                2 * args.jobs,
                spread_s,
                spread_lat,
                "tx/s",
            )
        )
        print(line(f"ledger ({args.tasks} tasks, 1 tenant)", 2 * args.jobs, hot_s, hot_lat, "tx/s"))
        print(
            f"processor: {processed}/{args.webhooks + 1} webhook events processed "
            f"{processed_s:.1f} s after the last answer"
        )
        print(f"ledger totals equal the sum of their entries, nothing left reserved: {exact}")
    finally:
        await db.dispose()
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(10)
        conn = await asyncpg.connect(args.postgres)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
