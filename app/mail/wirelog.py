"""Observing an IMAP connection's traffic line by line, with credentials and literals scrubbed.

The tap sits between asyncio and aioimaplib's protocol: incoming bytes through ``data_received``,
outgoing ones through a transport wrapper. A connection without a sink uses aioimaplib's protocol
unchanged, so an account without protocol logging pays nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import aioimaplib

#: Receives one scrubbed line: direction ("C" sent by us, "S" sent by the server) and text.
Sink = Callable[[str, str], None]

MAX_LINE = 2000  # characters kept of one logical line
HIDDEN = "[hidden]"
_LITERAL = re.compile(rb"\{(\d+)[+-]?\}$")


class LineSplitter:
    """Cuts a byte stream into logical IMAP lines; literal contents are counted, not kept, so a
    message body costs a byte count and never a copy."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._line = bytearray()  # the logical line so far, when a literal interrupted it
        self._skip = 0

    def feed(self, data: bytes) -> Iterator[str]:
        self._buf += data
        while True:
            if self._skip:
                taken = min(self._skip, len(self._buf))
                del self._buf[:taken]  # cheap: bytearray drops a prefix without moving the rest
                self._skip -= taken
                if self._skip:
                    return
            end = self._buf.find(b"\r\n")
            if end < 0:
                return
            chunk = bytes(self._buf[:end])
            del self._buf[: end + 2]
            if len(self._line) < MAX_LINE:
                self._line += chunk
            match = _LITERAL.search(chunk)
            if match:
                self._skip = int(match.group(1))
                if len(self._line) < MAX_LINE:
                    self._line += f" <{self._skip} bytes>".encode()
                continue
            line = self._line.decode("utf-8", "replace")
            self._line.clear()
            yield line[:MAX_LINE] + ("…" if len(line) > MAX_LINE else "")


class ImapTap:
    """One connection's log: LOGIN arguments and AUTHENTICATE exchanges never reach the sink."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._sent = LineSplitter()
        self._received = LineSplitter()
        self._auth_tag: str | None = None

    def outgoing(self, data: bytes) -> None:
        for line in self._sent.feed(data):
            self.sink("C", self._scrub(line))

    def incoming(self, data: bytes) -> None:
        for line in self._received.feed(data):
            if self._auth_tag is not None and line.startswith(self._auth_tag + " "):
                self._auth_tag = None
            self.sink("S", line)

    def _scrub(self, line: str) -> str:
        if self._auth_tag is not None:
            return HIDDEN  # an answer to an AUTHENTICATE challenge
        parts = line.split(" ", 3)
        if len(parts) >= 2 and parts[1].upper() == "LOGIN":
            return f"{parts[0]} LOGIN {HIDDEN}"
        if len(parts) >= 2 and parts[1].upper() == "AUTHENTICATE":
            self._auth_tag = parts[0]
            mechanism = parts[2] if len(parts) > 2 else ""
            return f"{parts[0]} AUTHENTICATE {mechanism} {HIDDEN}".replace("  ", " ")
        return line


class _TapTransport:
    """The real transport, with every write shown to the tap first."""

    def __init__(self, inner: Any, tap: ImapTap) -> None:
        self.inner = inner
        self.tap = tap

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.tap.outgoing(bytes(data))
        self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TappedProtocol(aioimaplib.IMAP4ClientProtocol):  # type: ignore[misc]
    """aioimaplib's protocol, reporting what crosses the wire to an :class:`ImapTap`."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        conn_lost_cb: Callable[[Exception | None], None] | None,
        sink: Sink,
    ) -> None:
        super().__init__(loop, conn_lost_cb)
        self.tap = ImapTap(sink)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(_TapTransport(transport, self.tap))

    def data_received(self, d: bytes) -> None:
        self.tap.incoming(d)
        super().data_received(d)


def unwrap(transport: Any) -> Any:
    """The real transport under a tap, for ``loop.start_tls``."""
    return transport.inner if isinstance(transport, _TapTransport) else transport


def rewrap(protocol: Any, transport: Any) -> Any:
    """The transport that replaced the tapped one (after STARTTLS), tapped again."""
    return _TapTransport(transport, protocol.tap) if isinstance(protocol, TappedProtocol) else transport
