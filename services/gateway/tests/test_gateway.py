"""The gateway's health, readiness over real upstream HTTP servers, front page and errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from litestar.testing import AsyncTestClient
from pingvas_gateway.app import create_app
from pingvas_gateway.settings import DEFAULT_UPSTREAMS, Settings

from pingvas_kit.ports import free_port
from pingvas_kit.problems import PROBLEM_JSON


class _Upstream(BaseHTTPRequestHandler):
    """A service's /healthz: 200 at once, or after `delay` seconds."""

    delay = 0.0

    def do_GET(self) -> None:  # noqa: N802
        if self.path != "/healthz":
            self.send_error(404)
            return
        time.sleep(self.delay)
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def _serve(delay: float = 0.0) -> Iterator[str]:
    handler = type("Upstream", (_Upstream,), {"delay": delay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def upstream() -> Iterator[str]:
    yield from _serve()


@pytest.fixture
def slow_upstream() -> Iterator[str]:
    yield from _serve(delay=2.0)


@pytest.fixture
def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def _client(**upstreams: str) -> AsyncTestClient:
    # no SPA build: / is the placeholder status page
    settings = Settings(upstreams=upstreams, upstream_health_timeout=0.5, web_dist="/nonexistent")
    return AsyncTestClient(app=create_app(settings))


def test_defaults_point_at_every_service():
    settings = Settings()
    assert settings.port == 8080
    assert settings.upstreams == DEFAULT_UPSTREAMS
    assert set(settings.upstreams) == {"tenants", "billing", "render", "mail", "search"}


def test_upstreams_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_UPSTREAMS", '{"tenants": "http://tenants:8101"}')
    monkeypatch.setenv("GATEWAY_PORT", "9000")
    settings = Settings()
    assert settings.upstreams == {"tenants": "http://tenants:8101"}
    assert settings.port == 9000


async def test_healthz_answers_even_when_every_upstream_is_down(nowhere):
    async with _client(tenants=nowhere) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "gateway"}


async def test_readyz_is_200_when_every_upstream_answers(upstream):
    async with _client(tenants=upstream, billing=upstream) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "upstreams": {"billing": "ok", "tenants": "ok"}}


async def test_readyz_is_503_problem_naming_the_upstreams_that_are_down(upstream, nowhere):
    async with _client(tenants=upstream, billing=nowhere, render=nowhere) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == 503
    assert body["type"].endswith("/not-ready")
    assert body["down"] == ["billing", "render"]
    assert body["upstreams"]["tenants"] == "ok"
    assert body["upstreams"]["billing"] == "ConnectError"


async def test_an_upstream_slower_than_the_deadline_counts_as_down(slow_upstream):
    async with _client(tenants=slow_upstream) as client:
        started = time.monotonic()
        response = await client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["upstreams"] == {"tenants": "timeout"}
    assert elapsed < 1.5


async def test_front_page_lists_each_service_and_whether_it_is_up(upstream, nowhere):
    async with _client(tenants=upstream, billing=nowhere) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Pingvas is running" in response.text
    assert '<strong>tenants</strong>: <span class="up">up</span>' in response.text
    assert (
        '<strong>billing</strong>: <span class="down">down (ConnectError)</span>' in response.text
    )


async def test_unknown_route_is_a_404_problem(nowhere):
    async with _client(tenants=nowhere) as client:
        response = await client.get("/no-such-route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json() == {
        "type": "https://pingvas.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "code": "not-found",
    }


async def test_wrong_method_is_a_405_problem(nowhere):
    async with _client(tenants=nowhere) as client:
        response = await client.post("/healthz")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["title"] == "Method Not Allowed"
