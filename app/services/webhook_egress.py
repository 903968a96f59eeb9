"""Where webhooks may go: never to link-local or cloud metadata addresses (unless allowed)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from urllib.parse import urlsplit

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class EgressRefused(Exception):
    pass


class Unresolvable(EgressRefused):
    pass


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 reaches the same host
    if ip in METADATA:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "not a unicast address"
    return None


def _host_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 443
    except ValueError as exc:  # a bracketed host that is not IPv6, a port that is not a number
        raise EgressRefused(f"the URL is malformed: {exc}") from None
    if not host:
        raise EgressRefused("the URL has no host")
    return host, port


_verdicts: dict[tuple[str, int], tuple[float, str | None]] = {}
VERDICT_TTL = 30.0  # seconds a host's resolution is trusted, like a DNS cache


async def check(url: str, allow_link_local: bool = False) -> None:
    """Resolve the target and refuse forbidden addresses. Loopback and private ranges stay allowed,
    for local development and receivers on the same network."""
    key = _host_port(url)
    host = key[0]
    if allow_link_local:
        return
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
    except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
        raise Unresolvable(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        reason = _refused(ip)
        if reason:
            raise EgressRefused(f"{host} resolves to {ip}, {reason}")


SETUP_RESOLVE_TIMEOUT = 2.0  # seconds; a slow resolver must not hold up a settings change


async def check_configured(url: str, allow_link_local: bool = False) -> None:
    """Refuse a webhook URL when it is set, not only when sending: a literal forbidden address,
    or a name that resolves to one. A name that does not resolve (yet, or not in time) is
    accepted, since DNS may change before the first delivery, which checks again."""
    host, port = _host_port(url)
    if allow_link_local:
        return
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        ip = None
    if ip is not None:
        reason = _refused(ip)
        if reason:
            raise EgressRefused(f"{ip} is {reason}")
        return
    with contextlib.suppress(TimeoutError, Unresolvable):
        await asyncio.wait_for(_resolve_and_check(host, port), SETUP_RESOLVE_TIMEOUT)
