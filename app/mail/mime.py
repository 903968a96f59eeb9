"""MIME: index summaries from BODYSTRUCTURE, defensive parsing of full sources, text helpers.

Both :func:`summarize` (fed the server's BODYSTRUCTURE) and :func:`parse` (fed the raw source)
classify parts with the same code over the same :class:`BodyPart` shape, and number parts the
way IMAP does, so a part number taken from the index addresses the same part in a download.
Nothing here raises on malformed mail: real mailboxes are full of it, and one bad message must
not stop a sync.
"""

from __future__ import annotations

import binascii
import codecs
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from app.mail.types import Address, BodyPart

__all__ = [
    "AttachmentInfo",
    "ParsedMessage",
    "Summary",
    "TextParts",
    "decode_flowed",
    "decode_text",
    "decode_transfer",
    "decode_words",
    "html_to_text",
    "parse",
    "part_bytes",
    "preview",
    "summarize",
]

log = logging.getLogger(__name__)

MAX_DEPTH = 64  # MIME nesting we follow; deeper parts are dropped (servers cap it too)


@dataclass(slots=True)
class AttachmentInfo:
    """One attachment as the index and the API list it; ``part`` fetches its content."""

    part: str  # IMAP section number
    content_type: str  # "image/png"
    encoded_size: int  # octets as transferred; 0 when the server did not say
    filename: str | None = None
    content_id: str | None = None  # without <>
    inline: bool = False  # disposition inline, or embedded
    embedded: bool = False  # in a multipart/related and has a Content-ID: referenced from the HTML
    method: str | None = None  # text/calendar METHOD ("REQUEST", "CANCEL", ...)


@dataclass(slots=True)
class TextParts:
    """Where the body text is, so it can be fetched (BODY.PEEK[n]) without the attachments."""

    plain: list[str] = field(default_factory=list)  # section numbers, in order
    html: list[str] = field(default_factory=list)
    encoded_size: dict[str, int] = field(default_factory=lambda: {"plain": 0, "html": 0})


@dataclass(slots=True)
class Summary:
    """What :func:`summarize` learns from BODYSTRUCTURE alone."""

    attachments: list[AttachmentInfo] = field(default_factory=list)
    text: TextParts = field(default_factory=TextParts)


@dataclass(slots=True)
class ParsedMessage:
    """A full source decoded for the API: headers, addresses, body text and attachments."""

    headers: dict[str, list[str]]  # lower-case names, decoded values, in source order
    subject: str | None
    message_id: str | None  # with <>
    in_reply_to: str | None
    references: list[str]
    date: datetime | None  # always timezone-aware
    from_: list[Address]
    sender: list[Address]
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    reply_to: list[Address]
    text: str | None  # body text/plain parts joined with "\n"
    html: str | None  # body text/html parts concatenated
    attachments: list[AttachmentInfo]
    body: BodyPart  # the structure, as a server's BODYSTRUCTURE would give it


# --------------------------------------------------------------------------- classification


def summarize(body: BodyPart) -> Summary:
    """Body text parts and attachments from BODYSTRUCTURE alone, to index without downloading.

    Part numbers are recomputed from the tree's shape (IMAP numbering is purely structural), so
    the result matches :func:`parse` even if a server or parser labels the root differently.
    """
    summary = Summary()
    _walk(summary, body, "" if _is_multipart(body) else "1", False, 0)
    return summary


def _is_multipart(node: BodyPart) -> bool:
    return node.type.lower() == "multipart"


def _child(prefix: str, index: int) -> str:
    return f"{prefix}.{index}" if prefix else str(index)


