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

from __future__ import annotations

import codecs
import contextlib
import functools
import gc
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import NamedTuple, ParamSpec, TypeAlias, TypeVar
from urllib.parse import unquote_to_bytes

from app.mail import mime, utf7
from app.mail.types import Address, BodyPart, Envelope, FetchedMessage

__all__ = [
    "SPECIAL_USE",
    "CopyUid",
    "ESearchResult",
    "ImapParseError",
    "ListEntry",
    "SectionKey",
    "SelectInfo",
    "Value",
    "compact_uid_set",
    "decode_words",
    "expand_uid_set",
    "filename_of",
    "iter_responses",
    "parse_appenduid",
    "parse_copyuid",
    "parse_esearch",
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
    "tokenize",
]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

Line: TypeAlias = bytes | bytearray | str
"""One item of ``Response.lines``."""


class ImapParseError(ValueError):
    """The server response could not be parsed (the only exception this module raises)."""


class _Malformed(Exception):
    """Internal: one FETCH item or structure is not what RFC 3501 says."""


class SectionKey(NamedTuple):
    """A ``BODY[...]``/``BODY.PEEK[...]``/``BINARY[...]`` FETCH key, with the optional ``<origin>``."""

    kind: str  # upper case: "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE", ...
    section: str  # text between the brackets, as sent: "", "1.2", "HEADER.FIELDS (REFERENCES)"
    origin: int | None = None


Value: TypeAlias = "str | int | bytes | SectionKey | list[Value] | None"
"""A token: atom (str), number (int), quoted string (str), literal (bytes), NIL (None), list, section key."""


def _guard(fn: Callable[P, R]) -> Callable[P, R]:
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


# --------------------------------------------------------------------------------------- decoding

_FALLBACK = "mailgate-imapparse-cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: bytes that are not UTF-8 are read as cp1252 (latin-1 where undefined)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end]
    try:
        return chunk.decode("cp1252"), exc.end
    except UnicodeDecodeError:
        return chunk.decode("latin-1"), exc.end


codecs.register_error(_FALLBACK, _cp1252_fallback)


