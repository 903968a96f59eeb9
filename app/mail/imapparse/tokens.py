"""aioimaplib's response items read into responses, and responses into values.

One pass of one regular expression over each line turns it into tokens; literals are spliced in
where their ``{N}`` markers stood. The value helpers read those tokens leniently, the way the
response parsers need them.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import ParamSpec, TypeAlias, TypeVar

from app.mail.encoding import decode_8bit
from app.mail.types import SectionKey

log = logging.getLogger("app.mail.imapparse")

P = ParamSpec("P")
R = TypeVar("R")

Line: TypeAlias = bytes | bytearray | str
"""One item of ``Response.lines``."""

Value: TypeAlias = "str | int | bytes | SectionKey | list[Value] | None"
"""A token: atom (str), number (int), quoted string (str), literal (bytes), NIL (None), list, section key."""


class ImapParseError(ValueError):
    """The server response could not be parsed (the only exception the parsers raise)."""


class Malformed(Exception):
    """One FETCH item or structure is not what RFC 3501 says (caught inside the parsers)."""


def guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn any unexpected exception of a public parser into ImapParseError."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ImapParseError:
            raise
        except Exception as exc:
            raise ImapParseError(f"{fn.__name__}: {type(exc).__name__}: {exc}") from exc

    return wrapper


# --------------------------------------------------------------------------------------- grouping


def literal_marker_start(text: str) -> int:
    """Index of a trailing ``{N}``/``{N+}`` literal marker in ``text``, or -1."""
    if not text.endswith("}"):
        return -1
    start = text.rfind("{")
    if start < 0:
        return -1
    inner = text[start + 1 : -1]
    if inner.endswith("+"):
        inner = inner[:-1]
    return start if inner.isdigit() and inner.isascii() else -1


def _group(lines: Iterable[Line]) -> Iterator[tuple[list[str], list[bytes]]]:
    """Split aioimaplib's items into responses: ``(line texts, literals)``, where literal i follows
    text i. The first text has any ``* `` prefix removed. A line continues the response after a
    literal when it starts with a space or ``)`` (aioimaplib drops an empty continuation line)."""
    texts: list[str] = []
    lits: list[bytes] = []
    is_open = False  # a response is being read
    pending = False  # the last line ended in {N}: the next item is its literal
    after_literal = False  # the last item was a literal: the next line may continue the response
    for item in lines:
        if pending or type(item) is bytearray:
            if isinstance(item, bytes | bytearray):
                data = bytes(item)
            elif isinstance(item, str):
                data = item.encode("utf-8")
            else:
                continue
            if not is_open:  # a literal with no line before it
                texts = [""]
                lits = []
                is_open = True
            while len(texts) <= len(lits):
                texts.append("")
            lits.append(data)
            pending = False
            after_literal = True
            continue
        if type(item) is bytes:
            text = decode_8bit(item)
        elif isinstance(item, str):
            text = item
        elif isinstance(item, bytes | memoryview):
            text = decode_8bit(bytes(item))
        else:
            log.debug("imapparse: skipping %r item", type(item).__name__)
            continue
        if is_open and after_literal and text[:1] in (" ", ")"):
            texts.append(text)
        else:
            if is_open:
                yield texts, lits
            if text[:2] == "* ":
                text = text[2:]
            texts = [text]
            lits = []
            is_open = True
        after_literal = False
        if literal_marker_start(text) >= 0:
            pending = True
        else:
            yield texts, lits
            is_open = False
    if is_open:
        yield texts, lits


# -------------------------------------------------------------------------------------- tokenizer

# Each match is one token. Group 1 holds a quoted string (with its quotes), a parenthesis, NIL or a
# number; group 2 an atom or a section key (BODY[...]<origin>), or a lone character that fits
# nowhere else (a stray quote). A literal marker at the end of a line matches neither group: its
# literal is appended after the line. NIL and numbers count as such only when a delimiter follows
# ("007" and "NILS" are atoms). Possessive quantifiers: a token never needs backtracking.
_TOKEN_RE = re.compile(
    r"""[ \t\r\n]*+(?:
      ( "[^"\\]*+(?:\\.[^"\\]*+)*+"
      | [()]
      | (?:[Nn][Ii][Ll]|0|[1-9][0-9]*+)(?=[\s()\]]|$) )
    | \{[0-9]+\+?\}$
    | ( [A-Za-z0-9.\-]++\[(?:[^\]"]|"(?:[^"\\]|\\.)*")*\](?:<[0-9]+>)?
      | [^\s()"]++
      | \S )
    )""",
    re.VERBOSE,
)
_SECTION_RE = re.compile(r"""([A-Za-z0-9.\-]+)\[((?:[^\]"]|"(?:[^"\\]|\\.)*")*)\](?:<([0-9]+)>)?""")
_UNESCAPE_RE = re.compile(r"\\(.)")


def _tokens(texts: list[str], lits: list[bytes]) -> list[Value]:
    """One response's values. Unbalanced parentheses are closed at the end, stray ``)`` ignored."""
    findall = _TOKEN_RE.findall
    top: list[Value] = []
    append = top.append  # of the innermost open list
    stack: list[Callable[[Value], None]] = []
    n_lits = len(lits)
    for index, text in enumerate(texts):
        for simple, atom in findall(text):
            if simple:
                c = simple[0]
                if c == '"':
                    append(_UNESCAPE_RE.sub(r"\1", simple[1:-1]) if "\\" in simple else simple[1:-1])
                elif c == "(":
                    new: list[Value] = []
                    append(new)
                    stack.append(append)
                    append = new.append
                elif c == ")":
                    if stack:
                        append = stack.pop()
                elif c == "N" or c == "n":
                    append(None)
                else:
                    append(int(simple))
            elif atom:
                if "[" in atom and (m := _SECTION_RE.fullmatch(atom)) is not None:
                    name, section, origin = m.groups()
                    append(SectionKey(name.upper(), section, int(origin) if origin else None))
                else:
                    append(atom)
        if index < n_lits:
            append(lits[index])
    return top


def iter_responses(lines: Iterable[Line], only: str | None = None) -> Iterator[tuple[list[Value], str]]:
    """Read aioimaplib's items into responses: yields ``(tokens, first_line_text)`` per response.

    ``tokens`` are the top-level values of one response (``[3, 'FETCH', [...]]``); the text is the
    response's first line with any ``* `` prefix removed (for response codes). Literals are joined
    with the line before them and the continuation line after them. Unbalanced parentheses are
    closed at the end of the response; stray ``)`` are ignored. Never raises. ``only``: just the
    responses whose first word it is, the others not even tokenized (a 1,000-message FETCH answer
    read for a VANISHED line costs a scan, not a parse).
    """
    word = only.upper() if only else None
    for texts, lits in _group(lines):
        if word is not None and texts[0].removeprefix("* ").split(" ", 1)[0].upper() != word:
            continue
        yield _tokens(texts, lits), texts[0]


def tokens_of(text: str) -> list[Value]:
    """The values of a single response line."""
    for tokens, _ in iter_responses([text]):
        return tokens
    return []


# ------------------------------------------------------------------------------------ value helpers


def string(v: Value) -> str | None:
    """nstring → str (literals decoded as UTF-8 with a cp1252 fallback)."""
    if v is None or type(v) is str:
        return v
    if isinstance(v, bytes):
        return decode_8bit(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, SectionKey):
        raise Malformed(f"section key where a string was expected: {v!r}")
    raise Malformed(f"list where a string was expected: {v!r}")


def nstring(v: Value) -> str | None:
    """Like :func:`string`, but a list or section key where a string belongs reads as NIL."""
    return None if isinstance(v, list | SectionKey) else string(v)


def lower(v: Value) -> str | None:
    s = string(v)
    return s.lower() if s is not None else None


def number(v: Value) -> int:
    if type(v) is int:
        return v
    if isinstance(v, str | bytes) and v.isdigit() and v.isascii():
        return int(v)
    raise Malformed(f"number expected, got {v!r}")


def opt_number(v: Value) -> int | None:
    if v is None:
        return None
    try:
        return number(v)
    except Malformed:
        return None


def first(v: Value) -> Value:
    """``(x)`` → x (MODSEQ (5), EMAILID (M1)); a bare value is accepted too."""
    if type(v) is list:
        return v[0] if v else None
    return v


def flag_list(v: Value) -> list[str]:
    if type(v) is not list:
        return []
    out: list[str] = []
    for f in v:
        s = string(f) if not isinstance(f, list | SectionKey) else None
        if s is None:
            continue
        if s.startswith("\\\\"):  # aioimaplib removed "* " from "\* \Seen"
            out.append("\\*")
            s = s[1:]
        out.append(s)
    return out