def _walk(summary: Summary, node: BodyPart, number: str, related: bool, depth: int) -> None:
    if _is_multipart(node):
        if depth >= MAX_DEPTH:
            return
        related = related or node.subtype.lower() == "related"
        for i, child in enumerate(node.parts, 1):
            _walk(summary, child, _child(number, i), related, depth + 1)
        return
    ctype = f"{node.type.lower()}/{node.subtype.lower()}"
    disposition = (node.disposition or "").lower()
    filename = _filename(node)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        kind = "plain" if ctype == "text/plain" else "html"
        getattr(summary.text, kind).append(number)
        summary.text.encoded_size[kind] += node.size or 0
        return
    # Everything else, including a whole attached message (never descended into), is one
    # attachment.
    content_id = _strip_angle(node.id)
    embedded = related and content_id is not None
    method = node.params.get("method") if ctype == "text/calendar" else None
    summary.attachments.append(
        AttachmentInfo(
            part=number,
            content_type=ctype,
            encoded_size=node.size or 0,
            filename=filename,
            content_id=content_id,
            inline=disposition == "inline" or embedded,
            embedded=embedded,
            method=(method.strip().upper() or None) if method else None,
        )
    )


def _filename(node: BodyPart) -> str | None:
    name = node.disposition_params.get("filename") or node.params.get("name")
    return (name.strip() or None) if name else None


