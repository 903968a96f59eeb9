"""Where webhooks may go: never to link-local or cloud metadata addresses (unless allowed)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class EgressRefused(Exception):
    pass


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    return None


async def check(url: str, allow_link_local: bool = False) -> None:
    """Resolve the target and refuse forbidden addresses. Loopback and private ranges stay allowed,
    for local development and receivers on the same network."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise EgressRefused("the URL has no host")
    if allow_link_local:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise EgressRefused(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = _refused(ip)
        if reason:
            raise EgressRefused(f"{host} resolves to {ip}, {reason}")
