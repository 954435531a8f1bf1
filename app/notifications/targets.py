"""Outbound target check: a webhook, Slack or Teams URL must lead to the public internet.

Subscribers choose the URLs we POST to, so an unchecked URL would let anyone make the service call
its own network (loopback admin ports, cloud metadata at 169.254.169.254, private services). The
check runs when a subscriber is created and again at delivery time (DNS answers change).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services, named even though the generic rules below already cover them.
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeTarget(ValueError):
    """The URL is not an acceptable outbound target; the message says why."""


class UnresolvableTarget(UnsafeTarget):
    """The host did not resolve (perhaps only for now: delivery may treat it as transient)."""


def _unwrap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def unsafe_reason(address: IPAddress) -> str | None:
    """Why this address may not be called, or None when it is a public unicast address."""
    address = _unwrap(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    for failed, reason in checks:
        if failed:
            return reason
    return None


def split_target(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL; UnsafeTarget when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"{url!r} is not a valid URL") from exc
    if parts.scheme not in _DEFAULT_PORTS:
        raise UnsafeTarget("the URL must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("the URL has no host")
    return host, port or _DEFAULT_PORTS[parts.scheme]


async def resolve_public_addresses(url: str, *, allow_private: bool) -> list[IPAddress]:
    """Every address the URL's host resolves to, all checked; an empty list when `allow_private`
    skips the check. A caller that connects to one of these addresses itself is safe from a DNS
    answer that changes between the check and the connection."""
    host, port = split_target(url)
    if allow_private:
        return []
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise UnresolvableTarget(f"the host {host!r} could not be resolved") from exc
        addresses = list(
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
        )
        if not addresses:
            raise UnresolvableTarget(f"the host {host!r} could not be resolved")
    for address in addresses:
        reason = unsafe_reason(address)
        if reason is not None:
            shown = host if literal is not None else f"{host} ({address})"
            raise UnsafeTarget(f"{shown} is {reason}; only public internet targets are allowed")
    return addresses


async def check_public_target(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeTarget unless the URL is http(s) and (unless `allow_private`) every address of
    its host is public: not loopback, private, link-local, multicast, unspecified or metadata."""
    await resolve_public_addresses(url, allow_private=allow_private)
