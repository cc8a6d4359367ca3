"""The whole local stack as tests run it: `pingvas-dev up` as a subprocess on a temporary
--var and free ports (a developer's own `./pingvas up` is never touched), with helpers to
wait for it, find its services, read links from the tenants outbox, and stop it."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from ..ports import free_port, port_in_use
from ._runner import STATE_FILE

REPO = Path(__file__).resolve().parents[4]
#: what the developer's shell may set that must not leak into a test's run
SCRUB = (
    "PINGVAS_AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "DATABASE_URL",
    "PINGVAS_DATABASE_URL",
    "PINGVAS_BUS",
    "PINGVAS_BUS_PREFIX",
)


def free_port_base(count: int = 12) -> int:
    """A --port-base such that base+1 .. base+count are all free (services at base+1..5,
    workers from base+10)."""
    for _ in range(200):
        # below the kernel's ephemeral range (32768-60999 by default), where the tests' own
        # outgoing connections could take a port between this check and the run's bind
        base = random.randrange(20000, 32000, 20)
        if not any(port_in_use(base + i) for i in range(1, count + 1)):
            return base
    raise RuntimeError("no free block of ports")


@contextmanager
def running_stack(
    root: Path,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    *,
    services: Sequence[str] = (),
    timeout: float = 240,
) -> Iterator[Stack]:
    """A Stack whose gateway, tenants and `services` are up, stopped (Ctrl-C) at the end;
    its output is printed when it did not come up, or always with PINGVAS_SHOW_STACK set.

        @pytest.fixture(scope="module")
        def stack(tmp_path_factory):
            with running_stack(tmp_path_factory.mktemp("x"), ["--only", "gateway,tenants"]) as s:
                yield s
    """
    stack = Stack(root, args=args, env=env)
    ok = False
    try:
        stack.wait_ready(timeout=timeout, services=services)
        ok = True
        yield stack
    finally:
        stack.stop()
        if not ok or os.environ.get("PINGVAS_SHOW_STACK"):
            print(f"\n----- pingvas-dev output (last lines) -----\n{stack.output[-12000:]}")


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2.0)
    except httpx.HTTPError:
        return None


class Stack:
    """One `pingvas-dev up` subprocess; its output goes to a file, shown when the test fails."""

    def __init__(
        self,
        root: Path,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        cwd: Path = REPO,
    ) -> None:
        self.var = root / "var"
        self.out = root / "pingvas-dev.out"
        self.gateway_port = free_port()
        self.url = f"http://127.0.0.1:{self.gateway_port}"
        dev = Path(sys.executable).with_name("pingvas-dev")
        command = [str(dev)] if dev.exists() else [sys.executable, "-m", "pingvas_kit.dev.run"]
        extra = env or {}
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        env.update(NO_COLOR="1", PINGVAS_BUS_WAIT_SECONDS="1")
        env.update(extra)
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    *command,
                    "up",
                    "--var",
                    str(self.var),
                    "--gateway-port",
                    str(self.gateway_port),
                    "--port-base",
                    str(free_port_base()),
                    "--moto-port",
                    str(free_port()),
                    "--no-color",
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        try:
            return self.out.read_text(errors="replace")
        except OSError:
            return ""

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"pingvas-dev exited ({self.proc.returncode}) while waiting for {what}"
                )
            if predicate():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")

    def service_url(self, name: str) -> str | None:
        try:
            state = json.loads((self.var / STATE_FILE).read_text())
            return state["services"][name]["url"]
        except (OSError, ValueError, KeyError):
            return None

    def healthy(self, name: str) -> bool:
        """Whether service `name` ("gateway", "search", "render-worker", ...) answers /healthz."""
        url = self.url if name == "gateway" else self.service_url(name)
        response = _get(f"{url}/healthz") if url else None
        return response is not None and response.status_code == 200

    def wait_ready(self, timeout: float = 120, services: Sequence[str] = ()) -> None:
        """The gateway and tenants, then each of `services`, answer /healthz."""
        for name in ("gateway", "tenants", *services):
            self.wait(partial(self.healthy, name), timeout, f"{name} /healthz")

    def stop(self) -> None:
        """Ctrl-C, as a developer would; harder only if that does not end it."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    # the tenants service's outbox stands in for the mail service's inbox
    def outbox_link(self, event_type: str, field: str, email: str, timeout: float = 10) -> str:
        db = self.var / "tenants.db"
        found: list[str] = []

        def look() -> bool:
            if not db.exists():
                return False
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute(
                    "SELECT body FROM outbox WHERE type = ? ORDER BY position DESC", (event_type,)
                ).fetchall()
            except sqlite3.OperationalError:
                return False
            finally:
                conn.close()
            for (body,) in rows:
                data = json.loads(body).get("data") or {}
                if str(data.get("email", "")).lower() == email.lower() and data.get(field):
                    found.append(data[field])
                    return True
            return False

        self.wait(look, timeout, f"{event_type} for {email} in {db}")
        return self.rewrite(found[0])

    def rewrite(self, link: str) -> str:
        """The link as mailed, with its origin replaced by this run's gateway."""
        parts = urlsplit(link)
        gateway = urlsplit(self.url)
        return urlunsplit((gateway.scheme, gateway.netloc, parts.path, parts.query, ""))


