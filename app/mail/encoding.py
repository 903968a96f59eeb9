"""Text encodings of mail, shared by the IMAP parser and the MIME code so both read a name, a
subject or a parameter the same way: charsets (with the fallbacks real mail needs), transfer
encodings, RFC 2047 encoded words, RFC 2231 parameters and the attachment file name rule.

Nothing here raises on malformed input: a bad byte or a bogus charset label degrades the text, it
never loses the message.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes

from app.mail.types import BodyPart

__all__ = [
    "decode_8bit",
    "decode_params",
    "decode_text",
    "decode_transfer",
    "decode_words",
    "filename_of",
    "fix_8bit",
    "rfc2231_join",
    "to_bytes",
]

# --------------------------------------------------------------------------- charsets

_CHARSET_ALIASES: dict[str, str | None] = {
    # None: says nothing useful, guess.
    **dict.fromkeys(("x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "none"), None),
    # declared ASCII with 8-bit content is nearly always UTF-8
    **dict.fromkeys(("us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us"), "utf-8"),
    **dict.fromkeys(("utf8", "unicode-1-1-utf-8", "x-utf-8", "utf-8-sig"), "utf-8"),
    **dict.fromkeys(("unicode-1-1-utf-7", "x-utf-7", "utf7"), "utf-7"),
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1"), "cp1252"),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e", "logical", "visual"), "iso-8859-8"),
    **dict.fromkeys(("iso-8859-6-i", "iso-8859-6-e"), "iso-8859-6"),
    **dict.fromkeys(("ks_c_5601-1987", "ks_c_5601", "ksc5601", "euc-kr", "windows-949", "ksc_5601"), "cp949"),
    **dict.fromkeys(("gb2312", "gbk", "gb_2312-80", "cp936", "euc-cn", "chinese", "gb2312-80"), "gb18030"),
    **dict.fromkeys(("big5", "cn-big5", "csbig5", "big5-hkscs"), "big5hkscs"),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "ms_kanji", "csshiftjis", "windows-31j"), "cp932"),
    "iso-2022-jp": "iso2022_jp_ext",  # a superset, covers half-width katakana
    **dict.fromkeys(("tis-620", "windows-874", "iso-8859-11"), "cp874"),
    **dict.fromkeys(("mac", "macintosh", "mac-roman", "macroman"), "mac-roman"),
}
_UNSAFE_CODECS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})


def _codec(charset: str | None) -> str | None:
    """Python codec for a MIME charset label, or None when unknown or meaningless."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").strip().lower()
    name = re.split(r"[\s;]", name, maxsplit=1)[0] if name else name
    for candidate in (name, name.removeprefix("x-"), name.removeprefix("cs")):
        if candidate in _CHARSET_ALIASES:
            return _CHARSET_ALIASES[candidate]
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        if info.name in _UNSAFE_CODECS or not getattr(info, "_is_text_encoding", True):
            return None
        return info.name
    return None


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes to text: the declared charset if it decodes, else UTF-8, else the declared one with
    replacement characters; with no usable label, UTF-8 if it looks like UTF-8 else Latin-1."""
    codec = _codec(charset)
    if codec == "cp1252":  # UTF-8 labelled Latin-1 is common; Latin-1 that is valid UTF-8 is not
        candidates = ["utf-8", "cp1252"]
    else:
        candidates = [codec, "utf-8"] if codec and codec != "utf-8" else ["utf-8"]
    for name in candidates:
        try:
            return data.decode(name).removeprefix("\ufeff")
        except Exception:
            continue
    if codec in (None, "utf-8", "cp1252"):
        if codec != "cp1252" and _looks_utf8(data, declared=codec == "utf-8"):
            return data.decode("utf-8", "replace").removeprefix("\ufeff")
        return data.decode("latin-1")
    try:
        return data.decode(codec, "replace")
    except Exception:
        return data.decode("latin-1")


def _looks_utf8(data: bytes, declared: bool) -> bool:
    """Damaged UTF-8 rather than another charset: some valid multi-byte sequences, and when
    UTF-8 was not declared, at least as many as invalid bytes."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return good > 0 and (declared or good >= bad)


def decode_8bit(data: bytes | bytearray) -> str:
    """UTF-8 where no charset is known (IMAP strings, RFC 6855), reading each stray 8-bit
    sequence as cp1252 (Latin-1 where cp1252 leaves the byte undefined): a server that passes a
    legacy header through unconverted still gives readable text, and valid UTF-8 is untouched."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    view = memoryview(data)
    out: list[str] = []
    pos = 0
    while True:
        try:
            out.append(codecs.utf_8_decode(view[pos:], "strict", True)[0])
            return "".join(out)
        except UnicodeDecodeError as exc:
            out.append(codecs.utf_8_decode(view[pos : pos + exc.start], "strict", True)[0])
            chunk = bytes(view[pos + exc.start : pos + exc.end])
            try:
                out.append(chunk.decode("cp1252"))
            except UnicodeDecodeError:
                out.append(chunk.decode("latin-1"))
            pos += exc.end


def to_bytes(text: str) -> bytes:
    """Undo the email parser's ASCII+surrogateescape decoding of a source."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def fix_8bit(value: str) -> str:
    """Raw 8-bit header bytes (surrogates from the email parser) decoded as UTF-8, else Latin-1."""
    if value.isascii() or not re.search("[\udc80-\udcff]", value):
        return value
    return decode_text(to_bytes(value), None)


# --------------------------------------------------------------------------- transfer encodings


