"""Header values of a parsed source: unfolded, 8-bit and RFC 2047 decoded, parameters and
addresses split the way real mail needs (the stdlib's header objects decode too eagerly and have
raised on hostile input)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from app.mail.encoding import decode_params, decode_words, fix_8bit
from app.mail.types import Address


def raw_headers(msg: Message) -> dict[str, list[str]]:
    """Header values exactly as in the source (still encoded, folded, 8-bit as surrogates):
    the policy's header objects decode too eagerly and have raised on hostile input."""
    out: dict[str, list[str]] = {}
    try:
        items = list(msg.raw_items())
    except Exception:
        return out
    for name, value in items:
        out.setdefault(str(name).strip().lower(), []).append(str(value))
    return out


def header_first(msg: Message, name: str) -> str:
    values = raw_headers(msg).get(name)
    return unfold(values[0]) if values else ""


def decoded_headers(msg: Message) -> dict[str, list[str]]:
    return {name: [header_text(v) for v in values] for name, values in raw_headers(msg).items()}


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])|\r?\n$", "", value)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")


def header_text(value: str) -> str:
    text = decode_words(fix_8bit(unfold(value)))
    return _CONTROL.sub(" ", text).strip()


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """("main/value", {param: decoded}) for Content-Type/-Disposition; never raises (the
    stdlib's decode_params does on mixed RFC 2231 continuation forms)."""
    tokens = _split_params(value)
    words = tokens[0].split()
    main = words[0].lower() if words else ""
    pairs: list[tuple[str, str]] = []
    for token in tokens[1:]:
        name, sep, val = token.partition("=")
        if not sep:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        pairs.append((name.strip(), val))
    return main, decode_params(pairs)


def _split_params(value: str) -> list[str]:
    tokens: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            tokens.append("".join(current))
            current = []
            continue
        current.append(ch)
    tokens.append("".join(current))
    return tokens


def msg_ids(value: str) -> list[str]:
    value = fix_8bit(unfold(value))
    ids = ["<" + re.sub(r"\s+", "", m) + ">" for m in re.findall(r"<([^<>]+)>", value)]
    return ids or value.split()


def parse_date(value: str | None) -> datetime | None:
    """A Date header as an aware datetime (UTC when it names no zone); None when unparsable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def addresses(values: Iterable[str]) -> list[Address]:
    """Addresses with decoded display names; group members are flattened, group names and
    entries without an address dropped. Names are decoded after splitting so an encoded
    comma cannot split an address."""
    out: list[Address] = []
    for value in values:
        text = _CONTROL.sub(" ", fix_8bit(unfold(value)))
        try:
            pairs = getaddresses([text])
        except Exception:
            continue
        for name, address in pairs:
            address = address.strip()
            if not address:
                continue
            decoded = decode_words(name).strip()
            out.append(Address(name=decoded or None, address=address))
    return out
