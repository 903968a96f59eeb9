"""Telling a command's answer from what the server reports unasked while it runs.

A server brings its view of the selected folder up to date at the end of whichever command runs,
and announces what changed there (``* 5 EXISTS``, ``* 3 EXPUNGE``, ``* VANISHED 7``, a FETCH of
another message's flags), never again: an IDLE after it hears nothing. So a fetch keeps only
the lines that answer it and marks the rest as news, for its caller to read the folder again."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from app.mail import imapparse
from app.mail.session import Fetched, Uids, UidsFrom
from app.mail.types import FetchedMessage

#: Untagged lines that tell of a change to the selected folder.
_CHANGE = re.compile(rb"(\d+ (EXISTS|EXPUNGE|FETCH)|VANISHED)\b", re.IGNORECASE)
_EARLIER = re.compile(rb"VANISHED \(EARLIER\)", re.IGNORECASE)


def reports_change(lines: Sequence[bytes]) -> bool:
    """Whether untagged lines heard during a command announce a change made meanwhile.

    "VANISHED (EARLIER)" answers a CHANGEDSINCE ... VANISHED request and is no news."""
    return any(_CHANGE.match(line) and not _EARLIER.match(line) for line in lines)


def vanished_earlier(lines: Sequence[bytes]) -> list[int]:
    """The UIDs of the "VANISHED (EARLIER)" lines: the expunges a CHANGEDSINCE request asked about."""
    return imapparse.parse_vanished([line for line in lines if _EARLIER.match(line)])


def news_mark() -> FetchedMessage:
    """The mark of a fetch whose answer carried a change nobody asked about.

    An entry without UID is what callers already take as "read the folder again" (the server
    named a message by position only, which cannot be mapped to a UID), so it stands for that
    news too. Its position 0 names no message, which tells it from a server's line."""
    return FetchedMessage(0)


def only_answers(found: Fetched, uids: Uids, answered: Callable[[FetchedMessage], bool]) -> Fetched:
    """Keep the FETCH lines that answer the request; any other line becomes one :func:`news_mark`.

    An answer line names a requested UID and carries what the request asked (``answered``); the
    others are the server's unsolicited reports (another message's new flags, or a bare FLAGS line
    next to the answer), which may be the only word a change ever gets. A line without UID stays
    as it is: the caller notices it itself. IMAP's "n:*" includes the last message even below n:
    a complete line below n is that one, and no news."""
    asked = (lambda uid: uid >= uids.first) if isinstance(uids, UidsFrom) else _membership(uids)
    kept: list[FetchedMessage] = []
    news = False
    for message in found.messages:
        if message.uid is None:
            if message.seq:
                kept.append(message)
            else:
                news = True
        elif answered(message) and asked(message.uid):
            kept.append(message)
        elif not answered(message) or not isinstance(uids, UidsFrom):
            news = True
    if news and all(m.uid is not None for m in kept):
        kept.append(news_mark())
    found.messages = kept
    return found


def _membership(uids: Sequence[int]) -> Callable[[int], bool]:
    """``in uids`` in constant time, without building a set of a long ``range``."""
    return uids.__contains__ if isinstance(uids, range) else set(uids).__contains__


def has_summary(message: FetchedMessage) -> bool:
    """Whether a line carries a summary: an unsolicited one has only UID, FLAGS and MODSEQ (a
    malformed ENVELOPE alone must not make a message look unasked, or it would never be indexed)."""
    return any(x is not None for x in (message.size, message.internal_date, message.envelope, message.body))


def has_flags(message: FetchedMessage) -> bool:
    return message.flags is not None
