"""Abuse paths at the edge: forwarded headers only from trusted proxies, the in-process
stores' bounds, CORS without a wildcard, HSTS behind TLS, CSRF values that are not ASCII."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid

import httpx
import jwt
import pytest
from gateway_support import GOOD_KEY, access_token, gateway
from pingvas_gateway.adapters.stores import BoundedMemoryStore
from pingvas_gateway.app import create_app
from pingvas_gateway.domain.forwarded import client_of, networks
from pingvas_gateway.domain.limits import login_delay
from pingvas_gateway.settings import Settings
from pydantic import SecretStr, ValidationError

from pingvas_kit.ports import free_port
from pingvas_kit.problems import PROBLEM_JSON
from pingvas_kit.serve import server_config

# -- forwarded headers ------------------------------------------------------------------


def _client(peer: str, trusted: list[str], **headers: str):
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    header = "forwarded" if "forwarded" in headers else "x-forwarded-for"
    return client_of(peer, raw, trusted=networks(trusted), header=header)


def test_forwarded_headers_from_an_untrusted_peer_count_for_nothing():
    assert _client("198.51.100.7", [], x_forwarded_for="1.2.3.4").host == "198.51.100.7"
    spoofed = _client(
        "198.51.100.7", ["10.0.0.0/8"], x_forwarded_for="1.2.3.4", x_forwarded_proto="https"
    )
    assert (spoofed.host, spoofed.scheme) == ("198.51.100.7", None)


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client():
    trusted = ["10.0.0.0/8", "fd00::/8"]
    # the caller's own claim (6.6.6.6) sits left of what the load balancer saw
    assert _client("10.0.1.5", trusted, x_forwarded_for="6.6.6.6, 203.0.113.9").host == (
        "203.0.113.9"
    )
    # two proxies of ours in a row
    assert _client("10.0.1.5", trusted, x_forwarded_for="203.0.113.9, 10.0.2.2").host == (
        "203.0.113.9"
    )
    assert _client("10.0.1.5", trusted, x_forwarded_for="203.0.113.9:4711").host == "203.0.113.9"
    # garbage where an address should be: the last trusted hop, never the garbage
    assert _client("10.0.1.5", trusted, x_forwarded_for="nonsense, 10.0.2.2").host == "10.0.2.2"
    assert _client("10.0.1.5", trusted).host == "10.0.1.5"  # no header at all
    proto = _client("10.0.1.5", trusted, x_forwarded_for="1.1.1.1", x_forwarded_proto="https")
    assert proto.scheme == "https"
    forwarded = _client(
        "10.0.1.5",
        trusted,
        forwarded='for=6.6.6.6, for="[2001:db8::17]:4711";proto=https, for=10.0.3.3',
    )
    assert (forwarded.host, forwarded.scheme) == ("2001:db8::17", "https")


def _serve_gateway(settings: Settings):
    settings.host, settings.port = "127.0.0.1", free_port()
    server = __import__("uvicorn").Server(server_config(settings, create_app, proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{settings.port}"


def _stop(server, thread) -> None:
    server.should_exit = True
    thread.join(5)


async def test_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(
    settings,
):
    # the gateway as `python -m pingvas_gateway` runs it: uvicorn, a loopback peer
    settings.rate_limit_anonymous = "3/minute"
    server, thread, url = _serve_gateway(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            codes = [
                (
                    await http.post(
                        "/api/v1/auth/signup",
                        json={},
                        headers={
                            "x-forwarded-for": f"203.0.113.{n}",
                            "forwarded": f"for=9.9.9.{n}",
                        },
                    )
                ).status_code
                for n in range(5)
            ]
    finally:
        _stop(server, thread)
    assert codes == [200, 200, 200, 429, 429]


async def test_behind_a_trusted_proxy_each_real_client_has_its_own_ip_limit(settings):
    settings.rate_limit_anonymous = "2/minute"
    settings.trusted_proxies = ["127.0.0.0/8"]
    server, thread, url = _serve_gateway(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:

            async def signup(chain: str) -> httpx.Response:
                return await http.post(
                    "/api/v1/auth/signup",
                    json={},
                    headers={"x-forwarded-for": chain, "x-forwarded-proto": "https"},
                )

            first = [await signup(f"6.6.6.{n}, 203.0.113.1") for n in range(3)]
            other = await signup("203.0.113.2")
    finally:
        _stop(server, thread)
    # the caller's own left-most claims changed each time; the proxy's word did not
    assert [r.status_code for r in first] == [200, 200, 429]
    assert other.status_code == 200
    token = other.json()["seen"]["headers"]["x-pingvas-identity"]
    assert jwt.decode(token, options={"verify_signature": False})["ip"] == "203.0.113.2"
    # the proxy says the client came over https: HSTS, as at any https edge
    assert "strict-transport-security" in other.headers


# -- in-process stores --------------------------------------------------------------------


async def test_the_in_process_store_forgets_expired_entries_and_holds_at_most_its_bound():
    store = BoundedMemoryStore(max_entries=100, sweep_interval=0.0)
    for n in range(50):
        await store.set(f"short-{n}", b"1", expires_in=1)
    await asyncio.sleep(1.05)
    assert not await store.exists("short-0")  # expired, though never read again
    await store.set("live", b"1", expires_in=60)
    assert len(store) == 1  # the sweep dropped the fifty expired ones
    for n in range(1000):  # a flood of rotating keys, all alive
        await store.set(f"flood-{n}", b"1", expires_in=60)
    assert len(store) == 100
    assert await store.get("flood-999") == b"1"  # the newest stay
    assert await store.get("live") is None  # the oldest went first


async def test_without_redis_the_gateway_keeps_its_counters_in_bounded_stores(settings):
    settings.memory_store_max_entries = 100
    app = create_app(settings)
    store = app.stores.get("rate_limit")
    assert isinstance(store, BoundedMemoryStore) and store.max_entries == 100


# -- CORS, HSTS, CSRF ---------------------------------------------------------------------


def test_a_wildcard_cors_origin_is_refused_at_start_up(settings):
    with pytest.raises(ValidationError, match="may not hold"):
        Settings(cors_origins=["*"])
    settings.cors_origins = ["https://app.example.com", "*"]
    with pytest.raises(ValueError, match="may not hold"):
        create_app(settings)


async def test_hsts_is_sent_when_tls_is_terminated_in_front(settings):
    settings.tls_in_front = True
    async with gateway(settings) as client:
        response = await client.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("cookie_value", "header_value"),
    [("é".encode(), "é".encode()), (b"abc", "é".encode()), ("é".encode(), b"abc")],
)
async def test_a_csrf_value_that_is_not_ascii_is_a_403_problem(client, cookie_value, header_value):
    response = await client.post(
        "/api/v1/members",
        headers=[
            (b"cookie", b"pv_at=" + access_token().encode() + b"; pv_csrf=" + cookie_value),
            (b"x-csrf-token", header_value),
        ],
        json={},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["code"] == "csrf_failed"


# -- log-in -------------------------------------------------------------------------------


async def test_every_spelling_of_one_address_shares_the_log_in_limit(settings):
    settings.rate_limit_login = "2/minute"
    async with gateway(settings) as client:

        async def login(email: str) -> int:
            body = {"email": email, "password": "x"}
            return (await client.post("/api/v1/auth/login", json=body)).status_code

        assert [await login("eve@x.com"), await login('"Eve" <EVE@x.com>')] == [200, 200]
        assert await login("ｅｖｅ＠ｘ．ｃｏｍ") == 429  # full-width: the same account
        assert await login("Eve <eve@X.COM>") == 429
        assert await login("adam@x.com") == 200


def test_the_log_in_delay_doubles_and_caps():
    delays = [login_delay(n, threshold=5, initial=1.0, cap=300) for n in range(1, 16)]
    assert delays == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


async def test_failed_log_ins_of_one_account_from_many_ips_make_the_next_wait(settings):
    settings.trusted_proxies = ["127.0.0.0/8"]
    settings.login_failures_before_delay = 3
    server, thread, url = _serve_gateway(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:

            async def login(email: str, password: str, ip: str) -> httpx.Response:
                return await http.post(
                    "/api/v1/auth/login",
                    json={"email": email, "password": password},
                    headers={"x-forwarded-for": ip},
                )

            failures = [
                (await login("eve@x.com", "wrong", f"203.0.113.{n}")).status_code for n in range(3)
            ]
            # another address, another IP: the account waits, even with the right password
            waiting = await login("EVE@x.com", "right", "198.51.100.9")
            other_account = await login("adam@x.com", "wrong", "198.51.100.9")
            await asyncio.sleep(1.1)
            again = await login("eve@x.com", "wrong", "203.0.113.50")
            doubled = await login("eve@x.com", "right", "203.0.113.51")
            await asyncio.sleep(2.1)
            # the owner, after the (capped) wait, with the right password: in, and cleared
            owner = await login("eve@x.com", "right", "192.0.2.1")
            after = [
                (await login("eve@x.com", "wrong", "203.0.113.60")).status_code for _ in range(4)
            ]
            # a stranger made the account wait again; the owner's own IP does not wait
            stranger = await login("eve@x.com", "right", "203.0.113.61")
            owner_again = await login("eve@x.com", "right", "192.0.2.1")
    finally:
        _stop(server, thread)
    assert failures == [401, 401, 401]
    assert waiting.status_code == 429
    assert waiting.headers["content-type"].startswith(PROBLEM_JSON)
    assert waiting.json()["code"] == "login_delayed"
    assert waiting.headers["retry-after"] == "1"
    assert other_account.status_code == 401
    assert again.status_code == 401
    assert doubled.status_code == 429 and doubled.headers["retry-after"] == "2"
    assert owner.status_code == 200
    assert after == [401, 401, 401, 429]  # counting from zero again
    assert stranger.status_code == 429
    assert owner_again.status_code == 200


# -- event streams ------------------------------------------------------------------------

EVENTS = "/api/v1/generations/job-1/events"


async def _open_streams(http: httpx.AsyncClient, tokens: list[str]) -> list[httpx.Response]:
    """Opens a stream per token, all at once; each answer read whole (the stand-in's
    stream lasts about a second)."""

    return list(
        await asyncio.gather(
            *(http.get(EVENTS, headers={"authorization": f"Bearer {t}"}) for t in tokens)
        )
    )


async def test_open_event_streams_are_capped_per_api_key_and_per_tenant(settings):
    settings.max_streams_per_api_key = 2
    settings.max_streams_per_tenant = 3
    server, thread, url = _serve_gateway(settings)
    one_team = [access_token(sub=f"u{n}", tid="tenant-streams") for n in range(4)]
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            by_key = await _open_streams(http, [GOOD_KEY] * 3)
            by_team = await _open_streams(http, [*one_team, access_token(tid="tenant-b")])
            later = await _open_streams(http, [GOOD_KEY, GOOD_KEY])  # all closed by now
    finally:
        _stop(server, thread)
    assert sorted(r.status_code for r in by_key) == [200, 200, 429]
    refused = next(r for r in by_key if r.status_code == 429)
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["code"] == "too_many_streams" and "retry-after" in refused.headers
    assert all("event: tick" in r.text for r in by_key if r.status_code == 200)
    assert sorted(r.status_code for r in by_team[:4]) == [200, 200, 200, 429]
    assert by_team[4].status_code == 200  # another team has its own count
    assert [r.status_code for r in later] == [200, 200]


async def test_event_streams_have_their_own_pool_and_never_starve_ordinary_requests(settings):
    settings.stream_pool_size = 2
    server, thread, url = _serve_gateway(settings)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            streams = asyncio.gather(
                *(
                    http.get(EVENTS, headers={"authorization": f"Bearer {access_token(tid=t)}"})
                    for t in ("t1", "t2")
                )
            )
            await asyncio.sleep(0.3)  # both open, the pool of streams full
            third = await http.get(
                EVENTS, headers={"authorization": f"Bearer {access_token(tid='t3')}"}
            )
            ordinary = await http.get(
                "/api/v1/me", headers={"authorization": f"Bearer {access_token(tid='t3')}"}
            )
            opened = await streams
    finally:
        _stop(server, thread)
    assert [r.status_code for r in opened] == [200, 200]
    assert third.status_code == 503 and third.json()["code"] == "streams_full"
    assert ordinary.status_code == 200


async def test_the_streams_pool_is_not_the_ordinary_one(settings):
    settings.stream_pool_size = 7
    app = create_app(settings)
    async with app.lifespan():
        proxy = app.state.proxy
        assert proxy.stream_client is not proxy.client
        assert proxy.stream_client.connector.limit == 7


async def test_with_redis_an_accounts_wait_holds_on_every_replica(settings):
    """Against the machine's Redis (.ci/run starts it when it is down)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.fail("Redis is not reachable on 127.0.0.1:6379; start it (see .ci/run)")
    settings.redis_url = SecretStr("redis://127.0.0.1:6379/0")
    settings.login_failures_before_delay = 2
    email = f"eve-{uuid.uuid4().hex}@x.com"
    body = {"email": email, "password": "wrong"}
    async with gateway(settings) as client:
        first = [(await client.post("/api/v1/auth/login", json=body)).status_code for _ in "ab"]
    async with gateway(settings) as client:  # another replica
        waiting = await client.post("/api/v1/auth/login", json={**body, "email": email.upper()})
    assert first == [401, 401]
    assert waiting.status_code == 429 and waiting.json()["code"] == "login_delayed"