def _strip_angle(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    return value or None


# --------------------------------------------------------------------------- full parse


def parse(raw: bytes) -> ParsedMessage:
    """Decode a full RFC 822 source; malformed input degrades to best effort, never an error."""
    tree = _Tree(raw)
    headers = _headers(tree.root)
    summary = summarize(tree.body)
    texts = [tree.text(number) for number in summary.text.plain]
    htmls = [tree.text(number) for number in summary.text.html]

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    raw_headers = _raw_headers(tree.root)
    message_ids = _msg_ids(" ".join(raw_headers.get("message-id", [])[:1]))
    in_reply_to = _msg_ids(" ".join(raw_headers.get("in-reply-to", [])[:1]))
    references = _msg_ids(" ".join(raw_headers.get("references", [])))
    return ParsedMessage(
        headers=headers,
        subject=first("subject"),
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=list(dict.fromkeys(references)),
        date=parse_date(first("date")),
        from_=_addresses(raw_headers.get("from", [])),
        sender=_addresses(raw_headers.get("sender", [])),
        to=_addresses(raw_headers.get("to", [])),
        cc=_addresses(raw_headers.get("cc", [])),
        bcc=_addresses(raw_headers.get("bcc", [])),
        reply_to=_addresses(raw_headers.get("reply-to", [])),
        text="\n".join(texts) if texts else None,
        html="".join(htmls) if htmls else None,
        attachments=summary.attachments,
        body=tree.body,
    )


def part_bytes(raw: bytes, part: str) -> tuple[bytes, str, str | None] | None:
    """(decoded content, content type, filename) of one IMAP section, for attachment downloads.

    A message/rfc822 part gives the attached message's source; a multipart or an unknown
    number gives None.
    """
    tree = _Tree(raw)
    found = tree.find(part.strip())
    if found is None:
        return None
    node, _ = found
    if _is_multipart(node):
        return None
    return tree.content(part.strip()), f"{node.type}/{node.subtype}", _filename(node)


def inline_images(raw: bytes) -> dict[str, tuple[bytes, str]]:
    """Every image part with a Content-ID, as {content id: (decoded bytes, content type)}: what
    ``cid:`` links in the message's HTML point at."""
    tree = _Tree(raw)
    return {
        a.content_id: (tree.content(a.part), a.content_type)
        for a in summarize(tree.body).attachments
        if a.content_id and a.content_type.startswith("image/")
    }


def _parse_bytes(raw: bytes) -> Message:
    """The stdlib parser, falling back to simpler modes: its header classes have had crashes on
    hostile input, and very deep nesting can exhaust the recursion limit."""
    for pol in (email_policy.default, email_policy.compat32):
        try:
            return BytesParser(policy=pol).parsebytes(raw)
        except Exception:
            continue
    try:
        return BytesParser(policy=email_policy.compat32).parsebytes(raw, headersonly=True)
    except Exception:
        msg = Message()
        msg.set_payload(raw.decode("ascii", "surrogateescape"))
        return msg


class _Tree:
    """A parsed source with its parts indexed by IMAP section number."""

    def __init__(self, raw: bytes) -> None:
        self.linesep = "\r\n" if b"\r\n" in raw[:65536] else "\n"
        self.root = _parse_bytes(raw)
        self.index: dict[str, tuple[BodyPart, Message]] = {}
        try:
            self.body = self._body_of(self.root, "", 0)
        except Exception:  # a bug here must not cost the user the message: show it as text
            log.warning("MIME structure failed, treating the source as text", exc_info=True)
            whole = Message()
            whole.set_payload(raw.decode("ascii", "surrogateescape"))
            self.body = BodyPart("text", "plain", "1", size=len(raw))
            self.index = {"1": (self.body, whole)}

    def find(self, number: str) -> tuple[BodyPart, Message] | None:
        return self.index.get(number)

    # -- structure

    def _body_of(self, msg: Message, prefix: str, depth: int) -> BodyPart:
        """A message's body: a multipart's children are prefix.N, a single part is prefix.1."""
        if self._kind(msg)[0] == "multipart":
            return self._node(msg, prefix, depth, register=False)
        return self._node(msg, _child(prefix, 1), depth, register=True)

    def _node(self, msg: Message, number: str, depth: int, register: bool) -> BodyPart:
        kind, maintype, subtype = self._kind(msg)
        node = self._describe(msg, number, kind, maintype, subtype)
        if register:
            self.index[number] = (node, msg)
        payload = _payload(msg)
        if kind == "multipart" and depth < MAX_DEPTH and isinstance(payload, list):
            children = [m for m in payload if isinstance(m, Message)]
            for i, child in enumerate(children, 1):
                node.parts.append(self._node(child, _child(number, i), depth + 1, register=True))
        elif kind == "message" and depth < MAX_DEPTH:
            inner = self._inner(msg)
            if inner is not None:
                node.message = self._body_of(inner, number, depth + 1)
        return node

    @staticmethod
    def _kind(msg: Message) -> tuple[str, str, str]:
        """("multipart" | "message" | "leaf", maintype, subtype) as IMAP would see the part.

        A multipart the stdlib could not split (no boundary, or the boundary never appears)
        is shown as text/plain so its content is not lost; message/* other than rfc822/global
        (delivery-status, partial...) are leaves, as they are in BODYSTRUCTURE.
        """
        try:
            ctype = msg.get_content_type()
        except Exception:
            ctype = "text/plain"
        maintype, _, subtype = ctype.lower().partition("/")
        payload = _payload(msg)
        if maintype == "multipart":
            if isinstance(payload, list):
                return "multipart", maintype, subtype
            return "leaf", "text", "plain"
        if maintype == "message" and subtype in ("rfc822", "global"):
            return "message", maintype, subtype
        return "leaf", maintype, subtype

    def _describe(self, msg: Message, number: str, kind: str, maintype: str, subtype: str) -> BodyPart:
        headers = _raw_headers(msg)

        def one(name: str) -> str | None:
            values = headers.get(name)
            return _unfold(values[0]).strip() if values else None

        params: dict[str, str] = {}
        if (ctype := one("content-type")) is not None:
            params = _parse_params(ctype)[1]
        disposition: str | None = None
        disposition_params: dict[str, str] = {}
        if (dispo := one("content-disposition")) is not None:
            value, disposition_params = _parse_params(dispo)
            disposition = value or None
        encoding = one("content-transfer-encoding")
        description = one("content-description")
        node = BodyPart(
            type=maintype,
            subtype=subtype,
            part=number,
            params=params,
            id=one("content-id") or None,
            description=_header_text(description) if description else None,
            encoding=encoding.lower() if encoding else None,
            disposition=disposition,
            disposition_params=disposition_params,
        )
        if kind != "multipart":
            raw = self.raw(msg)
            node.size = len(raw)
            if maintype in ("text", "message"):
                node.lines = raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0)
        return node

    def _inner(self, msg: Message) -> Message | None:
        """The attached message; one sent base64/QP-encoded is decoded and re-parsed (the
        stdlib parses message/rfc822 bodies without looking at the transfer encoding)."""
        encoding = _header_first(msg, "content-transfer-encoding").strip().lower()
        payload = _payload(msg)
        if encoding in _DECODING_CTES:
            return _parse_bytes(decode_transfer(self.raw(msg), encoding))
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str | bytes):
            return _parse_bytes(self.raw(msg))
        return None

    # -- content

    def raw(self, msg: Message) -> bytes:
        """The part's body as it appears in the source (still transfer-encoded)."""
        payload = _payload(msg)
        if isinstance(payload, bytes):
            return payload
        if isinstance(payload, str):
            return _to_bytes(payload)
        if isinstance(payload, list):
            return b"".join(self.serialize(m) for m in payload if isinstance(m, Message))
        return b""

    def serialize(self, msg: Message) -> bytes:
        """Source bytes of a parsed (sub)message, headers left as they were folded."""
        buf = io.BytesIO()
        pol = email_policy.default.clone(refold_source="none", linesep=self.linesep)
        try:
            gen: BytesGenerator[Any] = BytesGenerator(buf, mangle_from_=False, policy=pol)
            gen.flatten(msg)
            return buf.getvalue()
        except Exception:
            try:
                return msg.as_bytes(policy=email_policy.compat32)
            except Exception:
                return b""

    def content(self, number: str) -> bytes:
        found = self.index.get(number)
        if found is None:
            return b""
        node, msg = found
        if node.type == "message" and node.subtype in ("rfc822", "global"):
            inner = self._inner(msg)
            return self.serialize(inner) if inner is not None else b""
        return decode_transfer(self.raw(msg), node.encoding)

    def text(self, number: str) -> str:
        found = self.index.get(number)
        if found is None:
            return ""
        node, _ = found
        data = self.content(number)
        charset = node.params.get("charset")
        if not charset and node.subtype == "html":
            charset = _sniff_html_charset(data)
        text = decode_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")
        if node.subtype == "plain" and node.params.get("format", "").lower() == "flowed":
            text = decode_flowed(text, delsp=node.params.get("delsp", "").lower() == "yes")
        return text


