"""One IMAP connection speaking :class:`app.mail.session.MailSession`: the only place above the
wire where IMAP command text (FETCH items, STORE actions, UID sets) is written. Every call is
bounded by :class:`app.mail.imapbase.ImapBase`: it completes, raises, or times out."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aioimaplib

from app.mail import imapparse, unsolicited, utf7, wirelog
from app.mail.imapbase import ImapBase, quote, quote_text
from app.mail.session import (
    AuthenticationFailed,
    CommandFailed,
    ConnectFailed,
    ConnectionLost,
    Fetched,
    FlagAction,
    FolderStatus,
    ImapError,
    Uids,
    UidsFrom,
)
from app.mail.types import FetchedMessage

if TYPE_CHECKING:
    from app.mail.session import MailSession

__all__ = [
    "AuthenticationFailed",
    "CommandFailed",
    "ConnectFailed",
    "ConnectionLost",
    "Fetched",
    "ImapConnection",
    "ImapError",
    "open_session",
    "quote",
    "quote_text",
    "uid_set",
]

SUMMARY_ITEMS = "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE"
_STORE = {"set": "FLAGS.SILENT", "add": "+FLAGS.SILENT", "remove": "-FLAGS.SILENT"}


def uid_set(uids: Uids) -> str:
    """A UID set as IMAP writes it; a ``range`` stays one "first:last" however long it is."""
    if isinstance(uids, UidsFrom):
        return f"{uids.first}:*"
    if isinstance(uids, range) and uids.step == 1 and len(uids):
        return f"{uids.start}:{uids.stop - 1}"
    return imapparse.compact_uid_set(uids)


def _empty(uids: Uids) -> bool:
    return not isinstance(uids, UidsFrom) and not uids


def _section(found: FetchedMessage | None, section: str) -> bytes | None:
    if found is None:
        return None
    wanted = section.upper()
    return next((v for k, v in found.sections.items() if k.upper() == wanted), None)


def _partial(max_bytes: int | None) -> str:
    return f"<0.{max_bytes}>" if max_bytes is not None else ""


def open_session(
    settings: dict[str, Any], *, timeout: float, name: str, wire: wirelog.Sink | None = None
) -> ImapConnection:
    """The production :class:`app.mail.session.SessionFactory`."""
    return ImapConnection(settings, timeout=timeout, name=name, wire=wire)


class ImapConnection(ImapBase):
    """Every operation of :class:`app.mail.session.MailSession`, spoken in IMAP."""

    # -- folders ---------------------------------------------------------------------------------
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

    async def list_with_status(self) -> tuple[list[imapparse.ListEntry], dict[str, FolderStatus]]:
        """One LIST-EXTENDED command (RFC 5258, 5819, 6154) answers what LIST, LSUB and a STATUS
        of every folder would: a thousand accounts connecting at once send a fifth of the commands."""
        if not {"LIST-EXTENDED", "LIST-STATUS"} <= self.capabilities:
            return await self.list_folders(), {}
        options = "CHILDREN SUBSCRIBED" + (" SPECIAL-USE" if "SPECIAL-USE" in self.capabilities else "")
        pattern = f'"*" RETURN ({options} STATUS ({self._status_items()}))'
        response, heard = await self._ok_hearing(self._client.list('""', pattern))
        entries = imapparse.parse_list(response.lines)
        for entry in entries:  # the flags as plain LIST gives them, subscription apart
            marks = {f.upper() for f in entry.flags}
            entry.subscribed = "\\SUBSCRIBED" in marks or entry.path == "INBOX"
            entry.flags = [
                "\\Noselect" if f.upper() == "\\NONEXISTENT" else f  # RFC 5258: it implies \Noselect
                for f in entry.flags
                if f.upper() != "\\SUBSCRIBED"
            ]
        found = imapparse.parse_status_all(heard)
        return entries, {path: _folder_status(values) for path, values in found.items()}

    def _status_items(self) -> str:
        return "MESSAGES UIDNEXT UIDVALIDITY UNSEEN" + (
            " HIGHESTMODSEQ" if "CONDSTORE" in self.capabilities else ""
        )

    async def status(self, path: str) -> FolderStatus:
        response = await self._ok(self._client.status(quote(path), f"({self._status_items()})"))
        return _folder_status(imapparse.parse_status(response.lines))

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

    # -- the selected folder ---------------------------------------------------------------------
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
        if self.selected == path and self.selected_info is not None and (self.writable or not writable):
            return self.selected_info
        return await self.select(path, readonly=not writable)

    async def fetch(
        self, uids: str, items: str, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        """A raw UID FETCH of ``items``; the typed reads below say which items they need."""
        modifiers = ""
        if changed_since is not None:
            extra = " VANISHED" if vanished and "QRESYNC" in self.capabilities else ""
            modifiers = f" (CHANGEDSINCE {changed_since}{extra})"
        response, heard = await self._ok_hearing(
            self._client.uid("fetch", uids, f"({items}){modifiers}"), timeout=self.timeout * 4
        )
        found = Fetched(imapparse.parse_fetch(response.lines))
        if changed_since is not None and vanished:
            # aioimaplib passes VANISHED to no command: the (EARLIER) ones answer this one.
            found.vanished = unsolicited.vanished_earlier(heard)
        if unsolicited.reports_change(heard):
            found.messages.append(unsolicited.news_mark())
        return found

    def summary_items(self) -> str:
        """What the index keeps, asking for each extra the server offers."""
        items = SUMMARY_ITEMS
        if "PREVIEW" in self.capabilities:
            items += " PREVIEW"
        if "CONDSTORE" in self.capabilities:
            items += " MODSEQ"
        if "OBJECTID" in self.capabilities:
            items += " EMAILID THREADID"
        elif "X-GM-EXT-1" in self.capabilities:
            items += " X-GM-MSGID X-GM-THRID"
        return items

    async def fetch_summaries(
        self, uids: Uids, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        if _empty(uids):
            return Fetched([])
        found = await self.fetch(
            uid_set(uids), self.summary_items(), changed_since=changed_since, vanished=vanished
        )
        return unsolicited.only_answers(found, uids, unsolicited.has_summary)

    async def fetch_flags(
        self, uids: Uids, *, changed_since: int | None = None, vanished: bool = False
    ) -> Fetched:
        if _empty(uids):
            return Fetched([])
        items = "UID FLAGS MODSEQ" if "CONDSTORE" in self.capabilities else "UID FLAGS"
        found = await self.fetch(uid_set(uids), items, changed_since=changed_since, vanished=vanished)
        return unsolicited.only_answers(found, uids, unsolicited.has_flags)

    async def fetch_source(self, uid: int, *, max_bytes: int | None = None) -> bytes | None:
        return await self.fetch_section(uid, "", max_bytes=max_bytes)

    async def fetch_section(self, uid: int, section: str, *, max_bytes: int | None = None) -> bytes | None:
        """``BODY.PEEK[section]``, or its partial form ``<0.n>``: the server sends only that much."""
        fetched = await self.fetch(str(uid), f"UID BODY.PEEK[{section}]{_partial(max_bytes)}")
        return _section(next((m for m in fetched.messages if m.uid == uid), None), section)

    async def labels(self, uids: Sequence[int]) -> dict[int, list[str]]:
        """Gmail labels by UID (X-GM-LABELS); empty on servers without them."""
        if "X-GM-EXT-1" not in self.capabilities or not uids:
            return {}
        response = await self._ok(self._client.uid("fetch", uid_set(uids), "(UID X-GM-LABELS)"))
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
        response, heard = await self._ok_hearing(
            self._client.uid_search("ALL", charset=None), timeout=self.timeout * 4
        )
        lines = heard + [bytes(x) for x in response.lines if isinstance(x, bytes | bytearray)]
        return imapparse.parse_search(response.lines), unsolicited.reports_change(lines)

    async def existing(self, uids: Sequence[int]) -> list[int]:
        if not uids:
            return []
        found = set(await self.search("UID", uid_set(uids), charset=None))
        return [u for u in uids if u in found]

    async def search(self, *criteria: str, charset: str | None = "UTF-8") -> list[int]:
        response = await self._ok(
            self._client.uid_search(*criteria, charset=charset), timeout=self.timeout * 4
        )
        return imapparse.parse_search(response.lines)

    async def store(self, uids: str, action: str, flags: Sequence[str]) -> list[FetchedMessage]:
        """A raw UID STORE (``+FLAGS``, ``-X-GM-LABELS.SILENT``...); see :meth:`store_flags`."""
        response = await self._ok(self._client.uid("store", uids, action, "(" + " ".join(flags) + ")"))
        return imapparse.parse_fetch(response.lines)

    async def store_flags(self, uids: Sequence[int], action: FlagAction, flags: Sequence[str]) -> None:
        if uids and (flags or action == "set"):
            await self.store(uid_set(uids), _STORE[action], flags)

    async def store_labels(self, uids: Sequence[int], action: FlagAction, labels: Sequence[str]) -> None:
        if "X-GM-EXT-1" not in self.capabilities:
            raise CommandFailed("This server has no labels (X-GM-EXT-1)")
        if uids and (labels or action == "set"):
            verb = _STORE[action].replace("FLAGS", "X-GM-LABELS")
            await self.store(uid_set(uids), verb, [quote_text(label) for label in labels])

    async def move(self, uids: Sequence[int], destination: str) -> imapparse.CopyUid | None:
        if not uids:
            return None
        if "MOVE" in self.capabilities:
            response = await self._ok(self._client.uid("move", uid_set(uids), quote(destination)))
            return imapparse.parse_copyuid(response.lines)
        copied = await self.copy(uids, destination)
        await self.store_flags(uids, "add", ["\\Deleted"])
        await self.expunge(uids)
        return copied

    async def copy(self, uids: Sequence[int], destination: str) -> imapparse.CopyUid | None:
        if not uids:
            return None
        response = await self._ok(self._client.uid("copy", uid_set(uids), quote(destination)))
        return imapparse.parse_copyuid(response.lines)

    async def expunge(self, uids: Sequence[int]) -> None:
        if not uids:
            return
        if "UIDPLUS" in self.capabilities:
            await self._ok(self._client.uid("expunge", uid_set(uids)))
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


if TYPE_CHECKING:
    _session: MailSession = ImapConnection({})


def _folder_status(found: dict[str, int]) -> FolderStatus:
    return FolderStatus(
        messages=found.get("MESSAGES"),
        uid_next=found.get("UIDNEXT"),
        uid_validity=found.get("UIDVALIDITY"),
        unseen=found.get("UNSEEN"),
        highest_modseq=found.get("HIGHESTMODSEQ"),
    )
