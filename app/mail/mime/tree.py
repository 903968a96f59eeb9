"""A full source parsed defensively, its parts indexed by IMAP section number, with each part's
structure (as a server's BODYSTRUCTURE would give it), raw bytes, decoded content and text."""

from __future__ import annotations

import copy
import io
import logging
import re
from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import Message
from email.parser import BytesParser
from typing import Any

from app.mail.encoding import decode_text, decode_transfer
from app.mail.mime.headers import header_first, header_text, parse_params, raw_headers, unfold
from app.mail.mime.summary import MAX_DEPTH, child_number
from app.mail.mime.text import decode_flowed
from app.mail.types import BodyPart

log = logging.getLogger(__name__)


def parse_bytes(raw: bytes) -> Message:
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


class Tree:
    """A parsed source with its parts indexed by IMAP section number."""

    def __init__(self, raw: bytes) -> None:
        self.linesep = "\r\n" if b"\r\n" in raw[:65536] else "\n"
        self.root = parse_bytes(raw)
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
        return self._node(msg, child_number(prefix, 1), depth, register=True)

    def _node(self, msg: Message, number: str, depth: int, register: bool) -> BodyPart:
        kind, maintype, subtype = self._kind(msg)
        node = self._describe(msg, number, kind, maintype, subtype)
        if register:
            self.index[number] = (node, msg)
        if kind == "multipart" and depth < MAX_DEPTH:
            for i, child in enumerate(_parts(msg), 1):
                node.parts.append(self._node(child, child_number(number, i), depth + 1, register=True))
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
        if maintype == "multipart":
            if msg.is_multipart():
                return "multipart", maintype, subtype
            return "leaf", "text", "plain"
        if maintype == "message" and subtype in ("rfc822", "global"):
            return "message", maintype, subtype
        return "leaf", maintype, subtype

    def _describe(self, msg: Message, number: str, kind: str, maintype: str, subtype: str) -> BodyPart:
        headers = raw_headers(msg)

        def one(name: str) -> str | None:
            values = headers.get(name)
            return unfold(values[0]).strip() if values else None

        params: dict[str, str] = {}
        if (ctype := one("content-type")) is not None:
            params = parse_params(ctype)[1]
        disposition: str | None = None
        disposition_params: dict[str, str] = {}
        if (dispo := one("content-disposition")) is not None:
            value, disposition_params = parse_params(dispo)
            disposition = value or None
        encoding = one("content-transfer-encoding")
        description = one("content-description")
        node = BodyPart(
            type=maintype,
            subtype=subtype,
            part=number,
            params=params,
            id=one("content-id") or None,
            description=header_text(description) if description else None,
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
        encoding = header_first(msg, "content-transfer-encoding").strip().lower()
        if encoding in _DECODING_CTES:
            return parse_bytes(decode_transfer(self.raw(msg), encoding))
        if msg.is_multipart():
            parts = _parts(msg)
            return parts[0] if parts else None
        if msg.get_payload() is None:
            return None
        return parse_bytes(self.raw(msg))

    # -- content

    def raw(self, msg: Message) -> bytes:
        """The part's body as it appears in the source (still transfer-encoded)."""
        if msg.is_multipart():
            return b"".join(self.serialize(m) for m in _parts(msg))
        # get_payload(decode=True) hands back a body's source bytes when it has no transfer
        # encoding to undo (get_payload() would re-decode 8-bit text with the declared charset
        # and replacement characters): asked of a copy without that header, it gives them for
        # every part, to be decoded here as leniently as mail needs.
        bare = copy.copy(msg)
        del bare["content-transfer-encoding"]
        body = bare.get_payload(decode=True)
        return body if isinstance(body, bytes) else b""

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


def _parts(msg: Message) -> list[Message]:
    """The parsed parts of a multipart, or the message attached to a message/rfc822 part."""
    if not msg.is_multipart():
        return []
    return [m for m in msg.get_payload() if isinstance(m, Message)]


def _sniff_html_charset(data: bytes) -> str | None:
    match = re.search(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", data[:4096], re.I)
    return match.group(1).decode("ascii") if match else None