_DECODING_CTES = frozenset({"base64", "quoted-printable", "x-uuencode", "uuencode", "x-uue", "uue"})


def _payload(msg: Message) -> Any:
    # The stored payload, not get_payload(): that re-decodes 8-bit text with the declared
    # charset and replacement characters, losing bytes we want to decode ourselves.
    return getattr(msg, "_payload", None)


def _to_bytes(text: str) -> bytes:
    """Undo the parser's ASCII+surrogateescape decoding of the source."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _sniff_html_charset(data: bytes) -> str | None:
    match = re.search(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", data[:4096], re.I)
    return match.group(1).decode("ascii") if match else None


# --------------------------------------------------------------------------- headers


def _raw_headers(msg: Message) -> dict[str, list[str]]:
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


def _header_first(msg: Message, name: str) -> str:
    values = _raw_headers(msg).get(name)
    return _unfold(values[0]) if values else ""


def _headers(msg: Message) -> dict[str, list[str]]:
    return {name: [_header_text(v) for v in values] for name, values in _raw_headers(msg).items()}


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])|\r?\n$", "", value)


def _fix_8bit(value: str) -> str:
    """Raw 8-bit header bytes (surrogates from the parser) decoded as UTF-8, else Latin-1."""
    if not re.search("[\udc80-\udcff]", value):
        return value
    return decode_text(_to_bytes(value), None)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")


def _header_text(value: str) -> str:
    text = decode_words(_fix_8bit(_unfold(value)))
    return _CONTROL.sub(" ", text).strip()


_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?]*)?\?([bBqQ])\?([^?]*)\?=")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words anywhere in a string, tolerating what real mailers send: words
    inside quotes or glued to text, unknown charsets, bad base64, and multi-byte characters
    split across adjacent words (their bytes are joined before decoding)."""
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
        raw = _to_bytes(text)
        data = binascii.a2b_qp(raw, header=True) if kind == "q" else decode_transfer(raw, "base64")
        if pending and pending[-1][0] == charset:
            pending[-1][1].extend(data)
        else:
            pending.append((charset, bytearray(data)))
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def _parse_params(value: str) -> tuple[str, dict[str, str]]:
    """("main/value", {param: decoded}) for Content-Type/-Disposition, with RFC 2231
    (charset, language, continuations) and RFC 2047 in values; never raises (the stdlib's
    decode_params does on mixed continuation forms)."""
    tokens = _split_params(value)
    words = tokens[0].split()
    main = words[0].lower() if words else ""
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    for token in tokens[1:]:
        name, sep, val = token.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        match = re.fullmatch(r"(.+?)\*(?:(\d{1,4})(\*)?)?", name)
        if match:
            base, num, star = match.groups()
            encoded = num is None or star is not None
            extended.setdefault(base, []).append((int(num) if num else 0, encoded, val))
        else:
            plain.setdefault(name, decode_words(_fix_8bit(val)))
    for base, pieces in extended.items():
        plain[base] = decode_words(rfc2231_join(pieces))
    return main, plain


