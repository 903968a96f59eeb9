"""Building RFC 5322 messages with the stdlib ``email`` package, and reading envelopes from raw ones.

Raw sources are only ever scanned, never re-serialised: a signed or user-supplied message must
reach the server byte for byte as it was given (only a Bcc header is cut out of it).
"""

from __future__ import annotations

import io
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.policy import SMTP, Policy
from email.utils import format_datetime, make_msgid
from typing import Any, cast

from app.mail import mime

__all__ = ["Attachment", "build", "envelope_of", "strip_bcc"]

# Headers the builder owns; custom headers with these names are ignored (Content-* too).
_STRUCTURAL = frozenset({"from", "to", "cc", "bcc", "subject", "date", "message-id", "mime-version"})
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII except ":"
_LINEBREAK = re.compile("[\r\n\x00\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")  # what str.splitlines splits on
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
_MAX_LINE = 998  # RFC 5322 line limit, relevant for message/rfc822 sent unencoded


@dataclass(frozen=True)
class Attachment:
    content: bytes
    filename: str | None = None
    content_type: str | None = None  # guessed from the filename when None
    cid: str | None = None  # set: an inline part the HTML references as cid:...
    disposition: str | None = None  # "attachment" | "inline"; default inline with a cid, else attachment


class _IdListHeader(UnstructuredHeader):
    """In-Reply-To/References folded only between ids: the stdlib folder turns an id longer than
    a line into encoded-words, which breaks threading in every client."""

    def fold(self, *, policy: Policy) -> str:
        name: str = self.name  # type: ignore[attr-defined]  # BaseHeader, mixed in by the registry
        limit = policy.max_line_length or _MAX_LINE
        lines, line = [], f"{name}:"
        for token in str(self).split():
            if len(line) + 1 + len(token) > limit and line != f"{name}:":
                lines.append(line)
                line = ""
            line += " " + token
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


_registry = HeaderRegistry()
# List-Unsubscribe (RFC 2369) likewise: its URLs must stay readable, never encoded-words.
for _name in ("in-reply-to", "references", "list-unsubscribe"):  # the registry mixes BaseHeader in
    _registry.map_to_type(_name, cast("type[BaseHeader]", _IdListHeader))
# 7bit: text bodies get quoted-printable or base64, so only an attached message is ever 8-bit.
POLICY = SMTP.clone(header_factory=_registry, cte_type="7bit")


class InvalidMessage(ValueError):
    """Input that would corrupt the message or inject headers: the caller's mistake, never ours."""


def _check_line(field: str, value: str) -> str:
    if _LINEBREAK.search(value):
        raise InvalidMessage(f"{field} must not contain line breaks")
    return value


def _put(msg: EmailMessage, name: str, value: Any) -> None:
    try:
        msg[name] = value
    except InvalidMessage:
        raise
    except Exception as exc:  # header classes raise defects and parse errors on odd input
        raise InvalidMessage(f"Invalid {name} header: {exc}") from exc


def _address(entry: Mapping[str, Any], field: str) -> Address | None:
    name = _check_line(f"{field} name", str(entry.get("name") or "")).strip()
    addr = _check_line(f"{field} address", str(entry.get("address") or "")).strip()
    if not addr:
        return Address(name, "", "") if name else None
    local, _, domain = addr.rpartition("@")
    if local and not domain.isascii():
        try:
            addr = f"{local}@{domain.encode('idna').decode('ascii')}"
        except UnicodeError as exc:
            raise InvalidMessage(f"Invalid {field} address: {addr!r}") from exc
    try:
        return Address(name, addr_spec=addr)
    except Exception as exc:
        raise InvalidMessage(f"Invalid {field} address: {addr!r}") from exc


def _addresses(entries: Sequence[Mapping[str, Any]], field: str) -> list[Address]:
    return [a for a in (_address(e, field) for e in entries) if a is not None]


def _msg_id(value: str, field: str) -> str:
    value = _check_line(field, value).strip().strip("<>").strip()
    if not value or any(c.isspace() or c in "<>" for c in value):
        raise InvalidMessage(f"Invalid {field}: {value!r}")
    return f"<{value}>"


def new_message_id(given: str | None, domain: str) -> str:
    """``given`` as ``<id>`` (InvalidMessage if it is not one), or a new one in ``domain``."""
    return _msg_id(given, "Message-ID") if given else make_msgid(domain=domain)


def build(
    *,
    from_: Mapping[str, Any] | None = None,
    to: Sequence[Mapping[str, Any]] = (),
    cc: Sequence[Mapping[str, Any]] = (),
    reply_to: Sequence[Mapping[str, Any]] = (),
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    date: datetime | None = None,
    domain: str = "mailgate.local",
) -> bytes:
    """A complete message; raises InvalidMessage on input that would corrupt or inject headers.

    Bcc is deliberately not a parameter: blind recipients belong in the SMTP envelope only.
    """
    msg = EmailMessage(policy=POLICY)
    if from_ and (sender := _address(from_, "from")):
        _put(msg, "From", sender)
    for name, entries in (("To", to), ("Cc", cc), ("Reply-To", reply_to)):
        if entries and (addrs := _addresses(entries, name)):
            _put(msg, name, addrs)
    if subject is not None:
        _put(msg, "Subject", _check_line("Subject", subject))
    when = date or datetime.now(UTC)
    _put(msg, "Date", format_datetime(when if when.tzinfo else when.replace(tzinfo=UTC)))
    _put(msg, "Message-ID", new_message_id(message_id, domain))
    for name, ids in (("In-Reply-To", in_reply_to), ("References", references)):
        if ids:
            _put(msg, name, " ".join(_msg_id(v, name) for v in _check_line(name, ids).split()))
    owned = {"in-reply-to": in_reply_to, "references": references, "reply-to": reply_to}
    for name, value in (headers or {}).items():
        if not _FIELD_NAME.fullmatch(name):
            raise InvalidMessage(f"Invalid header name: {name!r}")
        lower = name.lower()
        if lower in _STRUCTURAL or lower.startswith("content-") or owned.get(lower):
            continue
        _put(msg, name, _check_line(f"Header {name}", str(value)))

    msg.set_content(text if text is not None else (mime.html_to_text(html) if html else ""))
    if html is not None:
        html_part = MIMEPart(policy=POLICY)
        html_part.set_content(html, subtype="html")
        for att in attachments:
            if att.cid:
                _add(html_part, "related", _part(att))
        _add(msg, "alternative", html_part)
    for att in attachments:
        if not (att.cid and html is not None):
            _add(msg, "mixed", _part(att))
    out = io.BytesIO()
    _Generator(out, policy=POLICY).flatten(msg)
    return out.getvalue()


