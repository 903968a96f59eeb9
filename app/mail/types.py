"""Plain data passed between the IMAP adapter, the IMAP response parser, the MIME code and the sync engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(slots=True)
class Address:
    name: str | None
    address: str | None  # "mailbox@host"; None for group syntax markers


@dataclass(slots=True)
class Envelope:
    date: datetime | None = None
    subject: str | None = None  # RFC 2047 decoded
    from_: list[Address] = field(default_factory=list)
    sender: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    in_reply_to: str | None = None
    message_id: str | None = None


@dataclass(slots=True)
class BodyPart:
    """One node of BODYSTRUCTURE. ``part`` is the IMAP section number: "1", "1.2"; a single-part
    message's only body is "1"."""

    type: str  # lower case, e.g. "text", "multipart", "image"
    subtype: str  # lower case, e.g. "plain", "mixed"
    part: str
    params: dict[str, str] = field(default_factory=dict)  # lower-case keys, RFC 2231/2047 decoded
    id: str | None = None  # Content-ID
    description: str | None = None
    encoding: str | None = None  # lower case
    size: int | None = None  # encoded octets
    lines: int | None = None
    disposition: str | None = None  # lower case: "inline" / "attachment"
    disposition_params: dict[str, str] = field(default_factory=dict)  # filename decoded
    parts: list[BodyPart] = field(default_factory=list)  # children of a multipart
    message: BodyPart | None = None  # body of an attached message/rfc822


@dataclass(slots=True)
class FetchedMessage:
    """One FETCH response; fields the server did not send stay None."""

    seq: int
    uid: int | None = None
    flags: list[str] | None = None
    modseq: int | None = None
    internal_date: datetime | None = None
    size: int | None = None
    envelope: Envelope | None = None
    body: BodyPart | None = None
    email_id: str | None = None  # RFC 8474 OBJECTID
    thread_id: str | None = None
    preview: str | None = None  # RFC 8970 PREVIEW
    sections: dict[str, bytes] = field(default_factory=dict)  # e.g. {"HEADER.FIELDS (REFERENCES)": b"..."}


class SectionKey(NamedTuple):
    """A ``BODY[...]``/``BODY.PEEK[...]``/``BINARY[...]`` FETCH key, with the optional ``<origin>``."""

    kind: str  # upper case: "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE", ...
    section: str  # text between the brackets, as sent: "", "1.2", "HEADER.FIELDS (REFERENCES)"
    origin: int | None = None


@dataclass(slots=True)
class ListEntry:
    """One LIST/LSUB/XLIST response."""

    path: str  # decoded from modified UTF-7
    name: str  # the mailbox name as sent (still UTF-7 encoded)
    delimiter: str | None
    flags: list[str] = field(default_factory=list)
    special_use: str | None = None  # one of SPECIAL_USE, or "\\Inbox" for INBOX
    subscribed: bool = False  # not parsed here: set by the caller from LSUB


@dataclass(slots=True)
class SelectInfo:
    """What SELECT/EXAMINE reported."""

    exists: int = 0
    uid_validity: int | None = None
    uid_next: int | None = None
    highest_modseq: int | None = None  # None when the server said NOMODSEQ or nothing
    flags: list[str] = field(default_factory=list)
    permanent_flags: list[str] = field(default_factory=list)
    read_only: bool = False
    vanished: list[int] = field(default_factory=list)  # QRESYNC: VANISHED (EARLIER)
    fetched: list[FetchedMessage] = field(default_factory=list)  # QRESYNC: changed messages
    recent: int | None = None
    unseen: int | None = None  # sequence number of the first unseen message ([UNSEEN n])
    mailbox_id: str | None = None  # RFC 8474 [MAILBOXID (id)]


class CopyUid(NamedTuple):
    """RFC 4315 ``[COPYUID validity source dest]`` with both sets expanded (pairs by position)."""

    uid_validity: int
    source: list[int]
    destination: list[int]


@dataclass(slots=True)
class ESearchResult:
    """RFC 4731 ``ESEARCH (TAG "A1") UID ALL 1:3,5 MIN 1 ...``."""

    tag: str | None = None
    uid: bool = False
    all: list[int] = field(default_factory=list)
    min: int | None = None
    max: int | None = None
    count: int | None = None
    modseq: int | None = None