def rfc2231_join(pieces: list[tuple[int, bool, str]]) -> str:
    """A parameter sent in RFC 2231 sections, ``(number, encoded, value)`` in any order, as one
    value: continuations joined, ``charset'lang'%XX`` decoded (for headers and BODYSTRUCTURE)."""
    charset: str | None = None
    data = bytearray()
    for i, (_, encoded, val) in enumerate(sorted(pieces, key=lambda p: p[0])):
        if encoded:
            if i == 0 and val.count("'") >= 2:
                charset, _, val = val.split("'", 2)
            data.extend(_percent_decode(val))
        else:
            data.extend(_to_bytes(val))
    if charset:
        charset = charset.split("*", 1)[0].strip()  # a language suffix some senders glue on: utf-8*en
    return decode_text(bytes(data), charset or None)


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


def _percent_decode(value: str) -> bytes:
    raw = _to_bytes(value)
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def _msg_ids(value: str) -> list[str]:
    value = _fix_8bit(_unfold(value))
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


def _addresses(values: Iterable[str]) -> list[Address]:
    """Addresses with decoded display names; group members are flattened, group names and
    entries without an address dropped. Names are decoded after splitting so an encoded
    comma cannot split an address."""
    out: list[Address] = []
    for value in values:
        text = _CONTROL.sub(" ", _fix_8bit(_unfold(value)))
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


# --------------------------------------------------------------------------- decoding


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


