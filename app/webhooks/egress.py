"""Where webhooks may go: never to link-local or cloud metadata addresses (unless allowed)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
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


_verdicts: dict[tuple[str, int], tuple[float, str | None]] = {}
VERDICT_TTL = 30.0  # seconds a host's resolution is trusted, like a DNS cache


async def check(url: str, allow_link_local: bool = False) -> None:
    """Resolve the target and refuse forbidden addresses. Loopback and private ranges stay allowed,
    for local development and receivers on the same network."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise EgressRefused("the URL has no host")
    if allow_link_local:
        return
    key = (host, parts.port or 443)
    cached = _verdicts.get(key)
    now = time.monotonic()
    if cached is None or cached[0] < now:
        try:
            await _resolve_and_check(host, key[1])
            cached = (now + VERDICT_TTL, None)
        except EgressRefused as exc:
            cached = (now + VERDICT_TTL, str(exc))
        if len(_verdicts) > 10_000:
            _verdicts.clear()
        _verdicts[key] = cached
    if cached[1] is not None:
        raise EgressRefused(cached[1])


async def _resolve_and_check(host: str, port: int) -> None:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise EgressRefused(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = _refused(ip)
        if reason:
            raise EgressRefused(f"{host} resolves to {ip}, {reason}")
