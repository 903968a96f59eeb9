"""Opening an IMAP connection up to the point of login: TCP, implicit TLS or STARTTLS, the greeting.

aioimaplib 2.0.3 has no STARTTLS, and its ``IMAP4_SSL`` takes no connection-loss callback, so the
protocol object is connected here with asyncio's own ``create_connection``/``start_tls``: the same
protocol (and its callback) serves before and after the upgrade.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aioimaplib

from app.mail import tls, wirelog

T = TypeVar("T")


class ConnectError(Exception):
    """The server could not be reached or secured; ``code`` is the node-style code we report."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class _Client(aioimaplib.IMAP4):  # type: ignore[misc]
    """aioimaplib's client, left unconnected (``create_client`` is its hook for that); with a
    ``wire`` sink its protocol reports the traffic to the account's protocol log."""

    def __init__(self, *args: Any, wire: wirelog.Sink | None = None, **kwargs: Any) -> None:
        self.wire = wire
        super().__init__(*args, **kwargs)

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        loop = loop or asyncio.get_running_loop()
        if self.wire is None:
            self.protocol = aioimaplib.IMAP4ClientProtocol(loop, conn_lost_cb)
        else:
            self.protocol = wirelog.TappedProtocol(loop, conn_lost_cb, self.wire)


async def connect(
    settings: dict[str, Any],
    *,
    timeout: float,
    lost: asyncio.Event,
    on_lost: Callable[[Exception | None], None],
    wire: wirelog.Sink | None = None,
) -> Any:
    """A greeted aioimaplib client, over implicit TLS with ``secure``, else upgraded with STARTTLS
    whenever the server offers it. ``on_lost`` is called when the connection goes (and must set
    ``lost``). Raises :class:`ConnectError`; nothing is left open then."""
    host = str(settings.get("host") or "")
    secure = bool(settings.get("secure"))
    port = int(settings.get("port") or (993 if secure else 143))
    client = _Client(host, port, timeout=timeout, conn_lost_cb=on_lost, wire=wire)
    try:
        await asyncio.wait_for(_open(client.protocol, settings, host, port, secure, lost, timeout), timeout)
    except BaseException as exc:
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
        error = _classify(exc) if isinstance(exc, Exception) else None
        if error is None:
            raise  # cancelled, or a bug rather than a network condition
        raise error from None
    return client


def _classify(exc: Exception) -> ConnectError | None:
    if isinstance(exc, ConnectError):
        return exc
    if isinstance(exc, TimeoutError):
        return ConnectError("Connection timed out", "ETIMEDOUT")
    if isinstance(exc, ssl.SSLError):  # before OSError: it is one
        return ConnectError(*tls.describe(exc))
    if isinstance(exc, socket.gaierror):
        return ConnectError("Host name could not be resolved", "ENOTFOUND")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError("Connection refused", "ECONNREFUSED")
    if isinstance(exc, OSError):
        return ConnectError(exc.strerror or str(exc) or "Connection failed", "ECONNECTION")
    return None


async def _open(
    protocol: Any,
    settings: dict[str, Any],
    host: str,
    port: int,
    secure: bool,
    lost: asyncio.Event,
    timeout: float,
) -> None:
    options = settings.get("tls")
    context = tls.context(options, ignore_cert_errors=await tls.policy.ignore_cert_errors())
    name = tls.server_name(options, host)
    loop = asyncio.get_running_loop()
    try:
        await loop.create_connection(
            lambda: protocol,
            host,
            port,
            ssl=context if secure else None,
            server_hostname=name if secure else None,
        )
    except ConnectionResetError:
        if not secure:
            raise
        raise ConnectError(tls.HANDSHAKE_CLOSED, "ETLS") from None
    # The greeting; aioimaplib asks for CAPABILITY before it reports the state.
    await _unless_lost(protocol.wait("AUTH|NONAUTH"), lost)
    if secure or "STARTTLS" not in {c.upper() for c in protocol.capabilities}:
        return
    response = await _unless_lost(
        protocol.execute(aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)), lost
    )
    if response.result != "OK":
        raise ConnectError("STARTTLS was refused", "ETLS")
    try:
        raw = wirelog.unwrap(protocol.transport)
        upgraded = await loop.start_tls(
            raw, protocol, context, server_hostname=name, ssl_handshake_timeout=timeout
        )
        protocol.transport = wirelog.rewrap(protocol, upgraded)
    except ConnectionResetError:
        raise ConnectError(tls.HANDSHAKE_CLOSED, "ETLS") from None
    await _unless_lost(protocol.capability(), lost)  # RFC 3501: forget what was said in the clear


async def _unless_lost(awaitable: Awaitable[T], lost: asyncio.Event) -> T:
    """aioimaplib leaves a command waiting forever when the connection drops."""
    task = asyncio.ensure_future(awaitable)
    gone = asyncio.ensure_future(lost.wait())
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not task.done():
            task.cancel()
    if not task.done() or task.cancelled():
        raise ConnectError("The server closed the connection", "ECONNECTION")
    return task.result()