def decode_flowed(text: str, delsp: bool = False) -> str:
    """Join RFC 3676 format=flowed soft line breaks, per quote depth."""
    out: list[str] = []
    buf: str | None = None
    depth = 0

    def flush() -> None:
        nonlocal buf
        if buf is not None:
            out.append((">" * depth + " " if depth else "") + buf)
            buf = None

    for line in text.split("\n"):
        quote = len(line) - len(line.lstrip(">"))
        content = line[quote:]
        content = content.removeprefix(" ")  # space-stuffing
        if content == "-- " or (buf is not None and quote != depth):
            flush()
        if content == "-- ":  # signature separator is never flowed
            depth = quote
            out.append(line)
            continue
        flowed = content.endswith(" ")
        if flowed and delsp:
            content = content[:-1]
        buf = content if buf is None else buf + content
        depth = quote
        if not flowed:
            flush()
    flush()
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML to text


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: paragraphs, line breaks, lists, quotes,
    "text (url)" links; scripts, styles and display:none content dropped."""
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; this guards against the unforeseen
        pass
    text = "".join(parser.out)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "dl", "hr"})
_BLOCK = frozenset(
    {"div", "section", "article", "header", "footer", "main", "nav", "aside", "address", "center",
     "form", "fieldset", "figure", "figcaption", "tr", "li", "dt", "dd", "ul", "ol", "body", "caption"}
) | _PARAGRAPH  # fmt: skip
_SKIP = frozenset({"script", "style", "title", "template", "noscript"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.newlines = 0  # line breaks owed before the next text
        self.space = False  # a collapsed space owed before the next text
        self.line_start = True
        self.hidden: list[str] = []  # skipped element and same-name nesting
        self.pre = 0
        self.quote = 0
        self.break_quote = 0  # shallowest quote depth since the owed line breaks were asked for
        self.lists: list[list[int]] = []  # [ordered, counter]
        self.links: list[tuple[str | None, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.hidden:
            if tag == self.hidden[0] and tag not in _VOID:
                self.hidden.append(tag)
            return
        attr = {k: v or "" for k, v in attrs}
        style = attr.get("style", "").lower().replace(" ", "")
        if tag in _SKIP or ("display:none" in style and tag not in _VOID):
            self.hidden.append(tag)
            return
        if tag == "br":
            self._block(self.newlines + 1)
        elif tag in ("ul", "ol"):
            self._block(1 if self.lists else 2)
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            self._block(1)
            if self.lists:
                self.lists[-1][1] += 1
            ordered, n = self.lists[-1] if self.lists else [False, 0]
            self._write("  " * max(len(self.lists) - 1, 0) + (f"{n}. " if ordered else "- "))
        elif tag in _BLOCK:
            self._block(2 if tag in _PARAGRAPH else 1)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "hr":
                self._write("---")
                self._block(2)
        elif tag in ("td", "th"):
            self.space = True
        elif tag == "a":
            self.links.append((attr.get("href"), []))

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            if tag == self.hidden[0]:
                self.hidden.pop()
            return
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self._block(1 if self.lists else 2)
        elif tag in _BLOCK:
            self._block(2 if tag in _PARAGRAPH else 1)
            if tag == "blockquote" and self.quote:
                self.quote -= 1
            elif tag == "pre" and self.pre:
                self.pre -= 1
        elif tag in ("td", "th"):
            self.space = True
        elif tag == "a" and self.links:
            href, parts = self.links.pop()
            label = "".join(parts).strip()
            url = (href or "").strip()
            shown = url.removeprefix("mailto:")
            if label and re.match(r"(?i)(https?|mailto|ftp):", url) and shown not in label:
                self.space = True
                self._write(f"({url})")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            self._write(data, raw=True)
            return
        if data[:1].isspace():
            self.space = True
        words = data.split()
        if words:
            self._write(" ".join(words))
            self.space = data[-1].isspace()

    def _block(self, n: int) -> None:
        self.break_quote = min(self.break_quote, self.quote) if self.newlines else self.quote
        self.newlines = max(self.newlines, n)
        self.space = False

    def _write(self, text: str, raw: bool = False) -> None:
        prefix = "> " * self.quote
        if self.out and self.newlines:  # blank lines inside a quote keep its marker
            blank = ("> " * min(self.quote, self.break_quote)).rstrip() + "\n"
            self.out.append("\n" + blank * (min(self.newlines, 2) - 1))
            self.line_start = True
        elif self.space and self.out and not self.line_start and not self.out[-1][-1:].isspace():
            self.out.append(" ")
        self.newlines = 0
        self.space = False
        if self.line_start and prefix:
            self.out.append(prefix)
        if raw and prefix:
            text = text.replace("\n", "\n" + prefix)
        self.out.append(text)
        self.line_start = text.endswith("\n")
        for _, parts in self.links:
            parts.append(text)


_INVISIBLE = re.compile("[\u00ad\u034f\u180e\u200b-\u200f\u2060-\u2064\ufeff]")


def preview(text: str, limit: int = 200) -> str:
    """A one-line snippet: whitespace collapsed, zero-width padding (newsletter preheaders)
    dropped, cut at a word boundary when one is near, at most ``limit`` characters."""
    flat = " ".join(_INVISIBLE.sub("", text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if not flat[limit].isspace():
        space = cut.rfind(" ")
        if space > limit * 0.6:
            cut = cut[:space]
    return cut.rstrip()
