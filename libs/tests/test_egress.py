"""The SSRF guard of outbound webhooks: which addresses are refused (IPv4 and IPv6, also
hidden inside IPv6 forms), names resolved before the check, the connection made to the
address that was checked, no redirects followed, at most 64 KiB of an answer read."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from pingvas_kit.egress import (
    MAX_ANSWER_BYTES,
    Target,
    UnsafeUrl,
    forbidden_reason,
    post_to,
    resolve_target,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("100.64.0.1", "carrier-grade"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd00:ec2::254", "metadata"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:10.0.0.1", "inside an IPv6"),
        ("::ffff:169.254.169.254", "inside an IPv6"),
        ("64:ff9b::a00:1", "inside an IPv6"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "inside an IPv6"),  # 6to4 of 127.0.0.1
    ],
)
def test_private_and_special_addresses_are_refused(address: str, reason: str):
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str):
    assert forbidden_reason(ipaddress.ip_address(address)) is None


async def test_names_are_resolved_before_the_check():
    with pytest.raises(UnsafeUrl) as refused:
        await resolve_target("https://localhost:8443/hooks", allow_private=False)
    assert refused.value.code == "webhook_url_forbidden"
    allowed = await resolve_target("http://localhost:8443/hooks", allow_private=True)
    assert allowed.address.is_loopback and allowed.host == "localhost"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/", "webhook_url_invalid"),
        ("https://user:secret@example.com/", "webhook_url_invalid"),
        ("https://example.com/#x", "webhook_url_invalid"),
        ("https://example.com:99999/", "webhook_url_invalid"),
        # a label over 63 characters: the resolver's IDNA encoding would raise (was a 500)
        ("https://" + "0" * 64 + ".example.com/", "webhook_url_invalid"),
        ("http://example.com/", "webhook_url_insecure"),
        ("https://no-such-host.invalid/", "webhook_url_unresolvable"),
    ],
)
async def test_bad_urls_get_a_stable_code(url: str, code: str):
    with pytest.raises(UnsafeUrl) as refused:
        await resolve_target(url, allow_private=True, require_https=True)
    assert refused.value.code == code
    assert "secret" not in refused.value.message


class _Server:
    """A receiver that answers by path: /big (1 MiB), /redirect (302 to /elsewhere)."""

    def __init__(self) -> None:
        self.paths: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                server.paths.append((self.path, self.headers.get("host", "")))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("location", "/elsewhere")
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                body = b"x" * (1024 * 1024) if self.path == "/big" else b"ok"
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    thread = threading.Thread(target=s.http.serve_forever, daemon=True)
    thread.start()
    yield s
    s.http.shutdown()
    s.http.server_close()


async def test_it_connects_to_the_checked_address_with_the_real_host(server: _Server):
    # the URL names a host that resolves elsewhere (nowhere): the checked address is used
    target = Target(
        url=f"http://hooks.partner.example:{server.port}/hooks",
        host="hooks.partner.example",
        address=ipaddress.ip_address("127.0.0.1"),
    )
    async with httpx.AsyncClient() as client:
        answer = await post_to(client, target, b"{}", {}, timeout=5)
    assert answer.status_code == 200 and answer.body == b"ok"
    assert server.paths == [("/hooks", f"hooks.partner.example:{server.port}")]


async def test_no_redirect_is_followed_and_big_answers_are_cut(server: _Server):
    async with httpx.AsyncClient() as client:
        redirect = await resolve_target(
            f"http://127.0.0.1:{server.port}/redirect", allow_private=True
        )
        answer = await post_to(client, redirect, b"{}", {}, timeout=5)
        assert answer.status_code == 302
        big = await resolve_target(f"http://127.0.0.1:{server.port}/big", allow_private=True)
        answer = await post_to(client, big, b"{}", {}, timeout=5)
    assert answer.status_code == 200 and len(answer.body) == MAX_ANSWER_BYTES
    assert [p for p, _ in server.paths] == ["/redirect", "/big"]  # never /elsewhere


async def test_a_receiver_that_is_not_there_is_an_answer_not_an_exception():
    target = await resolve_target("http://127.0.0.1:9/hooks", allow_private=True)
    async with httpx.AsyncClient() as client:
        answer = await post_to(client, target, b"{}", {}, timeout=5)
    assert answer.status_code is None and answer.error == "could not connect"
