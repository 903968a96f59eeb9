"""The parts of a FETCH answer that describe a message: INTERNALDATE, ENVELOPE and BODYSTRUCTURE
(with parameters, dispositions and file names decoded by :mod:`app.mail.encoding`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from app.mail.encoding import decode_8bit, decode_params, decode_words
from app.mail.imapparse.tokens import Malformed, Value, guard, lower, nstring, opt_number, string
from app.mail.mime import parse_date
from app.mail.types import Address, BodyPart, Envelope, SectionKey

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


@guard
def parse_internal_date(text: str | bytes | None) -> datetime | None:
    """``"17-Jul-1996 02:44:25 -0700"`` → aware datetime; None when it does not parse."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = decode_8bit(text)
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
            host = nstring(host)
            if host is None:  # group syntax start/end marker
                continue
        if mailbox is not None and type(mailbox) is not str:
            mailbox = nstring(mailbox)
        if name is not None:
            if type(name) is not str:
                name = nstring(name)
            if name is not None and "=?" in name:
                name = decode_words(name)
        if mailbox and host:
            address: str | None = f"{mailbox}@{host}"
        else:
            address = mailbox or host or None
        out.append(Address(name, address))
    return out


def envelope(v: Value) -> Envelope:
    """RFC 3501 envelope; a field of the wrong shape reads as NIL."""
    if type(v) is not list or len(v) < 10:
        raise Malformed(f"ENVELOPE needs 10 fields: {v!r}")
    subject = nstring(v[1])
    if subject is not None and "=?" in subject:
        subject = decode_words(subject)
    return Envelope(
        date=parse_date(nstring(v[0])),
        subject=subject,
        from_=_addresses(v[2]),
        sender=_addresses(v[3]),
        reply_to=_addresses(v[4]),
        to=_addresses(v[5]),
        cc=_addresses(v[6]),
        bcc=_addresses(v[7]),
        in_reply_to=nstring(v[8]),
        message_id=nstring(v[9]),
    )


# ------------------------------------------------------------------------------------ bodystructure

_MAX_BODY_DEPTH = 64


def _params(v: Value) -> dict[str, str]:
    """Body parameters, decoded by :func:`app.mail.encoding.decode_params`; the common plain
    case (names and values with nothing to decode) is read here directly, to the same result."""
    if type(v) is not list:
        return {}
    out: dict[str, str] = {}
    for i in range(0, len(v) - 1, 2):
        key = v[i]
        value = v[i + 1]
        if (
            type(key) is not str
            or type(value) is not str
            or not key
            or "*" in key
            or "=?" in value
            or "%" in value
        ):
            return _params_decoded(v)
        out.setdefault(key.lower(), value)
    return out


def _params_decoded(v: list[Value]) -> dict[str, str]:
    pairs: list[tuple[str, str]] = []
    for i in range(0, len(v) - 1, 2):
        raw_key, raw_value = v[i], v[i + 1]
        if isinstance(raw_key, list | SectionKey) or isinstance(raw_value, list | SectionKey):
            continue
        key = string(raw_key)
        if key:
            pairs.append((key, string(raw_value) or ""))
    return decode_params(pairs)


def _disposition(part: BodyPart, d: Value) -> None:
    if type(d) is list:
        if d:
            part.disposition = lower(d[0])
            if len(d) > 1:
                part.disposition_params = _params(d[1])
    elif isinstance(d, str | bytes):
        part.disposition = lower(d)


def body_structure(v: Value, path: str, root: bool, depth: int) -> BodyPart:
    """One BODYSTRUCTURE node. ``path`` is the section number of this node (for a message root: the
    number of the enclosing message/rfc822 part, "" at the top)."""
    if type(v) is not list or not v:
        raise Malformed(f"body structure expected: {v!r}")
    if depth > _MAX_BODY_DEPTH:
        raise Malformed("body structure nested too deeply")
    size = len(v)
    if type(v[0]) is list:  # multipart: (part)(part)... subtype [params [disposition [lang [loc]]]]
        n = 1
        while n < size and type(v[n]) is list:
            n += 1
        subtype = (lower(v[n]) if n < size else None) or "mixed"
        node = BodyPart("multipart", subtype, path)
        prefix = path + "." if path else ""
        node.parts = [
            body_structure(child, f"{prefix}{i}", False, depth + 1) for i, child in enumerate(v[:n], 1)
        ]
        if size > n + 1:
            node.params = _params(v[n + 1])
            if size > n + 2:
                _disposition(node, v[n + 2])
        return node
    if size < 7:
        raise Malformed(f"body part needs 7 fields: {v!r}")
    number = (f"{path}.1" if path else "1") if root else path
    t, st, enc = v[0], v[1], v[5]
    type_ = (t.lower() if type(t) is str else lower(t)) or "application"
    subtype = (st.lower() if type(st) is str else lower(st)) or "octet-stream"
    node = BodyPart(type_, subtype, number)
    if v[2] is not None:
        node.params = _params(v[2])
    if v[3] is not None:
        node.id = nstring(v[3])
    if v[4] is not None:
        description = nstring(v[4])
        node.description = decode_words(description) if description else description
    if enc is not None:
        node.encoding = enc.lower() if type(enc) is str else lower(enc)
    octets = v[6]
    node.size = octets if type(octets) is int else opt_number(octets)
    ext = 7
    if type_ == "text":
        if size > 7:
            node.lines = opt_number(v[7])
        ext = 8
    elif type_ == "message" and size > 8 and type(v[7]) is list and type(v[8]) is list:
        node.message = body_structure(v[8], number, True, depth + 1)
        if size > 9:
            node.lines = opt_number(v[9])
        ext = 10
    # extension data: md5, disposition, language, location
    if size > ext + 1 and v[ext + 1] is not None:
        _disposition(node, v[ext + 1])
    return node
