"""The one interface the sync engine and the services use to reach a mailbox.

Everything above ``app.mail`` speaks to a :class:`MailSession`, never to an IMAP client, so the
sync and the services can be exercised against :mod:`app.mail.memory` in milliseconds, and so a
Gmail API or Microsoft Graph backend can stand in later: folders are addressed by path, messages
by UID within a folder generation (UIDVALIDITY), and servers that have their own stable ids report
them through ``email_id``/``thread_id``/``labels`` of the summaries.

Arguments and results are typed values, never protocol text: callers say *what* they want (the
summaries of these UIDs, section "1.2" of that message, the first 64 KiB of its source) and the
implementation decides how to ask for it. Two things keep IMAP's vocabulary on purpose, because
it is the common language every backend can map onto: ``capabilities`` (extension names such as
``CONDSTORE`` or ``X-GM-EXT-1``, which another backend reports for what it emulates) and the
search keys of :meth:`MailSession.search`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from app.mail.imapparse import CopyUid, ListEntry, SelectInfo
from app.mail.types import FetchedMessage
from app.mail.wirelog import Sink

__all__ = [
    "WATCH_RESTART",
    "AuthenticationFailed",
    "Change",
    "CommandFailed",
    "ConnectFailed",
    "ConnectionLost",
    "CopyUid",
    "Fetched",
    "FlagAction",
    "FlagsChanged",
    "FolderChanged",
    "FolderStatus",
    "ImapError",
    "ListEntry",
    "MailSession",
    "NewMessages",
    "SelectInfo",
    "SessionFactory",
    "Uids",
    "UidsFrom",
    "UnsupportedSearch",
    "Vanished",
]

FlagAction = Literal["set", "add", "remove"]
#: The longest one watch waits before it is renewed: servers drop an IDLE after 30 minutes
#: (RFC 2177), and other push channels expire too.
WATCH_RESTART = 25 * 60.0


# -- errors: every implementation raises these, so callers handle one family ----------------------
class ImapError(Exception):
    """A mail session failed. The name stays IMAP's for the callers that already catch it; every
    backend raises it (or a subclass), so one ``except`` turns any failure into an API error."""

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
    """The server refused a valid-looking request (IMAP NO or BAD)."""


class UnsupportedSearch(CommandFailed):
    """A search key this backend cannot evaluate: refused, never silently ignored (a dropped key
    would widen a bulk delete)."""


# -- values ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UidsFrom:
    """Every UID from ``first`` on, including messages that arrive while the request runs: the
    sync asks for "everything new" without knowing how much that is."""

    first: int


#: Which messages of the selected folder: listed UIDs (a ``range`` is fine and stays compact) or an
#: open-ended tail.
Uids = Sequence[int] | UidsFrom


@dataclass(slots=True)
class FolderStatus:
    """A folder's counters, read without selecting it; fields the server did not give are None."""

    messages: int | None = None
    uid_next: int | None = None
    uid_validity: int | None = None
    unseen: int | None = None
    highest_modseq: int | None = None


@dataclass(slots=True)
class Fetched:
    """Messages read, and (when asked with ``vanished``) the UIDs the server says went meanwhile."""

    messages: list[FetchedMessage]
    vanished: list[int] = field(default_factory=list)


# -- changes a watch reports ----------------------------------------------------------------------
@dataclass(slots=True)
class NewMessages:
    """The selected folder has more messages than before (EXISTS grew); fetch from ``uid_next``."""

    exists: int


@dataclass(slots=True)
class FlagsChanged:
    """The server reported a message's flags (and its new MODSEQ when it counts them). ``uid`` is
    None when the server named the message by position only."""

    uid: int | None
    flags: list[str]
    modseq: int | None = None


@dataclass(slots=True)
class Vanished:
    """Messages left the selected folder. ``uids`` is empty when the server said only that
    *something* went (a plain EXPUNGE carries a sequence number, not a UID)."""

    uids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class FolderChanged:
    """Another folder changed (NOTIFY), or the folder list itself did; ``path`` None: unknown which."""

    path: str | None = None


Change = NewMessages | FlagsChanged | Vanished | FolderChanged


