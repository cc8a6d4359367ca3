"""Who the client is when proxies stand in front: the forwarded headers, believed only from
the proxies the operator named (GATEWAY_TRUSTED_PROXIES).

A caller can write any X-Forwarded-For or Forwarded it likes; a proxy appends the address it
saw to the right. So the chain is read from the right, the peer first: while an address is
one of the trusted proxies, step left; the first address that is not trusted is the client.
From an untrusted peer nothing is read: the peer is the client. An entry that is not an
address (a caller's garbage, `unknown`, an obfuscated `_node`) ends the walk: the client is
the last trusted hop then, never the garbage. X-Forwarded-Proto (or Forwarded's `proto`) is
taken from the right-most value, the nearest proxy's, and only from a trusted peer."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
ForwardedHeader = Literal["x-forwarded-for", "forwarded"]


@dataclass(frozen=True, slots=True)
class Client:
    host: str
    #: "http" / "https" as the trusted proxy saw it; None: the connection's own
    scheme: str | None = None


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def parse_address(value: str) -> Address | None:
    """An address from a chain entry: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `"[::1]"`, `::1`."""
    value = value.strip().strip('"').strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in net for net in trusted)


def _forwarded_pairs(values: Sequence[str]) -> list[dict[str, str]]:
    """RFC 7239: `for=1.2.3.4;proto=https, for="[::1]:80"` -> one dict per element."""
    elements = []
    for value in values:
        for element in value.split(","):
            pairs: dict[str, str] = {}
            for pair in element.split(";"):
                name, sep, item = pair.partition("=")
                if sep:
                    pairs[name.strip().lower()] = item.strip().strip('"')
            elements.append(pairs)
    return elements


def client_of(
    peer: str,
    headers: Iterable[tuple[bytes, bytes]],
    *,
    trusted: Sequence[Network],
    header: ForwardedHeader = "x-forwarded-for",
) -> Client:
    """The client behind `peer` (the socket's address), given the request's raw headers."""
    peer_address = parse_address(peer)
    if not trusted or peer_address is None or not _trusted(peer_address, trusted):
        return Client(peer)
    chain_values: list[str] = []
    protos: list[str] = []
    for name, raw in headers:
        if name == header.encode():
            chain_values.append(raw.decode("latin-1"))
        elif header == "x-forwarded-for" and name == b"x-forwarded-proto":
            protos.extend(p.strip() for p in raw.decode("latin-1").split(","))
    if header == "forwarded":
        elements = _forwarded_pairs(chain_values)
        chain = [e.get("for", "") for e in elements]
        protos = [e["proto"] for e in elements if "proto" in e]
    else:
        chain = [entry for value in chain_values for entry in value.split(",")]
    client: Address = peer_address
    for entry in reversed(chain):
        if not entry.strip():
            continue
        address = parse_address(entry)
        if address is None:
            break  # garbage before the last trusted hop: that hop is all we know
        client = address
        if not _trusted(address, trusted):
            break
    scheme = protos[-1].lower() if protos and protos[-1].lower() in ("http", "https") else None
    return Client(str(client), scheme)
