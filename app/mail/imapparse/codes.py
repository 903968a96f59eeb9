"""Response codes (``[COPYUID ...]``, ``[APPENDUID ...]``, ``[UIDVALIDITY n]``) and UID sets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from app.mail.encoding import decode_8bit
from app.mail.imapparse.tokens import ImapParseError, Line, Malformed, Value, guard, string
from app.mail.types import CopyUid

_RESP_CODE_RE = re.compile(
    r"""^\s*(?:\*\s+)?(?:[A-Za-z0-9.+_\-]+\s+)??(?:(?:OK|NO|BAD|BYE|PREAUTH)\s+)?
    \[([A-Za-z0-9.\-]+)(?:\s+((?:[^\]"]|"(?:[^"\\]|\\.)*")*))?\]""",
    re.IGNORECASE | re.VERBOSE,
)


@guard
def parse_response_code(text: str | bytes | bytearray) -> tuple[str, str] | None:
    """``OK [COPYUID 1 7:9 1:3] Moved`` → ``("COPYUID", "1 7:9 1:3")``; ``[READ-ONLY] x`` →
    ``("READ-ONLY", "")``. The code name is upper-cased. Accepts an untagged line (with or without
    ``* ``), a tagged line, or aioimaplib's tagged text. None when the line has no response code."""
    if not isinstance(text, str):
        text = decode_8bit(text)
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


def _ranges(text: str, limit: int) -> list[tuple[int, int]]:
    """The ranges of a sequence set in the order sent, each ascending; ImapParseError when they
    hold more than ``limit`` numbers (a hostile server could send ``1:4294967295``)."""
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
    return ranges


def _expand_ordered(text: str, limit: int = 10_000_000) -> list[int]:
    """Sequence set in the order sent, each range ascending (COPYUID pairs source and destination)."""
    return [n for lo, hi in _ranges(text, limit) for n in range(lo, hi + 1)]


@guard
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


@guard
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


@guard
def expand_uid_set(text: str | bytes | int, *, limit: int = 10_000_000) -> list[int]:
    """``"1:3,5,9:7"`` → ``[1, 2, 3, 5, 7, 8, 9]`` (sorted, no duplicates). Raises ImapParseError for
    ``*``, junk, or more than ``limit`` numbers (a hostile server could send ``1:4294967295``)."""
    if isinstance(text, int):
        return [text]
    if isinstance(text, bytes):
        text = decode_8bit(text)
    text = text.strip()
    if not text:
        return []
    ranges = _ranges(text, limit)
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


@guard
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


def set_text(v: Value) -> str:
    if type(v) is int:
        return str(v)
    s = string(v)
    if s is None:
        raise Malformed("sequence set expected")
    return s
