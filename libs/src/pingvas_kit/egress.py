"""Outbound HTTP to addresses customers give us (webhook endpoints, per-request callbacks),
guarded against server-side request forgery.

    target = await resolve_target(url, allow_private=settings.webhook_allow_private)
    answer = await post_to(client, target, body, headers, timeout=15.0)

`resolve_target` resolves the host once and refuses the whole URL if ANY address it
resolves to is loopback, private (RFC 1918, unique-local fc00::/7), link-local, multicast,
unspecified, reserved, shared (100.64/10), the cloud metadata addresses (169.254.169.254,
fd00:ec2::254) or an IPv4 address hidden in IPv6 (::ffff:10.0.0.1, 64:ff9b::/96, 6to4).
`post_to` then connects to the address that was checked (not to a second resolution, so a
DNS answer that changes between the check and the connection cannot redirect it), sends
the original Host and TLS server name, follows no redirects and reads at most `max_bytes`
of the answer.

The local run (`./pingvas up`) and the tests pass `allow_private=True` so that a receiver
on 127.0.0.1 works; production never does (the settings refuse it there)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from .problems import register_codes, register_field_codes

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

#: the cloud metadata services (AWS, GCP, Azure, Alibaba): never a customer's receiver
METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_6TO4 = ipaddress.ip_network("2002::/16")

#: at most this much of a receiver's answer is read
MAX_ANSWER_BYTES = 64 * 1024


#: why a URL may not be called (UnsafeUrl.code): a 422's code, and its field's
WEBHOOK_URL_CODES = register_field_codes(
    *register_codes(
        "webhook_url_invalid",
        "webhook_url_insecure",
        "webhook_url_unresolvable",
        "webhook_url_forbidden",
        status=422,
    )
)


class UnsafeUrl(ValueError):
    """The URL may not be called: `code` says why, stable for problem+json."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def forbidden_reason(address: IP) -> str | None:
    """Why `address` is no place to send a webhook, or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return reason and f"{reason} (inside an IPv6 address)"
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a carrier-grade NAT address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class Target:
    """A URL checked for sending, and the address it will be sent to."""

    url: str
    host: str
    address: IP

    def connect_url(self) -> str:
        """The URL with the host replaced by the checked address (its port and path kept)."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))

    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if parts.port is None else f"{host}:{parts.port}"


def check_syntax(url: str, *, require_https: bool) -> tuple[str, int]:
    """The host and port of an absolute http(s) URL without credentials, or UnsafeUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("webhook_url_invalid", "The URL is not valid.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl("webhook_url_invalid", "The URL must be an absolute http(s) URL.")
    if require_https and parts.scheme != "https":
        raise UnsafeUrl("webhook_url_insecure", "The URL must use https.")
    if parts.username or parts.password:
        raise UnsafeUrl("webhook_url_invalid", "The URL must not carry a user name or password.")
    if parts.fragment:
        raise UnsafeUrl("webhook_url_invalid", "The URL must not have a #fragment.")
    try:
        parts.hostname.encode("idna")  # what the resolver does with it (a label over 63, ...)
    except UnicodeError:
        raise UnsafeUrl("webhook_url_invalid", "The URL's host name is not valid.") from None
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_target(
    url: str, *, allow_private: bool, require_https: bool = False, timeout: float = 5.0
) -> Target:
    """Check `url` and resolve its host; UnsafeUrl when it may not be called."""
    host, port = check_syntax(url, require_https=require_https)
    try:
        literal: IP | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IP] = [literal]
    else:
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
                timeout,
            )
        except (OSError, TimeoutError):
            raise UnsafeUrl(
                "webhook_url_unresolvable", f"The host {host} could not be resolved."
            ) from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise UnsafeUrl("webhook_url_unresolvable", f"The host {host} has no address.")
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason:
                raise UnsafeUrl(
                    "webhook_url_forbidden",
                    f"The URL points at {reason} ({address}); webhooks go to public "
                    "addresses only.",
                )
    return Target(url=url, host=host, address=addresses[0])


@dataclass(frozen=True)
class Answer:
    """What the receiver answered (or why it did not)."""

    status_code: int | None
    latency_ms: int
    body: bytes
    error: str | None = None


async def post_to(
    client: httpx.AsyncClient,
    target: Target,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> Answer:
    """POST `body` to the checked address; never raises for the receiver's failures."""
    started = time.perf_counter()
    extensions: dict[str, object] = {}
    if urlsplit(target.url).scheme == "https":
        extensions["sni_hostname"] = target.host
    request = client.build_request(
        "POST",
        target.connect_url(),
        content=body,
        headers={**headers, "Host": target.host_header()},
        extensions=extensions,
        timeout=timeout,
    )
    received = bytearray()
    try:
        async with asyncio.timeout(timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                async for chunk in response.aiter_raw():
                    received.extend(chunk[: max_bytes - len(received)])
                    if len(received) >= max_bytes:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        return Answer(None, _ms(started), bytes(received), f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Answer(None, _ms(started), bytes(received), _describe(exc))
    return Answer(response.status_code, _ms(started), bytes(received))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "could not connect"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"HTTP error ({type(exc).__name__})"