def _decode_bytes(data: bytes | bytearray) -> str:
    """UTF-8, with stray 8-bit bytes read as cp1252 instead of failing."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", _FALLBACK)


def _decode_charset(data: bytes, charset: str | None) -> str:
    if charset:
        charset = charset.split("*", 1)[0].strip()  # RFC 2231 language suffix: utf-8*en
    return mime.decode_text(data, charset or None)


# Display names repeat across From/Sender/Reply-To and across messages: decode each once.
_decode_words_cached = functools.lru_cache(maxsize=4096)(mime.decode_words)


@_guard
def decode_words(text: str) -> str:
    """RFC 2047 encoded words, decoded by :func:`app.mail.mime.decode_words`. Never raises."""
    if "=?" not in text:
        return text
    if len(text) <= 2000:
        return _decode_words_cached(text)
    return mime.decode_words(text)


# --------------------------------------------------------------------------------------- tokenizer

_TOKEN_RE = re.compile(
    r"""[ \t\r\n]*(?:
      (\()                                                     # 1 open list
    | (\))                                                     # 2 close list
    | "((?:[^"\\]|\\.)*)"                                      # 3 quoted string
    | ([Nn][Ii][Ll])(?=[\s()\]]|$)                             # 4 NIL
    | (0|[1-9][0-9]*)(?=[\s()\]]|$)                            # 5 number (no leading zero)
    | \{([0-9]+)\+?\}$                                         # 6 literal marker ({N} or {N+})
    | ([A-Za-z0-9.\-]+)\[((?:[^\]"]|"(?:[^"\\]|\\.)*")*)\]     # 7, 8 section key: BODY[...]
      (?:<([0-9]+)>)?                                          # 9 <origin>
    | ([^\s()"]+)                                              # 10 atom
    | (\S)                                                     # 11 anything else (a stray quote)
    )""",
    re.VERBOSE,
)
_UNESCAPE_RE = re.compile(r"\\(.)")


def _decode_line(item: bytes) -> str:
    try:
        return item.decode("utf-8")
    except UnicodeDecodeError:
        return item.decode("utf-8", _FALLBACK)


def _literal_marker_start(text: str) -> int:
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
            text = _decode_line(item)
        elif isinstance(item, str):
            text = item
        elif isinstance(item, bytes | bytearray | memoryview):
            text = _decode_line(bytes(item))
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
        if _literal_marker_start(text) >= 0:
            pending = True
        else:
            yield texts, lits
            is_open = False
    if is_open:
        yield texts, lits


def _slow_tokens(texts: list[str], lits: list[bytes]) -> list[Value]:
    """The regex tokenizer: handles anything, about half as fast as :func:`_fast_tokens`."""
    finditer = _TOKEN_RE.finditer
    top: list[Value] = []
    cur = top
    stack: list[list[Value]] = []
    for index, text in enumerate(texts):
        for m in finditer(text):
            k = m.lastindex
            if k == 10:
                cur.append(m.group(10))
            elif k == 4:
                cur.append(None)
            elif k == 3:
                s = m.group(3)
                if "\\" in s:
                    s = _UNESCAPE_RE.sub(r"\1", s)
                cur.append(s)
            elif k == 5:
                cur.append(int(m.group(5)))
            elif k == 1:
                new: list[Value] = []
                cur.append(new)
                stack.append(cur)
                cur = new
            elif k == 2:
                if stack:
                    cur = stack.pop()
            elif k == 8 or k == 9:
                origin = m.group(9)
                cur.append(SectionKey(m.group(7).upper(), m.group(8), int(origin) if origin else None))
            elif k == 11:
                cur.append(m.group(11))
            # k == 6: the literal marker; the literal itself is appended below
        if index < len(lits):
            cur.append(lits[index])
    return top


# The fast path rewrites one response into JSON with C-level string operations only and lets the
# json module build the lists (Python 3.11's re.sub expands group references in Python, so every
# substitution below uses a constant replacement). Outside quoted strings the text holds atoms,
# numbers, NIL, parentheses and single spaces; placeholders mark the rest:
#   \x01 literal  \x02 quoted string  \x03 section key.
# Anything unusual (escaped quotes, control characters, brackets left after the section keys,
# doubled spaces, ...) makes it return None, or json raise, and the regex tokenizer takes over.
_SECTION_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-")
# Every token is "quoted" at this point and a quote that ends a token is followed by , ] } or the end,
# never by a digit; so '"' + digits + '"' is always a whole token. On the reversed text its first
# quote is the token's closing quote; once that is gone, the opening quote is followed by the digits
# and then , ] } or the end. No leading zeros (JSON would refuse them; IMAP reads "007" as an atom).
_R_NUMBER_CLOSE_QUOTE_RE = re.compile(r'"(?=(?:0|[0-9]*[1-9])")')
_NUMBER_OPEN_QUOTE_RE = re.compile(r'"(?=(?:0|[1-9][0-9]*)(?:[,\]}]|$))')
_json_loads = json.JSONDecoder(strict=False).decode


def _cut_sections(o: str) -> tuple[str, list[SectionKey]] | None:
    """Replace each ``NAME[text]<origin>`` in ``o`` by \x03; None if one looks unusual."""
    pieces: list[str] = []
    sections: list[SectionKey] = []
    pos = 0
    while True:
        bracket = o.find("[", pos)
        if bracket < 0:
            break
        close = o.find("]", bracket)
        start = bracket
        while start > pos and o[start - 1] in _SECTION_NAME_CHARS:
            start -= 1
        if close < 0 or start == bracket or (start > 0 and o[start - 1] not in " ("):
            return None
        text = o[bracket + 1 : close]
        if "[" in text or "\x01" in text or "\x02" in text:
            return None
        end = close + 1
        origin: int | None = None
        if o.startswith("<", end):
            angle = o.find(">", end)
            digits = o[end + 1 : angle]
            if angle < 0 or not (digits.isdigit() and digits.isascii()):
                return None
            origin = int(digits)
            end = angle + 1
        pieces.append(o[pos:start])
        pieces.append("\x03")
        sections.append(SectionKey(o[start:bracket].upper(), text, origin))
        pos = end
    pieces.append(o[pos:])
    return "".join(pieces), sections


def _fast_tokens(texts: list[str], lits: list[bytes]) -> list[Value] | None:
    n_lits = len(lits)
    if n_lits:
        pieces: list[str] = []
        for index, text in enumerate(texts):
            if not text.isprintable():  # control characters (and a few rare Unicode ones)
                return None
            if index < n_lits:
                marker = _literal_marker_start(text)
                if marker < 0:
                    return None
                text = text[:marker]
                if text.count('"') & 1:
                    return None  # a line cannot end inside a quoted string
            pieces.append(text)
        if len(texts) == n_lits:
            pieces.append("")
        full = "\x01".join(pieces)
    else:
        full = texts[0]
        if not full.isprintable():
            return None
    if '\\"' in full:
        return None
    parts = full.split('"')
    if not len(parts) & 1:
        return None  # an unterminated quoted string
    o = "\x02".join(parts[0::2]) if len(parts) > 1 else full
    if "\\" in full and len(parts) > 1:
        quoted = "\x02".join(parts[1::2])
        if "\\" in quoted and "\\" in quoted.replace("\\\\", ""):
            return None  # an escape JSON reads differently from IMAP
    sections: list[SectionKey] | None = None
    if "[" in o:
        found = _cut_sections(o)
        if found is None:
            return None
        o, sections = found
    if "[" in o or "]" in o or "{" in o or "}" in o:
        return None
    if "nil" in o.lower() and o.lower().count("nil") != o.count("NIL"):
        return None  # NIL written in another case (or an atom containing "nil")
    if "\\" in o:
        o = o.replace("\\", "\\\\")
    if ")(" in o:
        o = o.replace(")(", ") (")
    s = '"' + o.replace("(", '"["').replace(")", '"]"').replace(" ", '","').replace("\x02", '"\x02"') + '"'
    if n_lits:
        s = s.replace("\x01", '"{"L":0}"')
    if sections:
        s = s.replace("\x03", '"{"S":0}"')
    s = s.replace('""', "")
    # unquote numbers: first their closing quote (on the reversed text), then the opening one
    s = _NUMBER_OPEN_QUOTE_RE.sub("", _R_NUMBER_CLOSE_QUOTE_RE.sub("", s[::-1])[::-1])
    s = s.replace('"NIL"', "null")
    if len(parts) > 1:
        segments = s.split("\x02")
        if len(segments) != len(parts) // 2 + 1:
            return None
        parts[0::2] = segments
        s = '"'.join(parts)
    if n_lits or sections:
        literal_iter = iter(lits)
        section_iter = iter(sections or ())

        def hook(obj: dict[str, object]) -> Value:
            return next(literal_iter) if "L" in obj else next(section_iter)

        tokens = json.loads("[" + s + "]", strict=False, object_hook=hook)
    else:
        tokens = _json_loads("[" + s + "]")
    return tokens if type(tokens) is list else None


_GC_PAUSE_MIN_ITEMS = 500


@contextlib.contextmanager
def _gc_paused(lines: object) -> Iterator[None]:
    """Pause the cyclic GC while a large response is turned into objects.

    Building ~10^5 lists and dataclasses triggers repeated full collections that only find live
    data (up to a quarter of the run time for 5000 messages). Nothing here creates cycles, and the
    previous state is restored at once.
    """
    pause = isinstance(lines, Sized) and len(lines) >= _GC_PAUSE_MIN_ITEMS and gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


def _tokens(texts: list[str], lits: list[bytes]) -> list[Value]:
    try:
        fast = _fast_tokens(texts, lits)
    except Exception:  # json.JSONDecodeError, or StopIteration from a placeholder without data
        fast = None
    return fast if fast is not None else _slow_tokens(texts, lits)


def iter_responses(lines: Iterable[Line]) -> Iterator[tuple[list[Value], str]]:
    """Read aioimaplib's items into responses: yields ``(tokens, first_line_text)`` per response.

    ``tokens`` are the top-level values of one response (``[3, 'FETCH', [...]]``); the text is the
    response's first line with any ``* `` prefix removed (for response codes). Literals are joined
    with the line before them and the continuation line after them. Unbalanced parentheses are
    closed at the end of the response; stray ``)`` are ignored. Never raises.
    """
    for texts, lits in _group(lines):
        yield _tokens(texts, lits), texts[0]


@_guard
def tokenize(lines: Iterable[Line]) -> list[list[Value]]:
    """All responses in ``lines`` as lists of top-level values (see :func:`iter_responses`)."""
    return [tokens for tokens, _ in iter_responses(lines)]


def _tokens_of(text: str) -> list[Value]:
    for tokens, _ in iter_responses([text]):
        return tokens
    return []


# ------------------------------------------------------------------------------------ value helpers


def _str(v: Value) -> str | None:
    """nstring → str (literals decoded as UTF-8 with a cp1252 fallback)."""
    if v is None or type(v) is str:
        return v
    if isinstance(v, bytes):
        return _decode_bytes(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, SectionKey):
        raise _Malformed(f"section key where a string was expected: {v!r}")
    raise _Malformed(f"list where a string was expected: {v!r}")


def _nstr(v: Value) -> str | None:
    """Like :func:`_str`, but a list or section key where a string belongs reads as NIL."""
    return None if isinstance(v, list | SectionKey) else _str(v)


def _lower(v: Value) -> str | None:
    s = _str(v)
    return s.lower() if s is not None else None


def _int(v: Value) -> int:
    if type(v) is int:
        return v
    if isinstance(v, str | bytes) and v.isdigit() and v.isascii():
        return int(v)
    raise _Malformed(f"number expected, got {v!r}")


def _opt_int(v: Value) -> int | None:
    if v is None:
        return None
    try:
        return _int(v)
    except _Malformed:
        return None


def _first(v: Value) -> Value:
    """``(x)`` → x (MODSEQ (5), EMAILID (M1)); a bare value is accepted too."""
    if type(v) is list:
        return v[0] if v else None
    return v


def _flags(v: Value) -> list[str]:
    if type(v) is not list:
        return []
    out: list[str] = []
    for f in v:
        s = _str(f) if not isinstance(f, list | SectionKey) else None
        if s is None:
            continue
        if s.startswith("\\\\"):  # aioimaplib removed "* " from "\* \Seen"
            out.append("\\*")
            s = s[1:]
        out.append(s)
    return out


# -------------------------------------------------------------------------------------------- dates

_MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
    "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}  # fmt: skip
_INTERNALDATE_RE = re.compile(
    r"\s*([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{1,2}):([0-9]{2}):([0-9]{2}) *([+-])([0-9]{2})([0-9]{2})"
)
_TZ_CACHE: dict[int, timezone] = {}


def _tz(minutes: int) -> timezone:
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
        if len(_TZ_CACHE) < 512:
            _TZ_CACHE[minutes] = tz
    return tz


@_guard
def parse_internal_date(text: str | bytes | None) -> datetime | None:
    """``"17-Jul-1996 02:44:25 -0700"`` → aware datetime; None when it does not parse."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = _decode_bytes(text)
    m = _INTERNALDATE_RE.match(text)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, tzh, tzm = m.groups()
    month = _MONTHS.get(mon.upper())
    if month is None:
        return None
    offset = int(tzh) * 60 + int(tzm)
    tz = _tz(-offset if sign == "-" else offset)
    try:
        return datetime(int(year), month, int(day), int(hh), int(mm), int(ss), tzinfo=tz)
    except ValueError:
        return None


_header_date = mime.parse_date


# ----------------------------------------------------------------------------------------- envelope


def _addresses(v: Value) -> list[Address]:
    if type(v) is not list:
        return []
    out: list[Address] = []
    for a in v:
        if type(a) is not list or len(a) < 4:
            continue
        name, mailbox, host = a[0], a[2], a[3]
        if type(host) is not str:
            host = _nstr(host)
            if host is None:  # group syntax start/end marker
                continue
        if mailbox is not None and type(mailbox) is not str:
            mailbox = _nstr(mailbox)
        if name is not None:
            if type(name) is not str:
                name = _nstr(name)
            if name is not None and "=?" in name:
                name = decode_words(name)
        if mailbox and host:
            address: str | None = f"{mailbox}@{host}"
        else:
            address = mailbox or host or None
        out.append(Address(name, address))
    return out


def _envelope(v: Value) -> Envelope:
    """RFC 3501 envelope; a field of the wrong shape reads as NIL."""
    if type(v) is not list or len(v) < 10:
        raise _Malformed(f"ENVELOPE needs 10 fields: {v!r}")
    subject = _nstr(v[1])
    if subject is not None and "=?" in subject:
        subject = decode_words(subject)
    return Envelope(
        date=_header_date(_nstr(v[0])),
        subject=subject,
        from_=_addresses(v[2]),
        sender=_addresses(v[3]),
        reply_to=_addresses(v[4]),
        to=_addresses(v[5]),
        cc=_addresses(v[6]),
        bcc=_addresses(v[7]),
        in_reply_to=_nstr(v[8]),
        message_id=_nstr(v[9]),
    )


# ------------------------------------------------------------------------------------ bodystructure

_PARAM_SECTION_RE = re.compile(r"^(.+?)\*([0-9]+)?(\*)?$")
_RFC2231_VALUE_RE = re.compile(r"^([A-Za-z0-9!#$&+\-^_`{}~.]+)'[A-Za-z0-9\-]*'(.*%[0-9A-Fa-f]{2}.*)$")
_MAX_BODY_DEPTH = 64


def _params(v: Value) -> dict[str, str]:
    """Body parameters: lower-case keys, RFC 2231 sections joined and decoded, RFC 2047 decoded."""
    if type(v) is not list:
        return {}
    out: dict[str, str] = {}
    for i in range(0, len(v) - 1, 2):
        key = v[i]
        value = v[i + 1]
        if type(key) is not str or type(value) is not str:
            return _params_slow(v)
        if "*" in key or "=?" in value or "%" in value:
            return _params_slow(v)
        out[key.lower()] = value
    return out


def _params_slow(v: list[Value]) -> dict[str, str]:
    out: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] | None = None
    for i in range(0, len(v) - 1, 2):
        raw_key, raw_value = v[i], v[i + 1]
        if isinstance(raw_key, list | SectionKey) or isinstance(raw_value, list | SectionKey):
            continue
        key = _str(raw_key)
        if not key:
            continue
        key = key.lower()
        value = _str(raw_value) or ""
        if "*" in key:
            m = _PARAM_SECTION_RE.match(key)
            if m is not None:
                if extended is None:
                    extended = {}
                sections = extended.setdefault(m.group(1), [])
                if m.group(2) is None:  # name*=charset'lang'value
                    sections.append((0, True, value))
                else:  # name*0*=charset'lang'value name*1*=more name*2=plain
                    sections.append((int(m.group(2)), m.group(3) is not None, value))
                continue
        out[key] = value
    if extended:
        for name, sections in extended.items():
            out[name] = mime.rfc2231_join(sections)
    for key, value in out.items():
        if "=?" in value:
            out[key] = decode_words(value)
        elif "%" in value and (key == "filename" or key == "name"):
            # some servers join RFC 2231 continuations but leave the value encoded under the plain name
            m = _RFC2231_VALUE_RE.match(value)
            if m is not None:
                try:
                    codecs.lookup(m.group(1))
                except LookupError:
                    continue
                out[key] = _decode_charset(unquote_to_bytes(m.group(2)), m.group(1))
    return out


def _disposition(part: BodyPart, d: Value) -> None:
    if type(d) is list:
        if d:
            part.disposition = _lower(d[0])
            if len(d) > 1:
                part.disposition_params = _params(d[1])
    elif isinstance(d, str | bytes):
        part.disposition = _lower(d)


def _body(v: Value, path: str, root: bool, depth: int) -> BodyPart:
    """One BODYSTRUCTURE node. ``path`` is the section number of this node (for a message root: the
    number of the enclosing message/rfc822 part, "" at the top)."""
    if type(v) is not list or not v:
        raise _Malformed(f"body structure expected: {v!r}")
    if depth > _MAX_BODY_DEPTH:
        raise _Malformed("body structure nested too deeply")
    size = len(v)
    if type(v[0]) is list:  # multipart: (part)(part)... subtype [params [disposition [lang [loc]]]]
        n = 1
        while n < size and type(v[n]) is list:
            n += 1
        subtype = (_lower(v[n]) if n < size else None) or "mixed"
        node = BodyPart("multipart", subtype, path)
        prefix = path + "." if path else ""
        node.parts = [_body(child, f"{prefix}{i}", False, depth + 1) for i, child in enumerate(v[:n], 1)]
        if size > n + 1:
            node.params = _params(v[n + 1])
            if size > n + 2:
                _disposition(node, v[n + 2])
        return node
    if size < 7:
        raise _Malformed(f"body part needs 7 fields: {v!r}")
    number = (f"{path}.1" if path else "1") if root else path
    t, st, enc = v[0], v[1], v[5]
    type_ = (t.lower() if type(t) is str else _lower(t)) or "application"
    subtype = (st.lower() if type(st) is str else _lower(st)) or "octet-stream"
    node = BodyPart(type_, subtype, number)
    if v[2] is not None:
        node.params = _params(v[2])
    if v[3] is not None:
        node.id = _nstr(v[3])
    if v[4] is not None:
        description = _nstr(v[4])
        node.description = decode_words(description) if description else description
    if enc is not None:
        node.encoding = enc.lower() if type(enc) is str else _lower(enc)
    octets = v[6]
    node.size = octets if type(octets) is int else _opt_int(octets)
    ext = 7
    if type_ == "text":
        if size > 7:
            node.lines = _opt_int(v[7])
        ext = 8
    elif type_ == "message" and size > 8 and type(v[7]) is list and type(v[8]) is list:
        node.message = _body(v[8], number, True, depth + 1)
        if size > 9:
            node.lines = _opt_int(v[9])
        ext = 10
    # extension data: md5, disposition, language, location
    if size > ext + 1 and v[ext + 1] is not None:
        _disposition(node, v[ext + 1])
    return node


@_guard
def filename_of(part: BodyPart) -> str | None:
    """The attachment file name: disposition ``filename``, else the Content-Type ``name``."""
    return part.disposition_params.get("filename") or part.params.get("name") or None


# -------------------------------------------------------------------------------------------- FETCH


def _set_uid(msg: FetchedMessage, v: Value) -> None:
    msg.uid = _int(v)


def _set_flags(msg: FetchedMessage, v: Value) -> None:
    if type(v) is not list:
        raise _Malformed(f"FLAGS expects a list: {v!r}")
    msg.flags = _flags(v)


def _set_modseq(msg: FetchedMessage, v: Value) -> None:
    msg.modseq = _int(_first(v))


def _set_internal_date(msg: FetchedMessage, v: Value) -> None:
    msg.internal_date = parse_internal_date(_str(v))


def _set_size(msg: FetchedMessage, v: Value) -> None:
    msg.size = _int(v)


def _set_envelope(msg: FetchedMessage, v: Value) -> None:
    msg.envelope = _envelope(v)


def _set_body(msg: FetchedMessage, v: Value) -> None:
    msg.body = _body(v, "", True, 0)


def _set_email_id(msg: FetchedMessage, v: Value) -> None:
    msg.email_id = _str(_first(v))


def _set_thread_id(msg: FetchedMessage, v: Value) -> None:
    msg.thread_id = _str(_first(v))


def _set_preview(msg: FetchedMessage, v: Value) -> None:
    if type(v) is list:  # pre-RFC 8970 drafts: SNIPPET (FUZZY "text"), PREVIEW (FUZZY "text")
        texts = [x for x in v if isinstance(x, bytes) or (type(x) is str and x.upper() != "FUZZY")]
        v = texts[-1] if texts else None
    msg.preview = _str(v)


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
        raise _Malformed(f"section data expected: {v!r}")


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


def _fetch(tokens: list[Value]) -> FetchedMessage | None:
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


@_guard
def parse_fetch(lines: Iterable[Line]) -> list[FetchedMessage]:
    """Every untagged ``N FETCH (...)`` in ``lines``; other responses are ignored."""
    out: list[FetchedMessage] = []
    with _gc_paused(lines):
        for tokens, _ in iter_responses(lines):
            if tokens and type(tokens[0]) is int:
                msg = _fetch(tokens)
                if msg is not None:
                    out.append(msg)
    return out


# --------------------------------------------------------------------------------- response codes

_RESP_CODE_RE = re.compile(
    r"""^\s*(?:\*\s+)?(?:[A-Za-z0-9.+_\-]+\s+)??(?:(?:OK|NO|BAD|BYE|PREAUTH)\s+)?
    \[([A-Za-z0-9.\-]+)(?:\s+((?:[^\]"]|"(?:[^"\\]|\\.)*")*))?\]""",
    re.IGNORECASE | re.VERBOSE,
)


@_guard
def parse_response_code(text: str | bytes | bytearray) -> tuple[str, str] | None:
    """``OK [COPYUID 1 7:9 1:3] Moved`` → ``("COPYUID", "1 7:9 1:3")``; ``[READ-ONLY] x`` →
    ``("READ-ONLY", "")``. The code name is upper-cased. Accepts an untagged line (with or without
    ``* ``), a tagged line, or aioimaplib's tagged text. None when the line has no response code."""
    if not isinstance(text, str):
        text = _decode_bytes(text)
    m = _RESP_CODE_RE.match(text)
    if m is None:
        return None
    return m.group(1).upper(), (m.group(2) or "").strip()


def _codes(lines: Iterable[Line] | Line) -> Iterator[tuple[str, str]]:
    items: Iterable[Line] = [lines] if isinstance(lines, bytes | bytearray | str) else lines
    for item in items:
        if type(item) is bytearray:  # literal data, not a response line
            continue
        if isinstance(item, bytes | bytearray | str):
            code = parse_response_code(item)
            if code is not None:
                yield code


def _expand_ordered(text: str, limit: int = 10_000_000) -> list[int]:
    """Sequence set in the order sent, each range ascending (COPYUID pairs source and destination)."""
    out: list[int] = []
    for piece in text.split(","):
        lo_s, sep, hi_s = piece.partition(":")
        lo = _set_number(lo_s)
        hi = _set_number(hi_s) if sep else lo
        if lo > hi:
            lo, hi = hi, lo
        if len(out) + hi - lo + 1 > limit:
            raise ImapParseError(f"sequence set {text[:60]!r} is larger than {limit}")
        out.extend(range(lo, hi + 1))
    return out


class CopyUid(NamedTuple):
    """RFC 4315 ``[COPYUID validity source dest]`` with both sets expanded (pairs by position)."""

    uid_validity: int
    source: list[int]
    destination: list[int]


@_guard
def parse_copyuid(lines: Iterable[Line] | Line) -> CopyUid | None:
    """``[COPYUID 1795257324 7:9 1:3]`` from any line of a response (UID COPY puts it in the tagged
    text, UID MOVE in an untagged OK)."""
    for code, args in _codes(lines):
        if code == "COPYUID":
            parts = args.split()
            if len(parts) != 3 or not parts[0].isdigit():
                raise ImapParseError(f"malformed COPYUID: {args!r}")
            return CopyUid(int(parts[0]), _expand_ordered(parts[1]), _expand_ordered(parts[2]))
    return None


@_guard
def parse_appenduid(lines: Iterable[Line] | Line) -> tuple[int, int] | None:
    """``[APPENDUID 1795 1000]`` → ``(1795, 1000)`` (MULTIAPPEND's uid set: the first UID)."""
    for code, args in _codes(lines):
        if code == "APPENDUID":
            parts = args.split()
            if len(parts) != 2 or not parts[0].isdigit():
                raise ImapParseError(f"malformed APPENDUID: {args!r}")
            return int(parts[0]), _expand_ordered(parts[1])[0]
    return None


# ---------------------------------------------------------------------------------- sequence sets


def _set_number(text: str) -> int:
    text = text.strip()
    if text.isdigit() and text.isascii():
        return int(text)
    if text == "*":
        raise ImapParseError("'*' in a sequence set cannot be expanded")
    raise ImapParseError(f"bad number in sequence set: {text!r}")


@_guard
def expand_uid_set(text: str | bytes | int, *, limit: int = 10_000_000) -> list[int]:
    """``"1:3,5,9:7"`` → ``[1, 2, 3, 5, 7, 8, 9]`` (sorted, no duplicates). Raises ImapParseError for
    ``*``, junk, or more than ``limit`` numbers (a hostile server could send ``1:4294967295``)."""
    if isinstance(text, int):
        return [text]
    if isinstance(text, bytes):
        text = _decode_bytes(text)
    text = text.strip()
    if not text:
        return []
    ranges: list[tuple[int, int]] = []
    total = 0
    for piece in text.split(","):
        lo_s, sep, hi_s = piece.partition(":")
        lo = _set_number(lo_s)
        hi = _set_number(hi_s) if sep else lo
        if lo > hi:
            lo, hi = hi, lo
        total += hi - lo + 1
        if total > limit:
            raise ImapParseError(f"sequence set {text[:60]!r} is larger than {limit}")
        ranges.append((lo, hi))
    if len(ranges) == 1:
        return list(range(ranges[0][0], ranges[0][1] + 1))
    ranges.sort()
    out: list[int] = []
    last = -1
    for lo, hi in ranges:
        if lo <= last:
            lo = last + 1
        if lo <= hi:
            out.extend(range(lo, hi + 1))
            last = hi
    return out


@_guard
def compact_uid_set(uids: Iterable[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"1:3,5"`` (sorted, duplicates dropped; ``""`` for no UIDs)."""
    try:
        ordered = sorted({int(u) for u in uids})
    except (TypeError, ValueError) as exc:
        raise ImapParseError(f"UIDs must be integers: {exc}") from exc
    if ordered and ordered[0] < 0:
        raise ImapParseError("UIDs must not be negative")
    parts: list[str] = []
    i = 0
    n = len(ordered)
    while i < n:
        start = ordered[i]
        j = i
        while j + 1 < n and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(start) if j == i else f"{start}:{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def _set_text(v: Value) -> str:
    if type(v) is int:
        return str(v)
    s = _str(v)
    if s is None:
        raise _Malformed("sequence set expected")
    return s


# --------------------------------------------------------------------------------------- VANISHED


def _vanished(tokens: list[Value]) -> list[int] | None:
    """``['VANISHED', ['EARLIER'], '1:3,5']`` → UIDs; None if not a VANISHED response."""
    if not tokens or type(tokens[0]) is not str or tokens[0].upper() != "VANISHED":
        return None
    rest = [t for t in tokens[1:] if type(t) is not list]
    if not rest:
        return []
    try:
        return expand_uid_set(_set_text(rest[0]))
    except (ImapParseError, _Malformed) as exc:
        log.debug("imapparse: bad VANISHED %r: %s", tokens, exc)
        return []


@_guard
def parse_vanished(lines: Iterable[Line]) -> list[int]:
    """UIDs of every ``VANISHED [(EARLIER)] set`` response in ``lines`` (sorted, unique)."""
    found: set[int] = set()
    for tokens, _ in iter_responses(lines):
        uids = _vanished(tokens)
        if uids:
            found.update(uids)
    return sorted(found)


# ------------------------------------------------------------------------------------------- LIST

SPECIAL_USE = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
_SPECIAL_USE_BY_LOWER = {flag.lower(): flag for flag in SPECIAL_USE}
# Gmail's XLIST names for the same thing
_SPECIAL_USE_BY_LOWER.update({"\\allmail": "\\All", "\\spam": "\\Junk", "\\starred": "\\Flagged"})


@dataclass(slots=True)
class ListEntry:
    """One LIST/LSUB/XLIST response."""

    path: str  # decoded from modified UTF-7
    name: str  # the mailbox name as sent (still UTF-7 encoded)
    delimiter: str | None
    flags: list[str] = field(default_factory=list)
    special_use: str | None = None  # one of SPECIAL_USE, or "\\Inbox" for INBOX
    subscribed: bool = False  # not parsed here: set by the caller from LSUB


def _list_entry(tokens: list[Value]) -> ListEntry | None:
    """``[LIST] (flags) delimiter name [extended data]``; aioimaplib strips the word LIST/LSUB."""
    if tokens and type(tokens[0]) is str and tokens[0].upper() in ("LIST", "LSUB", "XLIST"):
        tokens = tokens[1:]
    if len(tokens) < 3 or type(tokens[0]) is not list:
        return None
    flags = _flags(tokens[0])
    delimiter = _str(tokens[1]) if not isinstance(tokens[1], list | SectionKey) else None
    raw = tokens[2]
    if isinstance(raw, list | SectionKey) or raw is None:
        raise _Malformed(f"LIST without a mailbox name: {tokens!r}")
    name = _str(raw) or ""
    path = utf7.decode(name)
    special: str | None = None
    if path.upper() == "INBOX":
        special = "\\Inbox"
    else:
        for flag in flags:
            lowered = flag.lower()
            if lowered == "\\inbox":
                special = "\\Inbox"
                break
            found = _SPECIAL_USE_BY_LOWER.get(lowered)
            if found is not None:
                special = found
                break
    return ListEntry(path=path, name=name, delimiter=delimiter, flags=flags, special_use=special)


@_guard
def parse_list(lines: Iterable[Line]) -> list[ListEntry]:
    """Every LIST/LSUB/XLIST response; names may be quoted strings, atoms or literals."""
    out: list[ListEntry] = []
    for tokens, _ in iter_responses(lines):
        try:
            entry = _list_entry(tokens)
        except _Malformed as exc:
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
    name = _str(tokens[0])
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


@_guard
def parse_status(lines: Iterable[Line]) -> dict[str, int]:
    """``STATUS "name" (MESSAGES 3 UIDNEXT 9 ...)`` → ``{"MESSAGES": 3, "UIDNEXT": 9, ...}`` (the
    first STATUS response; ``{}`` when there is none)."""
    for tokens, _ in iter_responses(lines):
        found = _status(tokens)
        if found is not None:
            return found[1]
    return {}


@_guard
def parse_status_all(lines: Iterable[Line]) -> dict[str, dict[str, int]]:
    """Every STATUS response keyed by decoded mailbox path (LIST-STATUS returns many)."""
    out: dict[str, dict[str, int]] = {}
    for tokens, _ in iter_responses(lines):
        found = _status(tokens)
        if found is not None:
            out.setdefault(found[0], {}).update(found[1])
    return out


# ----------------------------------------------------------------------------------------- SELECT


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


def _code_int(args: str) -> int | None:
    args = args.strip()
    return int(args) if args.isdigit() and args.isascii() else None


@_guard
def parse_select(lines: Iterable[Line]) -> SelectInfo:
    """SELECT/EXAMINE response, including ``SELECT ... (QRESYNC ...)``'s VANISHED and FETCH lines."""
    info = SelectInfo()
    nomodseq = False
    vanished: set[int] = set()
    with _gc_paused(lines):
        responses = list(iter_responses(lines))
    for tokens, first in responses:
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
                msg = _fetch(tokens)
                if msg is not None:
                    info.fetched.append(msg)
            continue
        if type(head) is not str:
            continue
        upper = head.upper()
        if upper == "FLAGS" and len(tokens) > 1:
            info.flags = _flags(tokens[1])
            continue
        if upper == "VANISHED":
            vanished.update(_vanished(tokens) or ())
            continue
        code = parse_response_code(first)
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
            info.permanent_flags = _flags(_first(_tokens_of(args)) if args.startswith("(") else None)
        elif name == "READ-ONLY":
            info.read_only = True
        elif name == "READ-WRITE":
            info.read_only = False
        elif name == "MAILBOXID":
            with contextlib.suppress(_Malformed):
                info.mailbox_id = _str(_first(_first(_tokens_of(args))))
    if nomodseq:
        info.highest_modseq = None
    info.vanished = sorted(vanished)
    return info


# ----------------------------------------------------------------------------------------- SEARCH


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


def _esearch(tokens: list[Value]) -> ESearchResult | None:
    if not tokens:
        return None
    rest = tokens
    if type(rest[0]) is str and rest[0].upper() == "ESEARCH":
        rest = rest[1:]
    elif not (type(rest[0]) is list and rest[0] and type(rest[0][0]) is str and rest[0][0].upper() == "TAG"):
        return None  # not ESEARCH (aioimaplib may have stripped the word: then it starts with (TAG ..))
    result = ESearchResult()
    i = 0
    if rest and type(rest[0]) is list:
        corr = rest[0]
        if len(corr) >= 2 and type(corr[0]) is str and corr[0].upper() == "TAG":
            result.tag = _str(corr[1]) if not isinstance(corr[1], list | SectionKey) else None
        i = 1
    if i < len(rest) and type(rest[i]) is str and str(rest[i]).upper() == "UID":
        result.uid = True
        i += 1
    while i + 1 < len(rest):
        key, value = rest[i], rest[i + 1]
        i += 2
        if type(key) is not str:
            continue
        key = key.upper()
        try:
            if key == "ALL":
                result.all = expand_uid_set(_set_text(value))
            elif key == "MIN":
                result.min = _int(value)
            elif key == "MAX":
                result.max = _int(value)
            elif key == "COUNT":
                result.count = _int(value)
            elif key == "MODSEQ":
                result.modseq = _int(value)
        except (_Malformed, ImapParseError) as exc:
            log.debug("imapparse: ESEARCH %s: %s", key, exc)
    return result


@_guard
def parse_esearch(lines: Iterable[Line]) -> ESearchResult | None:
    """The first ESEARCH response in ``lines``, or None."""
    for tokens, _ in iter_responses(lines):
        found = _esearch(tokens)
        if found is not None:
            return found
    return None


@_guard
def parse_search(lines: Iterable[Line]) -> list[int]:
    """SEARCH results. aioimaplib strips the word ``SEARCH`` (``b'2 3 5'``, ``b''`` for none); a
    CONDSTORE ``(MODSEQ n)`` suffix is ignored. An ESEARCH response gives its ALL set expanded (or
    MIN/MAX when ALL was not asked for)."""
    numbers: list[int] = []
    for tokens, _ in iter_responses(lines):
        if not tokens:
            continue
        es = _esearch(tokens)
        if es is not None:
            if es.all:
                numbers.extend(es.all)
            else:
                numbers.extend(x for x in (es.min, es.max) if x is not None)
                if es.min is not None and es.max is not None and es.min == es.max:
                    numbers.pop()
            continue
        body = tokens
        if type(body[0]) is str and body[0].upper() == "SEARCH":
            body = body[1:]
        if body and type(body[-1]) is list:
            body = body[:-1]
        if body and all(type(t) is int for t in body):
            numbers.extend(t for t in body if type(t) is int)
    return numbers


# ------------------------------------------------------------------------------------------- IDLE

_LITERAL_AT_END_RE = re.compile(r"\{[0-9]+\+?\}\s*$")
PushKind: TypeAlias = tuple[str, "int | list[int] | FetchedMessage | None"]


@_guard
def parse_push(line: Line) -> PushKind:
    """One line pushed during IDLE: ``("EXISTS", n)``, ``("EXPUNGE", seq)``, ``("VANISHED", [uids])``,
    ``("FETCH", FetchedMessage)`` (single-line FETCH only), ``("BYE", None)``, else ``("OTHER", None)``."""
    if type(line) is bytearray:  # a literal cannot be a push on its own
        return "OTHER", None
    text = line if isinstance(line, str) else _decode_line(bytes(line))
    if _LITERAL_AT_END_RE.search(text):
        return "OTHER", None  # the rest of this FETCH is in the following items
    tokens = _tokens_of(text)
    if not tokens:
        return "OTHER", None
    head = tokens[0]
    if type(head) is int and len(tokens) >= 2 and type(tokens[1]) is str:
        word = tokens[1].upper()
        if word == "EXISTS":
            return "EXISTS", head
        if word == "EXPUNGE":
            return "EXPUNGE", head
        if word == "FETCH":
            msg = _fetch(tokens)
            return ("FETCH", msg) if msg is not None else ("OTHER", None)
        return "OTHER", None
    if type(head) is str:
        upper = head.upper()
        if upper == "BYE":
            return "BYE", None
        if upper == "VANISHED":
            return "VANISHED", _vanished(tokens) or []
    return "OTHER", None
