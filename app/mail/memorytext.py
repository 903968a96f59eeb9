"""What :mod:`app.mail.memory` answers from a raw source: IMAP body sections and a small search.

Sections are cut with the stdlib parser (compat32 keeps each part's body exactly as sent), and the
search knows the keys the services and the sync really use, refusing every other one so that no
caller mistakes an unsupported key for "matches everything"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from io import BytesIO

from app.mail import mime
from app.mail.session import UnsupportedSearch

__all__ = ["matches", "section_bytes"]

_BLANK = re.compile(rb"\r?\n\r?\n")
_FLAG_KEYS = {
    "SEEN": ("\\Seen", True),
    "UNSEEN": ("\\Seen", False),
    "FLAGGED": ("\\Flagged", True),
    "UNFLAGGED": ("\\Flagged", False),
    "DELETED": ("\\Deleted", True),
    "UNDELETED": ("\\Deleted", False),
    "ANSWERED": ("\\Answered", True),
    "UNANSWERED": ("\\Answered", False),
    "DRAFT": ("\\Draft", True),
    "UNDRAFT": ("\\Draft", False),
}
_TEXT_KEYS = frozenset({"SUBJECT", "FROM", "TO", "TEXT", "BODY"})


# -- sections -----------------------------------------------------------------------------------
def _split(raw: bytes) -> tuple[bytes, bytes]:
    found = _BLANK.search(raw)
    if found is None:
        return raw, b""
    return raw[: found.end()], raw[found.end() :]


def _serialize(msg: Message) -> bytes:
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy.compat32.clone(max_line_length=0)).flatten(msg)
    return out.getvalue()


def _is_message(node: Message) -> bool:
    return node.get_content_type() in ("message/rfc822", "message/global")


def _inner(node: Message) -> Message | None:
    payload = node.get_payload()
    first = payload[0] if isinstance(payload, list) and payload else None
    return first if isinstance(first, Message) else None


def _child(node: Message, number: int) -> Message | None:
    """Part ``number`` below ``node``: a single-part message's part 1 is its own body."""
    if _is_message(node):
        inner = _inner(node)
        if inner is None:
            return None
        node = inner
    if node.is_multipart():
        children = node.get_payload()
        found = children[number - 1] if isinstance(children, list) and 0 < number <= len(children) else None
        return found if isinstance(found, Message) else None
    return node if number == 1 else None


def _body(node: Message) -> bytes:
    payload = node.get_payload()
    if isinstance(payload, str):
        return payload.encode("ascii", "surrogateescape")
    return _split(_serialize(node))[1]


def section_bytes(raw: bytes, section: str) -> bytes:
    """``BODY[section]`` of ``raw``: "", "HEADER", "TEXT", "1.2", "2.HEADER",
    "2.TEXT", "1.MIME". Unknown parts give b"", as servers answer NIL/empty for them."""
    names = section.strip().upper().split(".") if section.strip() else []
    numbers: list[int] = []
    while names and names[0].isdigit():
        numbers.append(int(names.pop(0)))
    suffix = ".".join(names)
    if not numbers:
        header, text = _split(raw)
        return {"": raw, "HEADER": header, "TEXT": text}.get(suffix, b"")
    root = BytesParser(policy=policy.compat32).parsebytes(raw)
    node: Message | None = root
    for number in numbers:
        node = _child(node, number) if node is not None else None
    if node is None:
        return b""
    if suffix == "MIME":
        return _split(_serialize(node))[0]
    if suffix in ("HEADER", "TEXT"):
        inner = _inner(node) if _is_message(node) else None
        if inner is None:
            return b""
        header, text = _split(_serialize(inner))
        return header if suffix == "HEADER" else text
    if suffix:
        return b""
    if node is root:  # part 1 of a single-part message: its body
        return _split(raw)[1]
    return _body(node)


# -- search -------------------------------------------------------------------------------------
def _uid_set(text: str, last: int) -> set[int]:
    found: set[int] = set()
    for piece in text.split(","):
        lo, _, hi = piece.partition(":")
        a = last if lo == "*" else int(lo)
        b = a if not hi else (last if hi == "*" else int(hi))
        found.update(range(min(a, b), max(a, b) + 1))
    return found


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _text_of(key: str, raw: bytes) -> str:
    parsed = mime.parse(raw)
    body = (parsed.text or "") + "\n" + (parsed.html or "")
    if key == "SUBJECT":
        return parsed.subject or ""
    if key in ("FROM", "TO"):
        people = parsed.from_ if key == "FROM" else parsed.to
        return " ".join(f"{a.name or ''} <{a.address or ''}>" for a in people)
    if key == "BODY":
        return body
    headers = "\n".join(f"{k}: {v}" for k, values in parsed.headers.items() for v in values)
    return headers + "\n" + body


def matches(criteria: Sequence[str], uid: int, flags: Sequence[str], raw: bytes, last: int) -> bool:
    """Whether one message meets every key (IMAP SEARCH's implicit AND) of the supported subset:
    ALL, UID set, the flag keys (SEEN, UNSEEN, FLAGGED...), KEYWORD/UNKEYWORD, and SUBJECT/FROM/TO/
    TEXT/BODY substrings (case-insensitive). Anything else raises :class:`UnsupportedSearch`."""
    keys = list(criteria)
    i = 0
    while i < len(keys):
        key = keys[i].upper()
        value = keys[i + 1] if i + 1 < len(keys) else None
        i += 1
        if key == "ALL":
            continue
        if key in _FLAG_KEYS:
            flag, wanted = _FLAG_KEYS[key]
            if (flag in flags) != wanted:
                return False
            continue
        if value is None:
            raise UnsupportedSearch(f"Search key {key} needs a value")
        i += 1
        if key == "UID":
            if uid not in _uid_set(value, last):
                return False
        elif key in ("KEYWORD", "UNKEYWORD"):
            if (value in flags) != (key == "KEYWORD"):
                return False
        elif key in _TEXT_KEYS:
            if _unquote(value).casefold() not in _text_of(key, raw).casefold():
                return False
        else:
            raise UnsupportedSearch(f"The in-memory server cannot search by {key}")
    return True
