"""One IMAP connection with every call bounded: a lost connection or a silent server raises
``ConnectionLost`` instead of hanging (aioimaplib leaves pending commands and IDLE waiting forever)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aioimaplib

from app.mail import aioimaplib_patch, imapconnect, imapparse, sasl, utf7, wirelog
from app.mail.types import FetchedMessage

aioimaplib_patch.apply()
log = logging.getLogger(__name__)
T = TypeVar("T")

SUMMARY_ITEMS = "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE"
IDLE_RESTART = 25 * 60.0  # RFC 2177: re-issue IDLE at least every 29 minutes


class ImapError(Exception):
    code = "EPROTOCOL"

    def __init__(self, message: str, *, response: str | None = None) -> None:
        super().__init__(message)
        self.response = response


class AuthenticationFailed(ImapError):
    code = "EAUTH"


class ConnectFailed(ImapError):
    """The server could not be reached at all (refused, DNS, TLS, timeout)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class ConnectionLost(ImapError):
    code = "ECONNECTION"


class CommandFailed(ImapError):
    """The server answered NO or BAD."""


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


@dataclass
class Fetched:
    messages: list[FetchedMessage]
    vanished: list[int]


class ImapConnection:
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

    # -- commands --------------------------------------------------------------------------------
    async def list_folders(self) -> list[imapparse.ListEntry]:
        response = await self._ok(self._client.list('""', '"*"'))
        entries = imapparse.parse_list(response.lines)
        subscribed = await self._ok(self._client.lsub('""', '"*"'))
        names = {e.path for e in imapparse.parse_list(subscribed.lines)}
        for entry in entries:
            entry.subscribed = entry.path in names or entry.path == "INBOX"
        return entries

    async def find_folder(self, path: str) -> imapparse.ListEntry | None:
        """The server's own word on one folder (LIST of exactly that name), or None if it has none.

        ``%`` and ``*`` in a name act as wildcards in LIST, so only an exact match counts."""
        response = await self._ok(self._client.list('""', quote(path)))
        found = next((e for e in imapparse.parse_list(response.lines) if e.path == path), None)
        if found is not None:
            subscribed = await self._ok(self._client.lsub('""', quote(path)))
            found.subscribed = path == "INBOX" or any(
                e.path == path for e in imapparse.parse_list(subscribed.lines)
            )
        return found

    async def status(self, path: str, items: str = "MESSAGES UIDNEXT UIDVALIDITY UNSEEN") -> dict[str, int]:
        if "CONDSTORE" in self.capabilities and "HIGHESTMODSEQ" not in items:
            items += " HIGHESTMODSEQ"
        response = await self._ok(self._client.status(quote(path), f"({items})"))
        return imapparse.parse_status(response.lines)

    async def mailbox_id(self, path: str) -> str | None:
        """The folder's RFC 8474 MAILBOXID (stable across renames), None without OBJECTID."""
        if "OBJECTID" not in self.capabilities:
            return None
        response = await self._ok(self._client.status(quote(path), "(MAILBOXID)"))
        for line in response.lines:
            if isinstance(line, bytes | bytearray):
                found = re.search(rb"MAILBOXID \(([^()\s]+)\)", bytes(line))
                if found:
                    return found.group(1).decode("ascii", "replace")
        return None

    async def select(
        self, path: str, *, readonly: bool = False, qresync: tuple[int, int] | None = None
    ) -> imapparse.SelectInfo:
        arg = quote(path)
        if qresync and "QRESYNC" in self.capabilities:
            arg += f" (QRESYNC ({qresync[0]} {qresync[1]}))"
        elif "CONDSTORE" in self.capabilities:
            arg += " (CONDSTORE)"
        command = self._client.examine if readonly else self._client.select
        self.selected, self.selected_info = None, None
        response = await self._ok(command(arg), timeout=self.timeout * 4)
        self._client.protocol.state = "SELECTED"  # aioimaplib only tracks this for SELECT, not EXAMINE
        info = imapparse.parse_select(response.lines)
        self.selected, self.writable, self.selected_info = path, not readonly, info
        return info

    async def unselect(self) -> None:
        """Leave the selected folder: a server answers STATUS on it from this session's stale view."""
        if self.selected is None:
            return
        protocol = self._client.protocol
        if "UNSELECT" in self.capabilities:
            await self._ok(
                protocol.execute(aioimaplib.Command("UNSELECT", protocol.new_tag(), loop=protocol.loop))
            )
        elif not self.writable:
            await self._ok(self._client.close())  # CLOSE would expunge a writable folder
        else:
            return
        protocol.state = "AUTH"
        self.selected, self.selected_info, self.writable = None, None, False

    async def ensure_selected(self, path: str, *, writable: bool = False) -> imapparse.SelectInfo:
        """Reuse the current selection when it fits; API calls come in bursts on one folder."""
        if self.selected == path and self.selected_info is not None and (self.writable or not writable):
            return self.selected_info
        return await self.select(path, readonly=not writable)

    async def fetch(
        self, uids: str, items: str, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        modifiers = ""
        if changed_since is not None:
            extra = " VANISHED" if vanished and "QRESYNC" in self.capabilities else ""
            modifiers = f" (CHANGEDSINCE {changed_since}{extra})"
        response = await self._ok(
            self._client.uid("fetch", uids, f"({items}){modifiers}"), timeout=self.timeout * 4
        )
        return Fetched(imapparse.parse_fetch(response.lines), imapparse.parse_vanished(response.lines))

    async def labels(self, uids: str) -> dict[int, list[str]]:
        """Gmail labels by UID (X-GM-LABELS); empty on servers without them."""
        if "X-GM-EXT-1" not in self.capabilities:
            return {}
        response = await self._ok(self._client.uid("fetch", uids, "(UID X-GM-LABELS)"))
        found: dict[int, list[str]] = {}
        for tokens, _ in imapparse.iter_responses(response.lines):
            items = tokens[2] if len(tokens) > 2 and tokens[1] == "FETCH" else None
            if not isinstance(items, list):
                continue
            pairs = {k: v for k, v in zip(items[::2], items[1::2], strict=False) if isinstance(k, str)}
            uid, labels = pairs.get("UID"), pairs.get("X-GM-LABELS")
            if isinstance(uid, int) and isinstance(labels, list):
                found[uid] = [
                    utf7.decode(v.decode() if isinstance(v, bytes) else str(v))
                    for v in labels
                    if v is not None
                ]
        return found

    async def all_uids(self) -> tuple[list[int], bool]:
        """UID SEARCH ALL, and whether the answer carried news about the selected folder (a change
        made after the caller last read it: reported once, here, and by no later IDLE)."""
        protocol = self._client.protocol
        previous = getattr(protocol, "unsolicited", None)
        lines: list[bytes] = []

        def note(line: bytes) -> None:  # untagged lines no command asked for (see aioimaplib_patch)
            lines.append(bytes(line))
            if previous is not None:
                previous(line)

        protocol.unsolicited = note
        try:
            response = await self._ok(self._client.uid_search("ALL", charset=None), timeout=self.timeout * 4)
        finally:
            protocol.unsolicited = previous
        lines += [bytes(x) for x in response.lines if isinstance(x, bytes | bytearray)]
        news = any(re.match(rb"(\d+ (EXISTS|EXPUNGE|FETCH)|VANISHED)\b", line) for line in lines)
        return imapparse.parse_search(response.lines), news

    async def search(self, *criteria: str, charset: str | None = "UTF-8") -> list[int]:
        response = await self._ok(
            self._client.uid_search(*criteria, charset=charset), timeout=self.timeout * 4
        )
        return imapparse.parse_search(response.lines)

    async def store(self, uids: str, action: str, flags: Sequence[str]) -> list[FetchedMessage]:
        response = await self._ok(self._client.uid("store", uids, action, "(" + " ".join(flags) + ")"))
        return imapparse.parse_fetch(response.lines)

    async def move(self, uids: str, destination: str) -> imapparse.CopyUid | None:
        if "MOVE" in self.capabilities:
            response = await self._ok(self._client.uid("move", uids, quote(destination)))
            return imapparse.parse_copyuid(response.lines)
        response = await self._ok(self._client.uid("copy", uids, quote(destination)))
        await self.store(uids, "+FLAGS.SILENT", ["\\Deleted"])
        await self.expunge(uids)
        return imapparse.parse_copyuid(response.lines)

    async def expunge(self, uids: str) -> None:
        if "UIDPLUS" in self.capabilities:
            await self._ok(self._client.uid("expunge", uids))
        else:
            await self._ok(self._client.expunge())

    async def append(
        self, path: str, raw: bytes, flags: Sequence[str] = (), date: datetime | None = None
    ) -> tuple[int, int] | None:
        response = await self._ok(
            self._client.append(
                raw, mailbox=quote(path), flags="(" + " ".join(flags) + ")" if flags else None, date=date
            ),
            timeout=self.timeout * 4,
        )
        return imapparse.parse_appenduid(response.lines)

    async def create(self, path: str) -> None:
        await self._ok(self._client.create(quote(path)))
        with contextlib.suppress(CommandFailed):
            await self._ok(self._client.subscribe(quote(path)))

    async def rename(self, path: str, new_path: str) -> None:
        await self._ok(self._client.rename(quote(path), quote(new_path)))

    async def subscribe(self, path: str, subscribed: bool) -> None:
        command = self._client.subscribe if subscribed else self._client.unsubscribe
        await self._ok(command(quote(path)))

    async def delete(self, path: str) -> None:
        await self._ok(self._client.delete(quote(path)))

    async def quota(self, path: str = "INBOX") -> tuple[int, int] | None:
        """(used, limit) storage in bytes of ``path``'s quota root (RFC 2087 GETQUOTAROOT), or None
        when the server has no QUOTA extension or no storage limit for it."""
        if "QUOTA" not in self.capabilities:
            return None
        response = await self._ok(self._client.getquotaroot(quote(path)))
        for line in response.lines:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
            # aioimaplib hands over "* QUOTA root (STORAGE used limit)" without its "QUOTA".
            found = re.search(r"\([^)]*\bSTORAGE\s+(\d+)\s+(\d+)", text, re.IGNORECASE)
            if found:
                return int(found.group(1)) * 1024, int(found.group(2)) * 1024  # sent in KiB
        return None

    async def noop(self) -> None:
        await self._ok(self._client.noop())

    # -- IDLE ------------------------------------------------------------------------------------
    async def idle(self, wake: asyncio.Event, max_wait: float = IDLE_RESTART) -> list[bytes]:
        """IDLE until the server pushes something, ``wake`` is set, or ``max_wait`` passes.

        Returns the pushed lines. Raises ConnectionLost when the connection drops or the server says
        BYE (aioimaplib reports neither to a waiting IDLE)."""
        if "IDLE" not in self.capabilities:
            await asyncio.wait_for(wake.wait(), timeout=min(max_wait, 30)) if not wake.is_set() else None
            await self.noop()
            return []
        idle = await self._guard(self._client.idle_start(timeout=max_wait + 60))
        pushed: list[bytes] = []
        push = asyncio.ensure_future(self._client.wait_server_push(timeout=max_wait))
        woken = asyncio.ensure_future(wake.wait())
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            done, _ = await asyncio.wait({push, woken, lost}, return_when=asyncio.FIRST_COMPLETED)
            if push in done and not push.cancelled() and push.exception() is None:
                result = push.result()
                pushed = [bytes(x) for x in result] if isinstance(result, list) else []
        finally:
            for fut in (push, woken, lost):
                fut.cancel()
        self._notifications(list(pushed))
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
