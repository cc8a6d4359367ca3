"""Gateway overhead: an authenticated, proxied GET through the gateway against the same
GET sent straight to the upstream service, in one run, on this machine.

Starts moto's server (the tenants service publishes events), the tenants service and the
gateway as real processes, signs up and logs in a user, then for each target runs
32 concurrent connections for a fixed time and prints requests/s and p50/p99 latency:

  direct   GET /api/v1/me on tenants, with an internal identity the bench signs itself
  gateway  GET /api/v1/me on the gateway with the user's access token: JWT check,
           rate limit, internal identity signing, proxying

    uv run python bench/gateway.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import httpx
import jwt

from pingvas_kit.dev.emulator import start_moto_server
from pingvas_kit.identity import Identity, IdentityHeaders
from pingvas_kit.ports import free_port, wait_for_port

INTERNAL_SECRET = "bench-internal-secret-" + "x" * 24
JWT_SECRET = "bench-jwt-secret-" + "y" * 24


def start(module: str, prefix: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    child_env = {
        **os.environ,
        **{f"{prefix}{k}": v for k, v in env.items()},
        f"{prefix}PORT": str(port),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        env=child_env,
        stdout=open(log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, timeout=60, proc=proc)
    return proc


async def load(
    url: str, headers: Mapping[str, str], seconds: float, connections: int
) -> tuple[float, list[float]]:
    """`connections` keep-alive connections, each sending its next request when the last
    answer arrived (aiohttp: a lighter client than httpx, so the load generator, which
    shares the machine's two cores, takes less of them)."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker(record: bool, until: float) -> None:
            nonlocal errors
            while time.perf_counter() < until:
                started = time.perf_counter()
                async with client.get(url, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        errors += 1
                        if errors > 20:
                            raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")
                    elif record:
                        latencies.append(time.perf_counter() - started)

        await asyncio.gather(
            *(worker(False, time.perf_counter() + 1.0) for _ in range(connections))
        )
        started = time.perf_counter()
        await asyncio.gather(*(worker(True, started + seconds) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, sorted(latencies)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pingvas-bench-gw-"))
    moto_port, tenants_port, gateway_port = free_port(), free_port(), free_port()
    procs = [start_moto_server(moto_port, tmp / "moto.log")]
    common = {
        "INTERNAL_SECRET": INTERNAL_SECRET,
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "VAR_DIR": str(tmp),
        "BUS_WAIT_SECONDS": "1",
    }
    try:
        procs.append(
            start("pingvas_tenants", "TENANTS_", tenants_port, common, tmp / "tenants.log")
        )
        gateway_env = common | {
            "UPSTREAMS": json.dumps({"tenants": f"http://127.0.0.1:{tenants_port}"}),
            # the bench measures proxying, not the limiter's refusals
            "RATE_LIMIT_TENANT": "100000000/minute",
            "RATE_LIMIT_API_KEY": "100000000/minute",
            "RATE_LIMIT_ANONYMOUS": "100000000/minute",
        }
        procs.append(
            start("pingvas_gateway", "GATEWAY_", gateway_port, gateway_env, tmp / "gateway.log")
        )
        gateway = f"http://127.0.0.1:{gateway_port}"
        async with httpx.AsyncClient(base_url=gateway, timeout=30) as c:
            email = "bench@example.com"
            r = await c.post(
                "/api/v1/auth/signup",
                json={
                    "email": email,
                    "password": "correct horse battery",
                    "name": "Bench",
                    "team_name": "Bench team",
                    "locale": "en",
                },
            )
            assert r.status_code in (200, 201, 202), r.text
            r = await c.post(
                "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"}
            )
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        # a fresh token (jti) per request, as the gateway mints: tenants accepts each once
        internal = IdentityHeaders(
            Identity(
                principal_id=claims["sub"],
                kind="user",
                tenant_id=claims["tid"],
                roles=tuple(claims.get("rol") or ()),
                email_verified=bool(claims.get("evf")),
                session_id=claims.get("sid"),
            ),
            INTERNAL_SECRET,
            audience="tenants",
        )
        print(
            f"bench/gateway.py: GET /api/v1/me, {args.connections} connections, {args.seconds:.0f} s each",
            file=sys.stderr,
        )
        direct_rps, direct = await load(
            f"http://127.0.0.1:{tenants_port}/api/v1/me",
            internal,
            args.seconds,
            args.connections,
        )
        gw_rps, via = await load(
            f"{gateway}/api/v1/me",
            {"authorization": f"Bearer {token}"},
            args.seconds,
            args.connections,
        )
        print()
        print(f"{'':10s} {'req/s':>10s} {'p50 ms':>10s} {'p99 ms':>10s}")
        print(
            f"{'direct':10s} {direct_rps:10.0f} {pct(direct, 0.5):10.2f} {pct(direct, 0.99):10.2f}"
        )
        print(f"{'gateway':10s} {gw_rps:10.0f} {pct(via, 0.5):10.2f} {pct(via, 0.99):10.2f}")
        ratio = gw_rps / direct_rps
        added = pct(via, 0.5) - pct(direct, 0.5)
        print(
            f"gateway keeps {ratio:.0%} of direct throughput, adds {added:.2f} ms at p50 "
            f"(target: >= 60% and <= 2 ms -> {'met' if ratio >= 0.6 and added <= 2 else 'NOT met'})"
        )
        print(
            f"(mean latency: direct {statistics.mean(direct) * 1000:.2f} ms, gateway {statistics.mean(via) * 1000:.2f} ms)"
        )
        # at 32 connections both sides are saturated and p50 is mostly queueing; one
        # connection shows what the gateway adds to a single request
        _, direct1 = await load(
            f"http://127.0.0.1:{tenants_port}/api/v1/me", internal, args.seconds / 2, 1
        )
        _, via1 = await load(
            f"{gateway}/api/v1/me", {"authorization": f"Bearer {token}"}, args.seconds / 2, 1
        )
        print(
            f"one connection: direct p50 {pct(direct1, 0.5):.2f} ms, gateway p50 {pct(via1, 0.5):.2f} ms, "
            f"the gateway adds {pct(via1, 0.5) - pct(direct1, 0.5):.2f} ms"
        )
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
