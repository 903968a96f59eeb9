"""What :class:`app.mail.memory.MemoryServer` keeps: folders and messages, the sessions to tell
about changes, and the failures a test arranged. Summaries are built from the raw source with the
stdlib parser (through :mod:`app.mail.mime`), so what the index learns is what a server's ENVELOPE
and BODYSTRUCTURE would tell."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.mail import mime
from app.mail.imapparse import SelectInfo
from app.mail.session import Change, CommandFailed, ConnectionLost, FolderChanged, ImapError, NewMessages
from app.mail.types import Envelope, FetchedMessage

__all__ = ["DEFAULT_CAPABILITIES", "Folder", "Listener", "Store", "Stored", "summary", "unique"]

DEFAULT_CAPABILITIES = frozenset(
    {
        *("IMAP4REV1", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "NOTIFY", "UNSELECT"),
        *("SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS"),
    }
)


@dataclass
class Stored:
    uid: int
    raw: bytes
    flags: list[str]
    modseq: int
    internal_date: datetime
    email_id: str
    thread_id: str
    labels: list[str] = field(default_factory=list)


@dataclass
class Folder:
    uid_validity: int
    mailbox_id: str
    special_use: str | None = None
    subscribed: bool = True
    uid_next: int = 1
    modseq: int = 1
    messages: dict[int, Stored] = field(default_factory=dict)  # by UID, in UID order
    expunged: dict[int, int] = field(default_factory=dict)  # UID -> MODSEQ of its expunge

    def bump(self) -> int:
        self.modseq += 1
        return self.modseq


def unique(flags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(flags))


def summary(found: FetchedMessage, msg: Stored, capabilities: frozenset[str]) -> FetchedMessage:
    """``found`` (flags already in) completed as ENVELOPE, BODYSTRUCTURE and the extras would."""
    parsed = mime.parse(msg.raw)
    found.internal_date, found.size, found.body = msg.internal_date, len(msg.raw), parsed.body
    found.envelope = Envelope(
        date=parsed.date,
        subject=parsed.subject,
        from_=parsed.from_,
        sender=parsed.sender or parsed.from_,
        reply_to=parsed.reply_to or parsed.from_,
        to=parsed.to,
        cc=parsed.cc,
        bcc=parsed.bcc,
        in_reply_to=parsed.in_reply_to,
        message_id=parsed.message_id,
    )
    if "OBJECTID" in capabilities:
        found.email_id, found.thread_id = msg.email_id, msg.thread_id
    if "PREVIEW" in capabilities:
        flat = " ".join((parsed.text or mime.html_to_text(parsed.html or "")).split())
        found.preview = flat[:200]  # RFC 8970 leaves the length to the server; 200 is common
    return found


@dataclass
class _Failure:
    after: int  # calls still to let pass
    error: ImapError


class Listener:
    """What the server knows of one session: the folder it has selected, the changes it has not
    been told yet, and how to end it."""

    def __init__(self) -> None:
        self.selected: str | None = None
        self.selected_info: SelectInfo | None = None
        self.pending: list[Change] = []
        self.arrived = asyncio.Event()
        self.lost = asyncio.Event()
        self.on_folder: Callable[[FolderChanged], None] | None = None

    def close(self) -> None:
        self.lost.set()

    def told(self, change: Change) -> list[Change]:
        """``change`` as this session's server would push it (see MemorySession)."""
        return [change]


