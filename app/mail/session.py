"""The one interface the sync engine and the services use to reach a mailbox.

Everything above ``app.mail`` speaks to a :class:`MailSession`, never to an IMAP client, so the
sync and the services can be exercised against :mod:`app.mail.memory` in milliseconds, and so a
Gmail API or Microsoft Graph backend can stand in later: folders are addressed by path, messages
by UID within a folder generation (UIDVALIDITY), and servers that have their own stable ids report
them through ``email_id``/``thread_id``/``labels`` of the summaries.

Arguments and results are typed values, never protocol text: callers say *what* they want (the
summaries of these UIDs, section "1.2" of that message, the first 64 KiB of its source) and the
implementation decides how to ask for it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from app.mail.imapparse import CopyUid, ListEntry, SelectInfo
from app.mail.types import FetchedMessage

FlagAction = Literal["set", "add", "remove"]


@dataclass(slots=True)
class NewMessages:
    """The selected folder has more messages than before (EXISTS grew); fetch from ``uid_next``."""

    exists: int


@dataclass(slots=True)
class FlagsChanged:
    """The server reported a message's flags (and its new MODSEQ when it counts them)."""

    uid: int
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


@dataclass(slots=True)
class Fetched:
    messages: list[FetchedMessage]
    vanished: list[int] = field(default_factory=list)


class MailSession(Protocol):
    """One authenticated session with a mailbox server. Calls complete, raise
    :class:`app.mail.imap.ImapError` (or a subclass), or time out; none return half a result."""

    capabilities: frozenset[str]
    selected: str | None

    def usable(self) -> bool: ...

    # -- folders ------------------------------------------------------------------------------------
    async def list_folders(self) -> list[ListEntry]: ...
    async def find_folder(self, path: str) -> ListEntry | None: ...
    async def create(self, path: str) -> None: ...
    async def rename(self, path: str, new_path: str) -> None: ...
    async def delete(self, path: str) -> None: ...
    async def subscribe(self, path: str, subscribed: bool) -> None: ...
    async def status(self, path: str) -> dict[str, int]: ...
    async def quota(self, path: str = "INBOX") -> tuple[int, int] | None: ...

    # -- the selected folder ------------------------------------------------------------------------
    async def select(
        self, path: str, *, readonly: bool = False, qresync: tuple[int, int] | None = None
    ) -> SelectInfo: ...
    async def ensure_selected(self, path: str, *, writable: bool = False) -> SelectInfo: ...
    async def all_uids(self) -> tuple[list[int], bool]: ...
    async def fetch_summaries(
        self, uids: Sequence[int] | str, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched: ...
    async def fetch_flags(
        self, uids: Sequence[int] | str, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched: ...
    async def fetch_source(self, uid: int, *, max_bytes: int | None = None) -> bytes | None: ...
    async def fetch_section(
        self, uid: int, section: str, *, max_bytes: int | None = None
    ) -> bytes | None: ...
    async def labels(self, uids: Sequence[int]) -> dict[int, list[str]]: ...
    async def search(self, *criteria: str, charset: str | None = "UTF-8") -> list[int]: ...
    async def store_flags(
        self, uids: Sequence[int], action: FlagAction, flags: Sequence[str]
    ) -> list[FetchedMessage]: ...
    async def store_labels(self, uids: Sequence[int], action: FlagAction, labels: Sequence[str]) -> None: ...
    async def move(self, uids: Sequence[int], destination: str) -> CopyUid | None: ...
    async def copy(self, uids: Sequence[int], destination: str) -> CopyUid | None: ...
    async def expunge(self, uids: Sequence[int]) -> None: ...
    async def append(
        self, path: str, raw: bytes, flags: Sequence[str] = (), date: datetime | None = None
    ) -> tuple[int, int] | None: ...

    # -- watching -----------------------------------------------------------------------------------
    async def watch(self, wake: asyncio.Event, max_wait: float) -> list[Change]: ...
