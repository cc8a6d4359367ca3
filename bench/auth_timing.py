"""Sign-up and password reset take the same time for known and unknown addresses.

Starts moto's server and the tenants service (uvicorn, in this process; SQLite in a temporary
folder, or --postgres: a schema of its own on the local server, dropped afterwards), registers one account, then sends N requests of each kind one after
another, alternating known and unknown addresses so that both see the same machine:

  signup   POST /api/v1/auth/signup with the registered address / a fresh one
  reset    POST /api/v1/auth/password-reset with the registered address / an unknown one

and prints the median and p90 of each and the difference of the medians; exits 1 when a
difference is 5 ms or more. Argon2id runs with the service's defaults unless --fast-hash.

    uv run python bench/auth_timing.py [--requests 200] [--fast-hash] [--postgres] [--pause 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import uvicorn
from pingvas_tenants.app import create_app
from pingvas_tenants.settings import Settings

from pingvas_kit.dev.emulator import start_moto_server
from pingvas_kit.identity import HEADER, Identity, issue
from pingvas_kit.ports import free_port, wait_for_port

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery"
KNOWN = "known@bench.example"
TARGET_MS = 5.0


def anonymous(secret: str) -> dict[str, str]:
    identity = Identity(principal_id="anonymous", kind="anonymous", tenant_id=None)
    if "audience" in inspect.signature(issue).parameters:
        return {HEADER: issue(identity, secret, audience="tenants")}
    return {HEADER: issue(identity, secret)}


async def timed(client: httpx.AsyncClient, path: str, body: dict, secret: str) -> float:
    headers = anonymous(secret)
    start = time.perf_counter()
    r = await client.post(path, json=body, headers=headers)
    elapsed = time.perf_counter() - start
    assert r.status_code == 202, r.text
    return elapsed * 1000


async def bench(args: argparse.Namespace) -> int:
    os.environ.setdefault("PINGVAS_ENVIRONMENT", "test")  # development secrets, a bench run
    # the emulator's fake credentials: nothing reaches a real account
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ[key] = "test"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    tmp = Path(tempfile.mkdtemp(prefix="pingvas-auth-bench-"))
    moto_port, port = free_port(), free_port()
    moto = start_moto_server(moto_port, tmp / "moto.log")
    overrides: dict = {
        "aws_endpoint_url": f"http://127.0.0.1:{moto_port}",
        "bus_prefix": f"bench{uuid.uuid4().hex[:6]}",
        "var_dir": tmp,
        "log_level": "warning",
    }
    schema = f"bench_auth_{uuid.uuid4().hex[:8]}"
    if args.postgres:
        overrides.update(database_url=POSTGRES, db_schema=schema)
    if args.fast_hash:
        overrides.update(argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1)
    try:
        settings = Settings(**overrides)
    except Exception:  # an older settings class without one of these
        overrides.pop("log_level", None)
        settings = Settings(**overrides)
    secret = settings.internal_secret.get_secret_value()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn has no event for it
            await asyncio.sleep(0.05)
        wait_for_port(port)
        results: dict[str, list[float]] = {}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            def signup(email: str) -> dict:
                return {"email": email, "password": PASSWORD, "name": "B", "team_name": "Bench"}

            await timed(client, "/api/v1/auth/signup", signup(KNOWN), secret)
            for _ in range(5):  # warm up both paths
                await timed(client, "/api/v1/auth/signup", signup(KNOWN), secret)
                await timed(client, "/api/v1/auth/password-reset", {"email": KNOWN}, secret)
            cases = {
                "signup known": ("/api/v1/auth/signup", lambda: signup(KNOWN)),
                "signup unknown": (
                    "/api/v1/auth/signup",
                    lambda: signup(f"new-{uuid.uuid4().hex[:12]}@bench.example"),
                ),
                "reset known": ("/api/v1/auth/password-reset", lambda: {"email": KNOWN}),
                "reset unknown": (
                    "/api/v1/auth/password-reset",
                    lambda: {"email": f"nobody-{uuid.uuid4().hex[:12]}@bench.example"},
                ),
            }
            for name in cases:
                results[name] = []
            for _ in range(args.requests):
                for name, (path, body) in cases.items():
                    results[name].append(await timed(client, path, body(), secret))
                    # let the work after the answer finish: each request meets an idle service
                    await asyncio.sleep(args.pause)
    finally:
        server.should_exit = True
        await serving
        moto.terminate()
        moto.wait(10)
        if args.postgres:
            import asyncpg

            conn = await asyncpg.connect(POSTGRES)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

    medians = {}
    where = "Postgres" if args.postgres else "SQLite"
    hashing = "fast" if args.fast_hash else "default"
    print(f"{args.requests} requests each, {where}, argon2 {hashing}")
    for name, values in results.items():
        values.sort()
        medians[name] = statistics.median(values)
        p90 = values[int(len(values) * 0.9)]
        print(f"  {name:15s} median {medians[name]:7.2f} ms   p90 {p90:7.2f} ms")
    worst = 0.0
    for kind in ("signup", "reset"):
        diff = abs(medians[f"{kind} known"] - medians[f"{kind} unknown"])
        worst = max(worst, diff)
        print(f"  {kind}: |known - unknown| = {diff:.2f} ms (target < {TARGET_MS} ms)")
    return 0 if worst < TARGET_MS else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fast-hash", action="store_true", help="cheap argon2id parameters")
    parser.add_argument("--postgres", action="store_true", help=f"on {POSTGRES}")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between requests")
    sys.exit(asyncio.run(bench(parser.parse_args())))


if __name__ == "__main__":
    main()