class Store:
    """One mailbox (one user) held in memory."""

    def __init__(
        self,
        *,
        capabilities: Iterable[str] = DEFAULT_CAPABILITIES,
        password: str | None = None,
        delimiter: str = "/",
        quota_limit: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC).replace(microsecond=0),
    ) -> None:
        self.capabilities = frozenset(c.upper() for c in capabilities)
        self.password = password  # when set, sessions must log in with it
        self.delimiter = delimiter
        self.quota_limit = quota_limit  # bytes; QUOTA must be among the capabilities too
        self.clock = clock
        self.unreachable = False  # opening a session raises ConnectFailed
        self.folders: dict[str, Folder] = {}
        self.sessions: list[Listener] = []
        #: Calls made by all sessions, by operation ("select", "fetch_summaries", ...): what a
        #: test reads to show how much a sync asked of the server.
        self.calls: Counter[str] = Counter()
        #: The calls whose argument a test asks about, in order: ("select", path) and
        #: ("fetch_section", section).
        self.asked: list[tuple[str, str]] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._validity = itertools.count(1_000)
        self._ids = itertools.count(1)
        self.create_folder("INBOX")

    # -- arranging a test ---------------------------------------------------------------------------
    def create_folder(self, path: str, special_use: str | None = None) -> None:
        if path in self.folders:
            raise CommandFailed(f"Mailbox already exists: {path}")
        self.folders[path] = Folder(next(self._validity), f"F{next(self._ids)}", special_use)
        self.folder_changed(path, None)

    def add(self, path: str, raw: bytes, flags: Sequence[str] = (), date: datetime | None = None) -> int:
        """Deliver a message, as another client or the MTA would; answers its UID."""
        return self.deliver(self.folder(path), path, raw, flags, date, None)

    def bump_uidvalidity(self, path: str) -> int:
        """Renumber a folder, as a server does after losing its index: new UIDVALIDITY, UIDs from 1."""
        folder = self.folder(path)
        messages = list(folder.messages.values())
        folder.uid_validity, folder.uid_next, folder.messages, folder.expunged = (
            next(self._validity),
            1,
            {},
            {},
        )
        for msg in messages:
            msg.uid, folder.uid_next = folder.uid_next, folder.uid_next + 1
            folder.messages[msg.uid] = msg
        for session in self.sessions:
            if session.selected == path:
                session.selected_info = None
        return folder.uid_validity

    def fail_next(self, operation: str, error: ImapError | None = None, *, after: int = 0) -> None:
        """Make a call of ``operation`` ("fetch_summaries", "select", ...) on any session raise
        ``error``, once, after ``after`` calls that succeed; the default error is a lost
        connection, which also ends that session."""
        failure = error or ConnectionLost("memory: connection lost")
        self._failures.setdefault(operation, []).append(_Failure(after, failure))

    def drop_connections(self) -> None:
        """Every open session loses its connection, as when the server restarts."""
        for session in list(self.sessions):
            session.close()

    def folder(self, path: str) -> Folder:
        found = self.folders.get(path)
        if found is None:
            raise CommandFailed(f"Mailbox doesn't exist: {path}")
        return found

    # -- used by the sessions -----------------------------------------------------------------------
    def take_failure(self, operation: str) -> ImapError | None:
        pending = self._failures.get(operation)
        if not pending:
            return None
        if pending[0].after > 0:
            pending[0].after -= 1
            return None
        return pending.pop(0).error

    def deliver(
        self,
        folder: Folder,
        path: str,
        raw: bytes,
        flags: Sequence[str],
        date: datetime | None,
        actor: Listener | None,
        ids: tuple[str, str] | None = None,
    ) -> int:
        uid, folder.uid_next = folder.uid_next, folder.uid_next + 1
        email_id, thread_id = ids or (f"M{next(self._ids)}", self._thread_of(raw))
        folder.messages[uid] = Stored(
            uid, raw, unique(flags), folder.bump(), date or self.clock(), email_id, thread_id
        )
        self.tell(path, NewMessages(len(folder.messages)), actor)
        return uid

    def _thread_of(self, raw: bytes) -> str:
        """Messages answering one another share a thread, as OBJECTID's THREADID says."""
        parsed = mime.parse(raw)
        wanted = {*parsed.references, parsed.in_reply_to} - {None}
        for folder in self.folders.values():
            for msg in folder.messages.values():
                if wanted and mime.parse(msg.raw).message_id in wanted:
                    return str(msg.thread_id)
        return f"T{next(self._ids)}"

    def tell(self, path: str, change: Change, actor: Listener | None) -> None:
        for session in self.sessions:
            if session is not actor and session.selected == path:
                session.pending.extend(session.told(change))
                session.arrived.set()
        self.folder_changed(path, actor)

    def folder_changed(self, path: str, actor: Listener | None) -> None:
        for session in self.sessions:
            if session is not actor and session.on_folder is not None and session.selected != path:
                session.on_folder(FolderChanged(path))