class _Generator(BytesGenerator):
    """Writes an attached message's 8-bit source back as bytes (the stock one only takes ASCII)."""

    def _encode(self, s: str) -> bytes:
        return s.encode("ascii", "surrogateescape")


def _add(target: MIMEPart, kind: str, part: MIMEPart) -> None:
    if target.get_content_type() != f"multipart/{kind}":
        getattr(target, f"make_{kind}")()
    target.attach(part)


def _part(att: Attachment) -> MIMEPart:
    filename = _check_line("Attachment filename", att.filename) if att.filename else None
    ctype = (att.content_type or "").split(";")[0].strip().lower()
    if not ctype:
        guessed, encoding = mimetypes.guess_type(filename or "", strict=False)
        ctype = guessed if guessed and not encoding else "application/octet-stream"
    if not _CONTENT_TYPE.fullmatch(ctype):
        raise InvalidMessage(f"Invalid attachment content type: {att.content_type!r}")
    disposition = (att.disposition or ("inline" if att.cid else "attachment")).lower()
    if disposition not in ("inline", "attachment"):
        raise InvalidMessage(f"Invalid attachment disposition: {att.disposition!r}")
    cid = _msg_id(att.cid, "Attachment cid") if att.cid else None
    part = MIMEPart(policy=POLICY)
    if ctype == "message/rfc822" and (source := _rfc822_source(att.content)) is not None:
        # Attached messages are sent as they are (RFC 2046 forbids base64 here), so a forwarded
        # original keeps its signatures and opens as a message in the recipient's client.
        part["Content-Type"] = ctype
        part["Content-Disposition"] = disposition
        if filename:
            part.set_param("filename", filename, header="Content-Disposition")
        if cid:
            part["Content-ID"] = cid
        part["Content-Transfer-Encoding"] = "7bit" if source.isascii() else "8bit"
        part.set_payload(source.decode("ascii", "surrogateescape"))
        return part
    if ctype == "message/rfc822":
        ctype = "application/octet-stream"
    maintype, subtype = ctype.split("/")
    part.set_content(
        att.content,
        maintype,
        subtype,
        cte="base64",
        disposition=disposition,
        filename=filename,
        cid=cid,
        params={"name": filename} if filename else None,
    )
    return part


def _rfc822_source(content: bytes) -> bytes | None:
    """The message with CRLF line ends, or None when it cannot travel unencoded."""
    source = re.sub(rb"\r?\n|\r", b"\r\n", content)
    if b"\x00" in source or any(len(line) > _MAX_LINE for line in source.split(b"\r\n")):
        return None
    return source


# --------------------------------------------------------------------------- raw sources


def _header_end(raw: bytes) -> int:
    """Offset of the blank line ending the header section (len(raw) when there is none)."""
    pos = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        end = len(raw) if end < 0 else end + 1
        if raw[pos:end] in (b"\r\n", b"\n"):
            return pos
        pos = end
    return pos


def _fields(header: bytes) -> list[bytes]:
    """Header fields with their continuation lines and line ends, exactly as in the source."""
    fields: list[bytes] = []
    for line in re.split(rb"(?<=\n)", header):
        if not line:
            continue
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += line
        else:
            fields.append(line)
    return fields


def strip_bcc(raw: bytes) -> tuple[bytes, list[str]]:
    """The source without its Bcc header(s), every other byte unchanged, and the Bcc addresses."""
    end = _header_end(raw)
    kept: list[bytes] = []
    bcc: list[bytes] = []
    for field in _fields(raw[:end]):
        name, colon, _ = field.partition(b":")
        (bcc if colon and name.strip().lower() == b"bcc" else kept).append(field)
    if not bcc:
        return raw, []
    blind = b"".join(b"Bcc:" + f.partition(b":")[2].rstrip(b"\r\n") + b"\r\n" for f in bcc)
    addresses = [a.address for a in mime.parse(blind + b"\r\n").bcc if a.address]
    return b"".join(kept) + raw[end:], addresses


def envelope_of(raw: bytes) -> tuple[str | None, list[str]]:
    """SMTP envelope from the headers: sender from Sender or From, recipients To + Cc + Bcc."""
    parsed = mime.parse(raw[: _header_end(raw)] + b"\r\n")
    senders = [a.address for a in parsed.sender + parsed.from_ if a.address]
    recipients: dict[str, str] = {}
    for addr in parsed.to + parsed.cc + parsed.bcc:
        if addr.address:
            recipients.setdefault(addr.address.lower(), addr.address)
    return (senders[0] if senders else None), list(recipients.values())
