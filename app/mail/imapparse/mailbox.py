"""Mailbox-level answers: LIST/LSUB/XLIST, STATUS and SELECT/EXAMINE (with QRESYNC's changes)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from app.mail import utf7
from app.mail.imapparse.codes import parse_response_code
from app.mail.imapparse.fetch import fetch_message
from app.mail.imapparse.search import vanished_uids
from app.mail.imapparse.tokens import (
    Line,
    Malformed,
    Value,
    first,
    flag_list,
    guard,
    iter_responses,
    log,
    string,
    tokens_of,
)
from app.mail.types import ListEntry, SectionKey, SelectInfo

# ------------------------------------------------------------------------------------------- LIST

SPECIAL_USE = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
_SPECIAL_USE_BY_LOWER = {flag.lower(): flag for flag in SPECIAL_USE}
# Gmail's XLIST names for the same thing
_SPECIAL_USE_BY_LOWER.update({"\\allmail": "\\All", "\\spam": "\\Junk", "\\starred": "\\Flagged"})


def _list_entry(tokens: list[Value]) -> ListEntry | None:
    """``[LIST] (flags) delimiter name [extended data]``; aioimaplib strips the word LIST/LSUB."""
    if tokens and type(tokens[0]) is str and tokens[0].upper() in ("LIST", "LSUB", "XLIST"):
        tokens = tokens[1:]
    if len(tokens) < 3 or type(tokens[0]) is not list:
        return None
    names = flag_list(tokens[0])
    delimiter = string(tokens[1]) if not isinstance(tokens[1], list | SectionKey) else None
    raw = tokens[2]
    if isinstance(raw, list | SectionKey) or raw is None:
        raise Malformed(f"LIST without a mailbox name: {tokens!r}")
    name = string(raw) or ""
    path = utf7.decode(name)
    special: str | None = None
    if path.upper() == "INBOX":
        special = "\\Inbox"
    else:
        for flag in names:
            lowered = flag.lower()
            if lowered == "\\inbox":
                special = "\\Inbox"
                break
            found = _SPECIAL_USE_BY_LOWER.get(lowered)
            if found is not None:
                special = found
                break
    return ListEntry(path=path, name=name, delimiter=delimiter, flags=names, special_use=special)


@guard
def parse_list(lines: Iterable[Line]) -> list[ListEntry]:
    """Every LIST/LSUB/XLIST response; names may be quoted strings, atoms or literals."""
    out: list[ListEntry] = []
    for tokens, _ in iter_responses(lines):
        try:
            entry = _list_entry(tokens)
        except Malformed as exc:
            log.debug("imapparse: skipping LIST response: %s", exc)
            continue
        if entry is not None:
            out.append(entry)
    return out


# ----------------------------------------------------------------------------------------- STATUS


def _status(tokens: list[Value]) -> tuple[str, dict[str, int]] | None:
    """``[STATUS] name (ITEM n ...)``; aioimaplib strips the word STATUS."""
    if len(tokens) == 3 and type(tokens[0]) is str and tokens[0].upper() == "STATUS":
        tokens = tokens[1:]
    if len(tokens) != 2 or type(tokens[1]) is not list or isinstance(tokens[0], list | SectionKey):
        return None
    name = string(tokens[0])
    items = tokens[1]
    if name is None or len(items) % 2:
        return None
    if not all(type(k) is str and type(v) is int for k, v in zip(items[0::2], items[1::2], strict=True)):
        return None
    values: dict[str, int] = {}
    for i in range(0, len(items) - 1, 2):
        key, value = items[i], items[i + 1]
        if type(key) is str and type(value) is int:
            values[key.upper()] = value
    return utf7.decode(name), values


@guard
def parse_status(lines: Iterable[Line]) -> dict[str, int]:
    """``STATUS "name" (MESSAGES 3 UIDNEXT 9 ...)`` → ``{"MESSAGES": 3, "UIDNEXT": 9, ...}`` (the
    first STATUS response; ``{}`` when there is none)."""
    for tokens, _ in iter_responses(lines):
        found = _status(tokens)
        if found is not None:
            return found[1]
    return {}


@guard
def parse_status_all(lines: Iterable[Line]) -> dict[str, dict[str, int]]:
    """Every STATUS response keyed by decoded mailbox path (LIST-STATUS returns many)."""
    out: dict[str, dict[str, int]] = {}
    for tokens, _ in iter_responses(lines):
        found = _status(tokens)
        if found is not None:
            out.setdefault(found[0], {}).update(found[1])
    return out


# ----------------------------------------------------------------------------------------- SELECT


def _code_int(args: str) -> int | None:
    args = args.strip()
    return int(args) if args.isdigit() and args.isascii() else None


@guard
def parse_select(lines: Iterable[Line]) -> SelectInfo:
    """SELECT/EXAMINE response, including ``SELECT ... (QRESYNC ...)``'s VANISHED and FETCH lines."""
    info = SelectInfo()
    nomodseq = False
    vanished: set[int] = set()
    for tokens, first_line in iter_responses(lines):
        if not tokens:
            continue
        head = tokens[0]
        if type(head) is int:
            if len(tokens) < 2 or type(tokens[1]) is not str:
                continue
            word = tokens[1].upper()
            if word == "EXISTS":
                info.exists = head
            elif word == "RECENT":
                info.recent = head
            elif word == "FETCH":
                msg = fetch_message(tokens)
                if msg is not None:
                    info.fetched.append(msg)
            continue
        if type(head) is not str:
            continue
        upper = head.upper()
        if upper == "FLAGS" and len(tokens) > 1:
            info.flags = flag_list(tokens[1])
            continue
        if upper == "VANISHED":
            vanished.update(vanished_uids(tokens) or ())
            continue
        code = parse_response_code(first_line)
        if code is None:
            continue
        name, args = code
        if name == "CLOSED":  # RFC 7162: what came before belongs to the previously selected mailbox
            info = SelectInfo()
            nomodseq = False
            vanished.clear()
        elif name == "UIDVALIDITY":
            info.uid_validity = _code_int(args)
        elif name == "UIDNEXT":
            info.uid_next = _code_int(args)
        elif name == "HIGHESTMODSEQ":
            info.highest_modseq = _code_int(args)
        elif name == "NOMODSEQ":
            nomodseq = True
        elif name == "UNSEEN":
            info.unseen = _code_int(args)
        elif name == "PERMANENTFLAGS":
            info.permanent_flags = flag_list(first(tokens_of(args)) if args.startswith("(") else None)
        elif name == "READ-ONLY":
            info.read_only = True
        elif name == "READ-WRITE":
            info.read_only = False
        elif name == "MAILBOXID":
            with contextlib.suppress(Malformed):
                info.mailbox_id = string(first(first(tokens_of(args))))
    if nomodseq:
        info.highest_modseq = None
    info.vanished = sorted(vanished)
    return info