#: what Team signs up with
VERIFY = "pingvas.tenants.user.verification_requested.v1"
PASSWORD = "correct horse battery"


class Team:
    """A signed-up, verified, logged-in user of a fresh tenant, calling the gateway."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        base = stack.url + "/api/v1"
        signup = httpx.post(
            f"{base}/auth/signup",
            json={"email": email, "password": PASSWORD, "name": name, "team_name": name},
        )
        assert signup.status_code == 202, signup.text
        link = stack.outbox_link(VERIFY, "verification_url", email)
        token = parse_qs(urlsplit(link).query)["token"][0]
        assert httpx.post(f"{base}/auth/verify-email", json={"token": token}).status_code < 300
        self.email = email
        self.http = httpx.Client(base_url=base, timeout=30)
        self.log_in()

    def log_in(self) -> None:
        """(Again: a new access token carries what changed since, e.g. a platform role.)"""
        login = self.http.post("/auth/login", json={"email": self.email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        self.http.cookies.clear()  # a partner's way: the bearer token only, no session cookie
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def entitlements(self) -> dict[str, Any]:
        return self.wait_for(lambda: self.http.get("/entitlements"), "entitlements").json()

    def wait_for(self, call: Any, what: str, timeout: float = 20) -> httpx.Response:
        """tenant.created reaches render through the bus: the first calls may be early."""
        deadline = time.monotonic() + timeout
        while True:
            response = call()
            if response.status_code < 400 or time.monotonic() > deadline:
                assert response.status_code < 400, f"{what}: {response.text}"
                return response
            time.sleep(0.3)

    def generate(self, prompt: str, **params: Any) -> dict[str, Any]:
        body = {"prompt": prompt, "num_images": 1, "scheduler": "euler", **params}
        response = self.wait_for(
            lambda: self.http.post(
                "/generations", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            ),
            "POST generations",
        )
        assert response.status_code == 202, response.text
        return response.json()

    def events(
        self, job_id: str, *, last_event_id: str | None = None, stop_after_progress: bool = False
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """The job's server-sent events until the stream ends: (id, event, data)."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        seen: list[tuple[str, str, dict[str, Any]]] = []
        with self.http.stream(
            "GET", f"/generations/{job_id}/events", headers=headers, timeout=120
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line.startswith(":"):
                    continue
                if line:
                    key, _, value = line.partition(":")
                    fields[key] = value.removeprefix(" ")
                    continue
                if "event" in fields:
                    seen.append((fields.get("id", ""), fields["event"], json.loads(fields["data"])))
                    if stop_after_progress and fields["event"] == "progress":
                        break
                fields = {}
        return seen
