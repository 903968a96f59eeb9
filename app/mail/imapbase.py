"""The IMAP connection's plumbing: connect and log in, bound every command, and wait for pushes
(IDLE, NOTIFY), so that a lost connection or a silent server raises ``ConnectionLost`` instead of
hanging (aioimaplib leaves pending commands and IDLE waiting forever). The commands themselves
are in :mod:`app.mail.imap`."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aioimaplib

from app.mail import aioimaplib_patch, imapconnect, imapparse, sasl, utf7, wirelog
from app.mail.session import (
    WATCH_RESTART,
    AuthenticationFailed,
    Change,
    CommandFailed,
    ConnectFailed,
    ConnectionLost,
    FlagsChanged,
    FolderChanged,
    ImapError,
    NewMessages,
    Vanished,
)
from app.mail.types import FetchedMessage

aioimaplib_patch.apply()
#: What NOTIFY (RFC 5465) reports: the selected folder's messages, and every personal folder's
#: messages, names and subscriptions.
NOTIFY_SPEC = (
    "(SELECTED (MessageNew MessageExpunge FlagChange)) "
    "(PERSONAL (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))"
)
T = TypeVar("T")


def quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string, in modified UTF-7."""
    encoded = utf7.encode(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(response: Any) -> str:
    return b" ".join(bytes(x) for x in response.lines if isinstance(x, bytes | bytearray)).decode(
        "utf-8", "replace"
    )


class ImapBase:
    """Connect with :meth:`open`; every later call either completes, raises, or times out."""

    """Connect with :meth:`open`; every later call either completes, raises, or times out."""

    def __init__(
        self,
        settings: dict[str, Any],
        *,
        timeout: float = 30.0,
        name: str = "imap",
        wire: wirelog.Sink | None = None,
    ) -> None:
        self.settings = settings
        self.wire = wire  # the account's protocol log, when it keeps one
        self.timeout = timeout
        self.name = name
        self.capabilities: frozenset[str] = frozenset()
        self.lost = asyncio.Event()
        self.selected: str | None = None
        self.writable = False
        self.selected_info: imapparse.SelectInfo | None = None
        self._raw: Any = None
        #: Called with NOTIFY lines (STATUS/LIST about other folders) whenever they turn up.
        self.on_notify: Callable[[list[bytes]], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect (implicit TLS with ``secure``, else STARTTLS whenever the server offers it),
        log in and enable CONDSTORE/QRESYNC."""
        try:
            self._raw = await imapconnect.connect(
                self.settings, timeout=self.timeout, lost=self.lost, on_lost=self._on_lost, wire=self.wire
            )
        except imapconnect.ConnectError as exc:
            self.close()
            raise ConnectFailed(str(exc), exc.code) from None
        await self._login()
        await self._refresh_capabilities()
        if "QRESYNC" in self.capabilities:
            await self._guard(self._client.enable("QRESYNC"))
        elif "CONDSTORE" in self.capabilities:
            await self._guard(self._client.enable("CONDSTORE"))

    async def _login(self) -> None:
        auth = self.settings.get("auth") or {}
        user = str(auth.get("user") or "")
        if auth.get("accessToken"):
            coro = self._bearer(user, str(auth["accessToken"]))
        else:
            coro = self._client.login(user, str(auth.get("pass") or ""))
        response = await self._guard(coro)
        if response.result != "OK":
            raise AuthenticationFailed("Authentication failed", response=_text(response))

    def _bearer(self, user: str, token: str) -> Any:
        """OAUTHBEARER (RFC 7628) where the server offers it, else Google's and Microsoft's XOAUTH2."""
        protocol = self._client.protocol
        if "AUTH=OAUTHBEARER" not in {c.upper() for c in protocol.capabilities}:
            return self._client.xoauth2(user, token)
        host, port = self.settings.get("host") or "", self.settings.get("port") or 143
        initial = sasl.oauthbearer(user, token, str(host), int(port))
        command = aioimaplib.Command(
            "AUTHENTICATE", protocol.new_tag(), "OAUTHBEARER", initial, loop=protocol.loop
        )
        return self._authenticated(asyncio.wait_for(protocol.execute(command, scrub=initial), self.timeout))

    async def _authenticated(self, pending: Any) -> Any:
        """aioimaplib moves to AUTH only after its own LOGIN/XOAUTH2; do it for a raw AUTHENTICATE."""
        response = await pending
        if response.result == "OK":
            self._client.protocol.state = aioimaplib.AUTH
        return response

    async def _refresh_capabilities(self) -> None:
        await self._guard(self._client.protocol.capability())
        self.capabilities = frozenset(c.upper() for c in self._client.protocol.capabilities)

    def _on_lost(self, _exc: Exception | None) -> None:
        self.lost.set()

    def close(self) -> None:
        self.lost.set()
        client, self._raw = self._raw, None
        transport = getattr(getattr(client, "protocol", None), "transport", None)
        if transport is not None:
            transport.close()

    @property
    def _client(self) -> Any:
        """The aioimaplib client, or ConnectionLost once the connection is gone."""
        if self._raw is None or self.lost.is_set():
            raise ConnectionLost(f"{self.name}: connection is closed")
        return self._raw

    async def logout(self) -> None:
        if self._raw is not None and not self.lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._client.logout(), 5)
        self.close()

    @property
    def usable(self) -> bool:
        return self._raw is not None and not self.lost.is_set()

    @property
    def tls_version(self) -> str | None:
        """The negotiated TLS version ("TLSv1.3"), None on a plain connection."""
        transport = getattr(getattr(self._raw, "protocol", None), "transport", None)
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        return ssl_object.version() if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket) else None

    # -- the guard -------------------------------------------------------------------------------
    async def _guard(self, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Race a command against connection loss and a deadline."""
        if not self.usable:
            raise ConnectionLost(f"{self.name}: connection is closed")
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=timeout or self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            lost.cancel()
        if task in done:
            try:
                return task.result()
            except aioimaplib.CommandTimeout:
                self.close()
                raise ConnectionLost(f"{self.name}: server stopped answering") from None
            except aioimaplib.Abort as exc:
                raise CommandFailed(str(exc)) from None
            except (OSError, EOFError) as exc:
                self.close()
                raise ConnectionLost(f"{self.name}: {exc}") from None
        task.cancel()
        if not done:
            self.close()
            raise ConnectionLost(f"{self.name}: command timed out")
        raise ConnectionLost(f"{self.name}: connection lost")

    def _notifications(self, lines: list[Any]) -> None:
        if self.on_notify is None:
            return
        found = [bytes(x) for x in lines if isinstance(x, bytes) and x.startswith((b"STATUS ", b"LIST "))]
        if found:
            self.on_notify(found)

    async def notify(self, spec: str) -> bool:
        """NOTIFY SET (RFC 5465): changes in other folders arrive as STATUS/LIST lines."""
        if "NOTIFY" not in self.capabilities:
            return False
        protocol = self._client.protocol
        protocol.unsolicited = lambda line: self._notifications([bytes(line)])
        command = aioimaplib.Command("NOTIFY", protocol.new_tag(), "SET", spec, loop=protocol.loop)
        await self._ok(protocol.execute(command))
        return True

    async def _ok(self, awaitable: Awaitable[Any], timeout: float | None = None) -> Any:
        response = await self._guard(awaitable, timeout)
        self._notifications(response.lines)
        if response.result != "OK":
            raise CommandFailed(_text(response) or "command failed", response=_text(response))
        return response

    async def _ok_hearing(
        self, awaitable: Awaitable[Any], timeout: float | None = None
    ) -> tuple[Any, list[bytes]]:
        """:meth:`_ok`, and the untagged lines that reached no command meanwhile (EXISTS, EXPUNGE,
        VANISHED: aioimaplib hands them to no command, see :mod:`app.mail.aioimaplib_patch`).

        Listening costs nothing on the wire: it only borrows the protocol's catch-all for a while."""
        protocol = self._client.protocol
        previous: Callable[[bytes], None] | None = getattr(protocol, "unsolicited", None)
        heard: list[bytes] = []

        def note(line: bytes) -> None:
            heard.append(bytes(line))
            if previous is not None:
                previous(line)

        protocol.unsolicited = note
        try:
            response = await self._ok(awaitable, timeout)
        finally:
            protocol.unsolicited = previous
        return response, heard

    async def noop(self) -> None:
        await self._ok(self._client.noop())

    # -- IDLE ------------------------------------------------------------------------------------
    async def idle(self, wake: asyncio.Event, max_wait: float = WATCH_RESTART) -> list[bytes]:
        """IDLE until the server pushes something, ``wake`` is set, or ``max_wait`` passes.

        Returns the pushed lines. A push of untagged OKs only (a keepalive: Dovecot sends "* OK Still
        here" at times shared by every connection from one address, so possibly a moment after IDLE
        began) says nothing changed and does not end the wait, or a watch would read the folder again
        in full for nothing. Raises ConnectionLost when the connection drops or the server says BYE
        (aioimaplib reports neither to a waiting IDLE)."""
        if "IDLE" not in self.capabilities:  # poll: wait a little, then ask with NOOP
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=min(max_wait, 30))
            await self.noop()
            return []
        idle = await self._guard(self._client.idle_start(timeout=max_wait + 60))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait
        pushed: list[bytes] = []
        woken = asyncio.ensure_future(wake.wait())
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            while not pushed and (remaining := deadline - loop.time()) > 0:
                push = asyncio.ensure_future(self._client.wait_server_push(timeout=remaining))
                try:
                    done, _ = await asyncio.wait({push, woken, lost}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    push.cancel()
                if push not in done or push.cancelled() or push.exception() is not None:
                    break
                result = push.result()
                lines = [bytes(x) for x in result] if isinstance(result, list) else []
                self._notifications(lines)
                if not all(_keepalive(line) for line in lines):
                    pushed = lines
        finally:
            woken.cancel()
            lost.cancel()
        if any(line.startswith(b"BYE") for line in pushed) or self.lost.is_set():
            self.close()
            raise ConnectionLost(f"{self.name}: server closed the connection")
        self._client.idle_done()
        try:
            await self._guard(asyncio.shield(idle), timeout=10)
        except ImapError:
            self.close()
            raise
        # Pushes that arrived between the first one and DONE are queued too.
        with contextlib.suppress(Exception):
            while not self._client.protocol.idle_queue.empty():
                more = self._client.protocol.idle_queue.get_nowait()
                pushed.extend(bytes(x) for x in (more if isinstance(more, list) else []))
        return pushed

    # -- watching --------------------------------------------------------------------------------
    async def watch(self, wake: asyncio.Event, max_wait: float = WATCH_RESTART) -> list[Change]:
        """IDLE (or a NOOP poll without it), and what the pushed lines say, typed."""
        changes: list[Change] = []
        for line in await self.idle(wake, max_wait):
            kind, value = imapparse.parse_push(line)
            if kind == "EXISTS" and isinstance(value, int):
                changes.append(NewMessages(value))
            elif kind == "EXPUNGE":
                changes.append(Vanished())
            elif kind == "VANISHED" and isinstance(value, list):
                changes.append(Vanished(value))
            elif kind == "FETCH" and isinstance(value, FetchedMessage) and value.flags is not None:
                changes.append(FlagsChanged(value.uid, value.flags, value.modseq))
            elif line.startswith((b"STATUS ", b"LIST ")):
                changes.append(FolderChanged(_notified_path(line)))
        return changes

    async def watch_folders(self, changed: Callable[[FolderChanged], None]) -> bool:
        """NOTIFY SET (RFC 5465): other folders' changes arrive as STATUS/LIST lines, whatever
        command is running."""

        def report(lines: list[bytes]) -> None:
            for line in lines:
                changed(FolderChanged(_notified_path(line)))

        self.on_notify = report
        return await self.notify(NOTIFY_SPEC)


def _keepalive(line: bytes) -> bool:
    """An untagged OK (aioimaplib has taken its "* " off): a status remark, never a change."""
    return line[:3].upper() in (b"OK", b"OK ")


def _notified_path(line: bytes) -> str | None:
    with contextlib.suppress(imapparse.ImapParseError):
        if line.startswith(b"STATUS "):
            return next(iter(imapparse.parse_status_all([line])), None)
        entries = imapparse.parse_list([line])
        return entries[0].path if entries else None
    return None
