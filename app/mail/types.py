"""Plain data passed between the IMAP adapter, the MIME code and the sync engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
