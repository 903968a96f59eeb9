"""Search criteria: answered from the index when every criterion can be, else by IMAP SEARCH."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col

from app.mail.imap import quote_text
from app.models import Message
from app.schemas.messages import SearchCriteria

# Criteria the index has columns for; anything else needs the server.
INDEX_FIELDS = {
    "seen", "unseen", "flagged", "unflagged", "from_", "to", "subject", "since", "before",
    "sentSince", "sentBefore", "larger", "smaller", "uid", "messageId", "emailId", "threadId",
    "emailIds", "modseq",
}  # fmt: skip
# Criteria only Gmail answers (X-GM-EXT-1).
GMAIL_FIELDS = ("gmailRaw", "labels")


def gmail_only(c: SearchCriteria) -> list[str]:
    """The Gmail-only criteria a search uses (their aliases), to refuse them on other servers."""
    return [name for name in GMAIL_FIELDS if getattr(c, name) is not None]


def needs_server(c: SearchCriteria) -> bool:
    return any(getattr(c, name) is not None for name in type(c).model_fields if name not in INDEX_FIELDS)


def _like(column: Any, text: str) -> ColumnElement[bool]:
    return func.lower(column).contains(text.lower(), autoescape=True)


def _uid_ranges(spec: str) -> list[tuple[int, int | None]]:
    ranges: list[tuple[int, int | None]] = []
    for item in spec.split(","):
        lo_s, _, hi_s = item.partition(":")
        lo = None if lo_s == "*" else int(lo_s)
        hi = lo if not hi_s else None if hi_s == "*" else int(hi_s)
        if lo is None:
            lo, hi = (hi or 0), None
        if hi is not None and hi < lo:
            lo, hi = hi, lo
        ranges.append((lo, hi))
    return ranges


def index_conditions(c: SearchCriteria) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for flag, column in (("seen", Message.seen), ("flagged", Message.flagged)):
        value = getattr(c, flag)
        if value is not None:
            where.append(col(column).is_(value))
    if c.unseen is not None:
        where.append(col(Message.seen).is_(not c.unseen))
    if c.unflagged is not None:
        where.append(col(Message.flagged).is_(not c.unflagged))
    if c.from_:
        where.append(_like(Message.search_from, c.from_))
    if c.to:
        where.append(_like(Message.search_to, c.to))
    if c.subject:
        where.append(_like(Message.subject, c.subject))
    if c.since:
        where.append(col(Message.internal_date) >= c.since)
    if c.before:
        where.append(col(Message.internal_date) < c.before)
    if c.sentSince:
        where.append(col(Message.date) >= c.sentSince)
    if c.sentBefore:
        where.append(col(Message.date) < c.sentBefore)
    if c.larger is not None:
        where.append(col(Message.size) > c.larger)
    if c.smaller is not None:
        where.append(col(Message.size) < c.smaller)
    if c.uid:
        parts = [
            col(Message.uid) >= lo if hi is None else and_(col(Message.uid) >= lo, col(Message.uid) <= hi)
            for lo, hi in _uid_ranges(c.uid)
        ]
        where.append(or_(*parts))
    if c.messageId:
        where.append(col(Message.message_id) == c.messageId)
    if c.emailId:
        where.append(col(Message.email_id) == c.emailId)
    if c.threadId:
        where.append(col(Message.thread_id) == c.threadId)
    if c.emailIds is not None:
        where.append(col(Message.email_id).in_(c.emailIds))
    if c.modseq is not None:
        where.append(col(Message.modseq) >= c.modseq)
    return where


def _date(value: datetime) -> str:
    return value.strftime("%d-%b-%Y")


def imap_criteria(c: SearchCriteria) -> list[str]:
    """The whole search as IMAP SEARCH keys (RFC 3501 section 6.4.4)."""
    keys: list[str] = []
    booleans = {
        "seen": ("SEEN", "UNSEEN"),
        "unseen": ("UNSEEN", "SEEN"),
        "flagged": ("FLAGGED", "UNFLAGGED"),
        "unflagged": ("UNFLAGGED", "FLAGGED"),
        "answered": ("ANSWERED", "UNANSWERED"),
        "unanswered": ("UNANSWERED", "ANSWERED"),
        "draft": ("DRAFT", "UNDRAFT"),
        "deleted": ("DELETED", "UNDELETED"),
    }
    for name, (yes, no) in booleans.items():
        value = getattr(c, name)
        if value is not None:
            keys.append(yes if value else no)
    for name, key in (("from_", "FROM"), ("to", "TO"), ("cc", "CC"), ("bcc", "BCC"), ("subject", "SUBJECT"),
                      ("body", "BODY"), ("text", "TEXT")):  # fmt: skip
        value = getattr(c, name)
        if value:
            keys += [key, quote_text(value)]
    for name, key in (
        ("since", "SINCE"),
        ("before", "BEFORE"),
        ("sentSince", "SENTSINCE"),
        ("sentBefore", "SENTBEFORE"),
    ):
        value = getattr(c, name)
        if value:
            keys += [key, _date(value)]
    if c.larger is not None:
        keys += ["LARGER", str(c.larger)]
    if c.smaller is not None:
        keys += ["SMALLER", str(c.smaller)]
    if c.uid:
        keys += ["UID", c.uid]
    if c.keyword:
        keys += ["KEYWORD", c.keyword]
    if c.unKeyword:
        keys += ["UNKEYWORD", c.unKeyword]
    if c.messageId:
        keys += ["HEADER", "Message-ID", quote_text(c.messageId)]
    for name, value in (c.header or {}).items():
        keys += (
            ["HEADER", name, quote_text("" if value is True else str(value))] if value is not False else []
        )
    if c.emailId:
        keys += ["EMAILID", c.emailId]
    if c.threadId:
        keys += ["THREADID", c.threadId]
    if c.emailIds:
        keys += _any_of([["EMAILID", e] for e in c.emailIds])
    if c.seq:
        keys.append(c.seq)
    if c.modseq is not None:
        keys += ["MODSEQ", str(c.modseq)]
    if c.gmailRaw:
        keys += ["X-GM-RAW", quote_text(c.gmailRaw)]
    if c.labels is not None:
        for label in c.labels.has or []:
            keys += ["X-GM-LABELS", quote_text(label)]
        for label in c.labels.not_ or []:
            keys += ["NOT", "X-GM-LABELS", quote_text(label)]
    return keys or ["ALL"]


def _any_of(alternatives: list[list[str]]) -> list[str]:
    """``OR a OR b c``: IMAP's OR takes exactly two keys."""
    keys = alternatives[-1]
    for alternative in reversed(alternatives[:-1]):
        keys = ["OR", *alternative, *keys]
    return keys