class MailSession(Protocol):
    """One authenticated session with a mailbox server. Calls complete, raise :class:`ImapError`
    (or a subclass), or time out; none return half a result.

    A session has at most one selected folder, as IMAP has: message calls act on it, so callers
    select first. Folder calls take a path and work whatever is selected."""

    capabilities: frozenset[str]
    selected: str | None

    @property
    def usable(self) -> bool:
        """False once the connection is gone: a pool discards such a session instead of reusing it."""
        ...

    # -- lifecycle ----------------------------------------------------------------------------------
    async def open(self) -> None: ...
    def close(self) -> None:
        """Drop the connection at once (no goodbye), from any task: used to stop a stuck session."""
        ...

    async def logout(self) -> None: ...

    # -- folders ------------------------------------------------------------------------------------
    async def list_folders(self) -> list[ListEntry]: ...
    async def list_with_status(self) -> tuple[list[ListEntry], dict[str, FolderStatus]]:
        """:meth:`list_folders`, and every folder's counters by path from the same command where
        the server can (LIST-STATUS); an empty mapping where it cannot."""
        ...

    async def find_folder(self, path: str) -> ListEntry | None: ...
    async def create(self, path: str) -> None: ...
    async def rename(self, path: str, new_path: str) -> None: ...
    async def delete(self, path: str) -> None: ...
    async def subscribe(self, path: str, subscribed: bool) -> None: ...
    async def status(self, path: str) -> FolderStatus: ...
    async def mailbox_id(self, path: str) -> str | None:
        """The folder's server-side id, stable across renames (RFC 8474), None where there is none."""
        ...

    async def quota(self, path: str = "INBOX") -> tuple[int, int] | None:
        """(used, limit) in bytes, or None when the server sets or tells no storage limit."""
        ...

    # -- the selected folder ------------------------------------------------------------------------
    async def select(
        self, path: str, *, readonly: bool = False, qresync: tuple[int, int] | None = None
    ) -> SelectInfo:
        """``qresync``: (UIDVALIDITY, MODSEQ) last seen, so the answer carries what changed since
        (flags in ``fetched``, expunges in ``vanished``) where the server can say."""
        ...

    async def ensure_selected(self, path: str, *, writable: bool = False) -> SelectInfo:
        """Reuse the current selection when it fits; API calls come in bursts on one folder."""
        ...

    async def unselect(self) -> None:
        """Leave the selected folder, so a later STATUS of it is not answered from a stale view."""
        ...

    async def all_uids(self) -> tuple[list[int], bool]:
        """Every UID, and whether the answer carried news of a change made after the caller last
        read the folder (then it is reported there only, never by a later watch)."""
        ...

    async def existing(self, uids: Sequence[int]) -> list[int]:
        """Those of ``uids`` the folder still has: another client may have removed some."""
        ...

    async def search(self, *criteria: str, charset: str | None = "UTF-8") -> list[int]:
        """UIDs matching IMAP SEARCH keys (RFC 3501 §6.4.4), the common search language; a backend
        raises :class:`UnsupportedSearch` for keys it cannot evaluate."""
        ...

    async def fetch_summaries(
        self, uids: Uids, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        """What the index keeps: flags, dates, size, envelope, structure, server ids, preview."""
        ...

    async def fetch_flags(
        self, uids: Uids, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        """Flags only (and MODSEQ where counted): the cheap read that finds flag changes."""
        ...

    async def fetch_source(self, uid: int, *, max_bytes: int | None = None) -> bytes | None:
        """The message's raw source (its first ``max_bytes``); None if the message is gone."""
        ...

    async def fetch_section(self, uid: int, section: str, *, max_bytes: int | None = None) -> bytes | None:
        """One body section ("1.2", "TEXT", "HEADER", "2.HEADER"), still transfer-encoded, so one
        attachment can be read without the rest; None if the message is gone."""
        ...

    async def labels(self, uids: Sequence[int]) -> dict[int, list[str]]:
        """Gmail-style labels by UID; empty where the server has none."""
        ...

    async def store_flags(self, uids: Sequence[int], action: FlagAction, flags: Sequence[str]) -> None: ...
    async def store_labels(self, uids: Sequence[int], action: FlagAction, labels: Sequence[str]) -> None: ...
    async def move(self, uids: Sequence[int], destination: str) -> CopyUid | None:
        """None when the server does not tell the new UIDs (no UIDPLUS)."""
        ...

    async def copy(self, uids: Sequence[int], destination: str) -> CopyUid | None: ...
    async def expunge(self, uids: Sequence[int]) -> None:
        """Remove for good those of ``uids`` flagged \\Deleted."""
        ...

    async def append(
        self, path: str, raw: bytes, flags: Sequence[str] = (), date: datetime | None = None
    ) -> tuple[int, int] | None:
        """Store a message; (UIDVALIDITY, UID) of the copy when the server tells it."""
        ...

    # -- watching -----------------------------------------------------------------------------------
    async def watch(self, wake: asyncio.Event, max_wait: float) -> list[Change]:
        """Wait until the server reports a change to the selected folder, ``wake`` is set, or
        ``max_wait`` passes; an empty list means "nothing known, look anyway"."""
        ...

    async def watch_folders(self, changed: Callable[[FolderChanged], None]) -> bool:
        """Have changes to *other* folders reported through ``changed`` while this session lives;
        False when the server cannot, and the caller must poll them."""
        ...


class SessionFactory(Protocol):
    """Makes an unopened session for an account's settings; the caller opens it, so that a stop
    in the middle of connecting can still close it."""

    def __call__(
        self, settings: dict[str, Any], *, timeout: float, name: str, wire: Sink | None = None
    ) -> MailSession: ...