def decode_transfer(data: bytes, encoding: str | None) -> bytes:
    """Undo a Content-Transfer-Encoding; broken input decodes as far as it can."""
    enc = (encoding or "").strip().lower()
    try:
        if enc == "base64":
            return _b64decode(data)
        if enc == "quoted-printable":
            return binascii.a2b_qp(data)
        if enc in ("x-uuencode", "uuencode", "x-uue", "uue"):
            return _uudecode(data)
    except (binascii.Error, ValueError):
        return data
    return data  # 7bit, 8bit, binary and anything unknown


def _b64decode(data: bytes) -> bytes:
    # Drop everything outside the alphabet (line breaks, stray text), then decode each padded
    # run separately: some encoders concatenate separately padded chunks.
    cleaned = re.sub(rb"[^A-Za-z0-9+/=]", b"", data)
    out = bytearray()
    for chunk in re.split(rb"=+", cleaned):
        if len(chunk) % 4 == 1:  # one dangling character cannot encode anything
            chunk = chunk[:-1]
        if chunk:
            out.extend(binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4)))
    return bytes(out)


def _uudecode(data: bytes) -> bytes:
    lines = data.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(b"begin ")), -1)
    out = bytearray()
    for line in lines[start + 1 :]:
        if line.strip() == b"end":
            break
        if not line.strip():
            continue
        try:
            out.extend(binascii.a2b_uu(line))
        except binascii.Error:  # some encoders pad lines with garbage: trim to the stated length
            length = (((line[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.extend(binascii.a2b_uu(line[:length]))
            except binascii.Error:
                continue
    return bytes(out)


# --------------------------------------------------------------------------- RFC 2047

_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?]*)?\?([bBqQ])\?([^?]*)\?=")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words anywhere in a string, tolerating what real mailers send: words
    inside quotes or glued to text, unknown charsets, bad base64, and multi-byte characters
    split across adjacent words (their bytes are joined before decoding).

    Display names and subjects repeat across a mailbox, so short values are decoded once."""
    if "=?" not in value:
        return value
    if len(value) <= 2000:
        return _decode_words_cached(value)
    return _decode_words(value)


def _decode_words(value: str) -> str:
    out: list[str] = []
    pending: list[tuple[str, bytearray]] = []

    def flush() -> None:
        out.extend(decode_text(bytes(data), charset) for charset, data in pending)
        pending.clear()

    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        if gap and (not pending or gap.strip()):
            flush()
            out.append(gap)
        charset, kind, text = match.group(1).lower(), match.group(2).lower(), match.group(3)
        raw = to_bytes(text)
        data = binascii.a2b_qp(raw, header=True) if kind == "q" else decode_transfer(raw, "base64")
        if pending and pending[-1][0] == charset:
            pending[-1][1].extend(data)
        else:
            pending.append((charset, bytearray(data)))
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


_decode_words_cached = functools.lru_cache(maxsize=4096)(_decode_words)


# --------------------------------------------------------------------------- RFC 2231

_SECTION_NAME = re.compile(r"(.+?)\*(?:([0-9]{1,4})(\*)?)?")
# a value some servers leave RFC 2231-encoded under the plain name after joining the sections
_ENCODED_VALUE = re.compile(r"([A-Za-z0-9!#$&+\-^_`{}~.]+)'[A-Za-z0-9\-]*'(.*%[0-9A-Fa-f]{2}.*)")


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Content-Type/-Disposition parameters, from a header or from BODYSTRUCTURE, as
    ``{lower-case name: decoded value}``: RFC 2231 sections joined and decoded, RFC 2047 words
    decoded, raw 8-bit read as text. The first of repeated plain parameters wins."""
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    for raw_name, value in pairs:
        name = raw_name.lower()
        if not name:
            continue
        match = _SECTION_NAME.fullmatch(name) if "*" in name else None
        if match is not None:
            base, number, star = match.groups()
            encoded = number is None or star is not None
            extended.setdefault(base, []).append((int(number) if number else 0, encoded, value))
        elif name not in plain:
            plain[name] = _plain_value(name, value)
    for base, pieces in extended.items():
        plain[base] = decode_words(rfc2231_join(pieces))
    return plain


def _plain_value(name: str, value: str) -> str:
    value = fix_8bit(value)
    if "=?" in value:
        return decode_words(value)
    if "%" in value and name in ("filename", "name"):
        match = _ENCODED_VALUE.fullmatch(value)
        if match is not None:
            try:
                codecs.lookup(match.group(1))
            except LookupError:
                return value
            return decode_text(unquote_to_bytes(match.group(2)), match.group(1))
    return value


def rfc2231_join(pieces: list[tuple[int, bool, str]]) -> str:
    """A parameter sent in RFC 2231 sections, ``(number, encoded, value)`` in any order, as one
    value: continuations joined, ``charset'lang'%XX`` decoded."""
    charset: str | None = None
    data = bytearray()
    for i, (_, encoded, val) in enumerate(sorted(pieces, key=lambda p: p[0])):
        if encoded:
            if i == 0 and val.count("'") >= 2:
                charset, _, val = val.split("'", 2)
            data.extend(_percent_decode(val))
        else:
            data.extend(to_bytes(val))
    if charset:
        charset = charset.split("*", 1)[0].strip()  # a language suffix some senders glue on: utf-8*en
    return decode_text(bytes(data), charset or None)


def _percent_decode(value: str) -> bytes:
    raw = to_bytes(value)
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


# --------------------------------------------------------------------------- file names


def filename_of(part: BodyPart) -> str | None:
    """An attachment's file name: the disposition ``filename``, else the Content-Type ``name``
    (older mailers set only that); blank names count as none."""
    name = part.disposition_params.get("filename") or part.params.get("name")
    return (name.strip() or None) if name else None
