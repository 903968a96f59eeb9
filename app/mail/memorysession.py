"""A session with :class:`app.mail.memory.MemoryServer`: every :class:`app.mail.session.MailSession`
call, answered from the server's folders. Like an IMAP session it has one selected folder, and
what other sessions change there waits in :attr:`MemorySession.pending` for :meth:`watch`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.mail import utf7
from app.mail.imapparse import CopyUid, ListEntry, SelectInfo
from app.mail.memorystore import Folder, Listener, Store, Stored, summary, unique
from app.mail.memorytext import matches, section_bytes
from app.mail.session import (
    AuthenticationFailed,
    Change,
    CommandFailed,
    ConnectFailed,
    ConnectionLost,
    Fetched,
    FlagAction,
    FlagsChanged,
    FolderChanged,
    FolderStatus,
    Uids,
    UidsFrom,
    Vanished,
)
from app.mail.types import FetchedMessage

if TYPE_CHECKING:
    from app.mail.session import MailSession

__all__ = ["MemorySession"]


class MemorySession(Listener):
    """One session with a :class:`app.mail.memory.MemoryServer`."""

    def __init__(self, server: Store, settings: dict[str, Any], *, name: str = "memory") -> None:
        super().__init__()
        self.server = server
        self.settings = settings
        self.name = name
        self.capabilities: frozenset[str] = frozenset()
        self.writable = False
        self._open = False

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def usable(self) -> bool:
        return self._open and not self.lost.is_set()

    async def open(self) -> None:
        if self.server.unreachable:
            raise ConnectFailed(f"{self.name}: connection refused", "ECONNREFUSED")
        self._enter("open", opening=True)
        auth = self.settings.get("auth") or {}
        if self.server.password is not None and auth.get("pass") != self.server.password:
            raise AuthenticationFailed(
                "Authentication failed", response="[AUTHENTICATIONFAILED] Authentication failed."
            )
        self.capabilities = self.server.capabilities
        self._open = True
        self.server.sessions.append(self)

    def close(self) -> None:
        self.lost.set()
        self._open = False
        with contextlib.suppress(ValueError):
            self.server.sessions.remove(self)

    async def logout(self) -> None:
        self.close()

    def _enter(self, operation: str, *, opening: bool = False) -> None:
        if not opening and not self.usable:
            raise ConnectionLost(f"{self.name}: connection is closed")
        self.server.calls[operation] += 1
        failure = self.server.take_failure(operation)
        if failure is not None:
            if isinstance(failure, ConnectionLost):
                self.close()
            raise failure

    def _current(self) -> tuple[str, Folder]:
        if self.selected is None:
            raise CommandFailed("No mailbox selected")
        return self.selected, self.server.folder(self.selected)

    def _uids(self, folder: Folder, uids: Uids) -> list[int]:
        if isinstance(uids, UidsFrom):
            return [u for u in folder.messages if u >= uids.first]
        return sorted({u for u in uids if u in folder.messages})

    # -- folders --------------------------------------------------------------------------------------
    def _entry(self, path: str) -> ListEntry:
        folder = self.server.folder(path)
        special = "\\Inbox" if path == "INBOX" else folder.special_use
        flags = [folder.special_use] if folder.special_use else []
        return ListEntry(path, utf7.encode(path), self.server.delimiter, flags, special, folder.subscribed)

    async def list_folders(self) -> list[ListEntry]:
        self._enter("list_folders")
        return [self._entry(path) for path in self.server.folders]

    async def find_folder(self, path: str) -> ListEntry | None:
        self._enter("find_folder")
        return self._entry(path) if path in self.server.folders else None

    async def create(self, path: str) -> None:
        self._enter("create")
        self.server.create_folder(path)

    async def rename(self, path: str, new_path: str) -> None:
        self._enter("rename")
        folders = self.server.folders
        if path == "INBOX" or path not in folders or new_path in folders:
            raise CommandFailed(f"Cannot rename {path} to {new_path}")
        prefix = path + self.server.delimiter
        for old in [p for p in folders if p == path or p.startswith(prefix)]:
            folders[new_path + old[len(path) :]] = folders.pop(old)
        self.server.folder_changed(new_path, self)

    async def delete(self, path: str) -> None:
        self._enter("delete")
        if path == "INBOX":
            raise CommandFailed("INBOX can't be deleted")
        self.server.folder(path)
        del self.server.folders[path]
        self.server.folder_changed(path, self)

    async def subscribe(self, path: str, subscribed: bool) -> None:
        self._enter("subscribe")
        self.server.folder(path).subscribed = subscribed

    async def list_with_status(self) -> tuple[list[ListEntry], dict[str, FolderStatus]]:
        self._enter("list_with_status")
        entries = [self._entry(path) for path in self.server.folders]
        if "LIST-STATUS" not in self.capabilities:
            return entries, {}
        return entries, {path: self._status(path) for path in self.server.folders}

    async def status(self, path: str) -> FolderStatus:
        self._enter("status")
        return self._status(path)

    def _status(self, path: str) -> FolderStatus:
        folder = self.server.folder(path)
        return FolderStatus(
            messages=len(folder.messages),
            uid_next=folder.uid_next,
            uid_validity=folder.uid_validity,
            unseen=sum("\\Seen" not in m.flags for m in folder.messages.values()),
            highest_modseq=folder.modseq if "CONDSTORE" in self.capabilities else None,
        )

    async def mailbox_id(self, path: str) -> str | None:
        self._enter("mailbox_id")
        return self.server.folder(path).mailbox_id if "OBJECTID" in self.capabilities else None

    async def quota(self, path: str = "INBOX") -> tuple[int, int] | None:
        self._enter("quota")
        if "QUOTA" not in self.capabilities or self.server.quota_limit is None:
            return None
        used = sum(len(m.raw) for f in self.server.folders.values() for m in f.messages.values())
        return used, self.server.quota_limit

    # -- the selected folder --------------------------------------------------------------------------
    async def select(
        self, path: str, *, readonly: bool = False, qresync: tuple[int, int] | None = None
    ) -> SelectInfo:
        self._enter("select")
        self.server.asked.append(("select", path))
        self.selected, self.selected_info, self.pending = None, None, []
        folder = self.server.folder(path)
        condstore = "CONDSTORE" in self.capabilities
        info = SelectInfo(
            exists=len(folder.messages),
            uid_validity=folder.uid_validity,
            uid_next=folder.uid_next,
            highest_modseq=folder.modseq if condstore else None,
            flags=["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"],
            read_only=readonly,
        )
        if qresync and "QRESYNC" in self.capabilities and qresync[0] == folder.uid_validity:
            since = qresync[1]
            info.fetched = [self._flags_of(folder, m) for m in folder.messages.values() if m.modseq > since]
            info.vanished = sorted(u for u, modseq in folder.expunged.items() if modseq > since)
        self.selected, self.writable, self.selected_info = path, not readonly, info
        return info

    async def ensure_selected(self, path: str, *, writable: bool = False) -> SelectInfo:
        if self.selected == path and self.selected_info is not None and (self.writable or not writable):
            return self.selected_info
        return await self.select(path, readonly=not writable)

    async def unselect(self) -> None:
        self._enter("unselect")
        self.selected, self.selected_info, self.writable, self.pending = None, None, False, []

    def _drain(self) -> list[Change]:
        changes, self.pending = self.pending, []
        self.arrived.clear()
        return changes

    async def all_uids(self) -> tuple[list[int], bool]:
        self._enter("all_uids")
        _, folder = self._current()
        return list(folder.messages), bool(self._drain())

    async def existing(self, uids: Sequence[int]) -> list[int]:
        self._enter("existing")
        _, folder = self._current()
        return [u for u in uids if u in folder.messages]

    async def search(self, *criteria: str, charset: str | None = "UTF-8") -> list[int]:
        self._enter("search")
        _, folder = self._current()
        last = max(folder.messages, default=0)
        return [u for u, m in folder.messages.items() if matches(criteria, u, m.flags, m.raw, last)]

    def _flags_of(self, folder: Folder, msg: Stored) -> FetchedMessage:
        seq = list(folder.messages).index(msg.uid) + 1
        modseq = msg.modseq if "CONDSTORE" in self.capabilities else None
        return FetchedMessage(seq, uid=msg.uid, flags=list(msg.flags), modseq=modseq)

    def _read(
        self,
        uids: Uids,
        changed_since: int | None,
        vanished: bool,
        build: Callable[[Folder, Stored], FetchedMessage],
    ) -> Fetched:
        _, folder = self._current()
        wanted = self._uids(folder, uids)
        since = changed_since if changed_since is not None else -1
        messages = [build(folder, folder.messages[u]) for u in wanted if folder.messages[u].modseq > since]
        gone: list[int] = []
        if vanished and changed_since is not None and "QRESYNC" in self.capabilities:
            asked = (lambda u: u >= uids.first) if isinstance(uids, UidsFrom) else set(uids).__contains__
            gone = sorted(u for u, modseq in folder.expunged.items() if modseq > since and asked(u))
        return Fetched(messages, gone)

    async def fetch_summaries(
        self, uids: Uids, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        self._enter("fetch_summaries")
        return self._read(uids, changed_since, vanished, self._summary)

    async def fetch_flags(
        self, uids: Uids, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        self._enter("fetch_flags")
        return self._read(uids, changed_since, vanished, self._flags_of)

    def _summary(self, folder: Folder, msg: Stored) -> FetchedMessage:
        return summary(self._flags_of(folder, msg), msg, self.capabilities)

    async def fetch_source(self, uid: int, *, max_bytes: int | None = None) -> bytes | None:
        return await self.fetch_section(uid, "", max_bytes=max_bytes)

    async def fetch_section(self, uid: int, section: str, *, max_bytes: int | None = None) -> bytes | None:
        self._enter("fetch_section")
        self.server.asked.append(("fetch_section", section))
        _, folder = self._current()
        msg = folder.messages.get(uid)
        if msg is None:
            return None
        data = section_bytes(msg.raw, section)
        return data[:max_bytes] if max_bytes is not None else data

    async def labels(self, uids: Sequence[int]) -> dict[int, list[str]]:
        self._enter("labels")
        if "X-GM-EXT-1" not in self.capabilities:
            return {}
        _, folder = self._current()
        return {u: list(folder.messages[u].labels) for u in self._uids(folder, uids)}

    def _change(self, uids: Sequence[int], action: FlagAction, values: Sequence[str], labels: bool) -> None:
        path, folder = self._current()
        for uid in self._uids(folder, uids):
            msg = folder.messages[uid]
            current = msg.labels if labels else msg.flags
            if action == "set":
                after = unique(values)
            elif action == "add":
                after = unique([*current, *values])
            else:
                after = [f for f in current if f not in values]
            if after != current:
                if labels:
                    msg.labels = after
                else:
                    msg.flags = after
                msg.modseq = folder.bump()
                self.server.tell(path, FlagsChanged(uid, list(msg.flags), msg.modseq), self)

    async def store_flags(self, uids: Sequence[int], action: FlagAction, flags: Sequence[str]) -> None:
        self._enter("store_flags")
        self._change(uids, action, flags, labels=False)

    async def store_labels(self, uids: Sequence[int], action: FlagAction, labels: Sequence[str]) -> None:
        self._enter("store_labels")
        if "X-GM-EXT-1" not in self.capabilities:
            raise CommandFailed("This server has no labels (X-GM-EXT-1)")
        self._change(uids, action, labels, labels=True)

    async def copy(self, uids: Sequence[int], destination: str) -> CopyUid | None:
        self._enter("copy")
        return self._copy(uids, destination)

    def _copy(self, uids: Sequence[int], destination: str) -> CopyUid | None:
        _, folder = self._current()
        if destination not in self.server.folders:
            raise CommandFailed(f"[TRYCREATE] Mailbox doesn't exist: {destination}")
        target = self.server.folders[destination]
        source = self._uids(folder, uids)
        if not source:
            return None
        made = []
        for uid in source:
            msg = folder.messages[uid]
            ids = (msg.email_id, msg.thread_id)
            made.append(
                self.server.deliver(target, destination, msg.raw, msg.flags, msg.internal_date, self, ids)
            )
        return CopyUid(target.uid_validity, source, made)

    async def move(self, uids: Sequence[int], destination: str) -> CopyUid | None:
        self._enter("move")
        copied = self._copy(uids, destination)
        if copied is not None:
            self._remove(copied.source)
        return copied

    def _remove(self, uids: Iterable[int]) -> None:
        path, folder = self._current()
        gone = [u for u in uids if folder.messages.pop(u, None) is not None]
        if gone:
            modseq = folder.bump()
            folder.expunged.update(dict.fromkeys(gone, modseq))
            self.server.tell(path, Vanished(gone), self)

    async def expunge(self, uids: Sequence[int]) -> None:
        self._enter("expunge")
        _, folder = self._current()
        self._remove([u for u in self._uids(folder, uids) if "\\Deleted" in folder.messages[u].flags])

    async def append(
        self, path: str, raw: bytes, flags: Sequence[str] = (), date: datetime | None = None
    ) -> tuple[int, int] | None:
        self._enter("append")
        folder = self.server.folder(path)
        return folder.uid_validity, self.server.deliver(folder, path, raw, flags, date, self)

    # -- watching -------------------------------------------------------------------------------------
    def told(self, change: Change) -> list[Change]:
        """Without QRESYNC an IMAP server names messages in pushes by position only: an expunge
        is a plain EXPUNGE per message, a flag change a FETCH without UID (and without MODSEQ
        unless CONDSTORE counts it)."""
        if "QRESYNC" in self.capabilities:
            return [change]
        if isinstance(change, Vanished):
            return [Vanished() for _ in change.uids]
        if isinstance(change, FlagsChanged):
            modseq = change.modseq if "CONDSTORE" in self.capabilities else None
            return [FlagsChanged(None, change.flags, modseq)]
        return [change]

    async def watch(self, wake: asyncio.Event, max_wait: float) -> list[Change]:
        self._enter("watch")
        if not self.pending:
            waits = [asyncio.ensure_future(e.wait()) for e in (self.arrived, wake, self.lost)]
            try:
                await asyncio.wait(waits, timeout=max_wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        if self.lost.is_set():
            raise ConnectionLost(f"{self.name}: connection lost")
        return self._drain()

    async def watch_folders(self, changed: Callable[[FolderChanged], None]) -> bool:
        self._enter("watch_folders")
        if "NOTIFY" not in self.capabilities:
            return False
        self.on_folder = changed
        return True


if TYPE_CHECKING:
    _session: MailSession = MemorySession(Store(), {})
