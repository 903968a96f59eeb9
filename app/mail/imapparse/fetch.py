"""FETCH responses: each ``N FETCH (...)`` read into a :class:`~app.mail.types.FetchedMessage`.

An item the server got wrong is skipped (logged at debug level), never the whole batch: one odd
message must not stop a sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.mail.imapparse.body import body_structure, envelope, parse_internal_date
from app.mail.imapparse.tokens import (
    Line,
    Malformed,
    Value,
    first,
    flag_list,
    guard,
    iter_responses,
    log,
    number,
    string,
)
from app.mail.types import FetchedMessage, SectionKey


def _set_uid(msg: FetchedMessage, v: Value) -> None:
    msg.uid = number(v)


def _set_flags(msg: FetchedMessage, v: Value) -> None:
    if type(v) is not list:
        raise Malformed(f"FLAGS expects a list: {v!r}")
    msg.flags = flag_list(v)


def _set_modseq(msg: FetchedMessage, v: Value) -> None:
    msg.modseq = number(first(v))


def _set_internal_date(msg: FetchedMessage, v: Value) -> None:
    msg.internal_date = parse_internal_date(string(v))


def _set_size(msg: FetchedMessage, v: Value) -> None:
    msg.size = number(v)


def _set_envelope(msg: FetchedMessage, v: Value) -> None:
    msg.envelope = envelope(v)


def _set_body(msg: FetchedMessage, v: Value) -> None:
    msg.body = body_structure(v, "", True, 0)


def _set_email_id(msg: FetchedMessage, v: Value) -> None:
    msg.email_id = string(first(v))


def _set_thread_id(msg: FetchedMessage, v: Value) -> None:
    msg.thread_id = string(first(v))


def _set_preview(msg: FetchedMessage, v: Value) -> None:
    if type(v) is list:  # pre-RFC 8970 drafts: SNIPPET (FUZZY "text"), PREVIEW (FUZZY "text")
        texts = [x for x in v if isinstance(x, bytes) or (type(x) is str and x.upper() != "FUZZY")]
        v = texts[-1] if texts else None
    msg.preview = string(v)


def _section_setter(name: str) -> Callable[[FetchedMessage, Value], None]:
    def setter(msg: FetchedMessage, v: Value) -> None:
        _store_section(msg, name, v)

    return setter


def _store_section(msg: FetchedMessage, name: str, v: Value) -> None:
    if isinstance(v, bytes):
        msg.sections[name] = v
    elif isinstance(v, str):
        msg.sections[name] = v.encode("utf-8")
    elif v is not None:
        raise Malformed(f"section data expected: {v!r}")


_ITEMS: dict[str, Callable[[FetchedMessage, Value], None]] = {
    "UID": _set_uid,
    "FLAGS": _set_flags,
    "MODSEQ": _set_modseq,
    "INTERNALDATE": _set_internal_date,
    "RFC822.SIZE": _set_size,
    "ENVELOPE": _set_envelope,
    "BODYSTRUCTURE": _set_body,
    "BODY": _set_body,
    "EMAILID": _set_email_id,
    "THREADID": _set_thread_id,
    "X-GM-MSGID": _set_email_id,
    "X-GM-THRID": _set_thread_id,
    "PREVIEW": _set_preview,
    "SNIPPET": _set_preview,
    "RFC822": _section_setter(""),
    "RFC822.HEADER": _section_setter("HEADER"),
    "RFC822.TEXT": _section_setter("TEXT"),
}
_SECTION_KINDS = frozenset({"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK"})


def fetch_message(tokens: list[Value]) -> FetchedMessage | None:
    """``[seq, 'FETCH', [items]]`` → FetchedMessage; None if this is not a FETCH response."""
    if len(tokens) < 3:
        return None
    seq, word, items = tokens[0], tokens[1], tokens[2]
    if type(seq) is not int or type(word) is not str or word.upper() != "FETCH":
        return None
    if type(items) is not list:
        log.debug("imapparse: FETCH %s without item list: %r", seq, items)
        return None
    msg = FetchedMessage(seq)
    get = _ITEMS.get
    n = len(items)
    for i in range(0, n, 2):
        key = items[i]
        value = items[i + 1] if i + 1 < n else None
        try:
            if type(key) is str:
                handler = get(key) or get(key.upper())
                if handler is not None:
                    handler(msg, value)
            elif type(key) is SectionKey:
                if key.kind in _SECTION_KINDS:
                    _store_section(msg, key.section, value)
            else:
                log.debug("imapparse: FETCH %s: unexpected item name %r", seq, key)
        except Exception as exc:
            log.debug("imapparse: FETCH %s: skipping %r: %s", seq, key, exc)
    return msg


@guard
def parse_fetch(lines: Iterable[Line]) -> list[FetchedMessage]:
    """Every untagged ``N FETCH (...)`` in ``lines``; other responses are ignored."""
    out: list[FetchedMessage] = []
    for tokens, _ in iter_responses(lines):
        if tokens and type(tokens[0]) is int:
            msg = fetch_message(tokens)
            if msg is not None:
                out.append(msg)
    return out
