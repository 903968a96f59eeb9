"""Single sections of a message, as a server sends them (``BODY[HEADER]``, ``BODY[n.MIME]``,
``BODY[n]``), decoded exactly as :func:`~app.mail.mime.parse` decodes the same part of the whole
source: a part's own header and body put back together are parsed by the same code, so the
charset, transfer encoding, format=flowed and file name rules cannot drift apart."""

from __future__ import annotations

from app.mail.encoding import decode_transfer, filename_of
from app.mail.mime.headers import header_first, parse_params
from app.mail.mime.tree import Tree, parse_bytes


def is_multipart_header(header: bytes) -> bool | None:
    """Whether a message header announces a multipart body; None when it names multipart without
    a boundary (the whole-source parse then reads the body as text, a server may not)."""
    ctype, params = parse_params(header_first(parse_bytes(header), "content-type"))
    if not ctype.startswith("multipart/"):
        return False
    return True if params.get("boundary") else None


def section_text(mime_header: bytes, body: bytes) -> str:
    """A text part's body text from its MIME header and its (still encoded) body."""
    return Tree(_joined(mime_header, body)).text("1")


def part_info(mime_header: bytes) -> tuple[str, str | None, str | None]:
    """(content type, file name, transfer encoding) a part's MIME header declares."""
    found = Tree(_joined(mime_header, b"")).find("1")
    if found is None:
        return "application/octet-stream", None, None
    node, _ = found
    return f"{node.type}/{node.subtype}", filename_of(node), node.encoding


def section_content(mime_header: bytes, body: bytes) -> tuple[bytes, str, str | None]:
    """(decoded content, content type, file name) of one non-multipart part, for downloads. An
    attached message is given as its source, as :func:`~app.mail.mime.part_bytes` gives it."""
    ctype, filename, encoding = part_info(mime_header)
    if ctype in ("message/rfc822", "message/global"):
        return Tree(_joined(mime_header, body)).content("1"), ctype, filename
    return decode_transfer(body, encoding), ctype, filename


def _joined(mime_header: bytes, body: bytes) -> bytes:
    """A part's header and body as one source; the header section a server sends ends with its
    blank line, but a part without any header may come back empty."""
    if not mime_header.strip():
        return b"\r\n" + body
    if not mime_header.endswith((b"\r\n\r\n", b"\n\n")):
        mime_header += b"\r\n" if mime_header.endswith(b"\n") else b"\r\n\r\n"
    return mime_header + body
