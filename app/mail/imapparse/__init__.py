"""Parse IMAP4rev1 server responses in the shape aioimaplib 2.0.3 hands them over.

``Response.lines`` is a list whose items are:

- ``bytes``: one response line without CRLF. aioimaplib strips the leading ``* `` of untagged
  lines, except when it believes a FETCH is still open (an unbalanced parenthesis inside a quoted
  string such as ``"Re: hi :)"``): then the following lines keep their ``* `` prefix. Both forms
  are accepted here.
- ``bytearray``: a literal. It follows the ``bytes`` item that ends in ``{N}``; the next ``bytes``
  item continues the same response (an empty continuation line is dropped by aioimaplib).
- the last item is the tagged completion text without tag and status (``b'[READ-ONLY] Done'``).

Everything here is synchronous and pure. Malformed input raises only :class:`ImapParseError`, and
the FETCH parser skips a bad item (logged at debug level) rather than failing the whole batch.

What aioimaplib loses cannot be recovered here: it drops untagged responses it cannot route to a
pending command (``* ESEARCH`` for ``UID SEARCH RETURN (...)``, ``* VANISHED`` after ``UID EXPUNGE``),
strips the words ``LIST``/``LSUB``/``STATUS``/``SEARCH`` from async commands' lines (handled), and
removes every ``"* "`` inside an untagged line (``"5 * 3"`` in a quoted subject arrives as ``"5 3"``).

Covered: RFC 3501, RFC 7162 (CONDSTORE/QRESYNC), RFC 8474 (OBJECTID), RFC 8970 (PREVIEW),
RFC 4315 (UIDPLUS), RFC 4731 (ESEARCH), RFC 6154 (SPECIAL-USE), Gmail's X-GM-MSGID/X-GM-THRID.
"""

from app.mail.encoding import filename_of
from app.mail.imapparse.body import parse_internal_date
from app.mail.imapparse.codes import (
    compact_uid_set,
    expand_uid_set,
    parse_appenduid,
    parse_copyuid,
    parse_response_code,
)
from app.mail.imapparse.fetch import parse_fetch
from app.mail.imapparse.mailbox import SPECIAL_USE, parse_list, parse_select, parse_status, parse_status_all
from app.mail.imapparse.search import PushKind, parse_push, parse_search, parse_vanished
from app.mail.imapparse.tokens import ImapParseError, Line, Value, iter_responses
from app.mail.types import CopyUid, ESearchResult, ListEntry, SectionKey, SelectInfo

__all__ = [
    "SPECIAL_USE",
    "CopyUid",
    "ESearchResult",
    "ImapParseError",
    "Line",
    "ListEntry",
    "PushKind",
    "SectionKey",
    "SelectInfo",
    "Value",
    "compact_uid_set",
    "expand_uid_set",
    "filename_of",
    "iter_responses",
    "parse_appenduid",
    "parse_copyuid",
    "parse_fetch",
    "parse_internal_date",
    "parse_list",
    "parse_push",
    "parse_response_code",
    "parse_search",
    "parse_select",
    "parse_status",
    "parse_status_all",
    "parse_vanished",
]
