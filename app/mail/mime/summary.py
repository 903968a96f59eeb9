"""What a message holds, from its structure alone: which parts are the body text and which are
attachments, numbered the way IMAP numbers them.

The same code classifies a server's BODYSTRUCTURE (to index without downloading) and the
structure of a parsed source, so a part number from the index addresses the same part in a
download.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.mail.encoding import filename_of
from app.mail.types import BodyPart

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


# --------------------------------------------------------------------------- classification


def summarize(body: BodyPart) -> Summary:
    """Body text parts and attachments from BODYSTRUCTURE alone, to index without downloading.

    Part numbers are recomputed from the tree's shape (IMAP numbering is purely structural), so
    the result matches :func:`parse` even if a server or parser labels the root differently.
    """
    summary = Summary()
    _walk(summary, body, "" if is_multipart(body) else "1", False, 0)
    return summary


def is_multipart(node: BodyPart) -> bool:
    return node.type.lower() == "multipart"


def child_number(prefix: str, index: int) -> str:
    return f"{prefix}.{index}" if prefix else str(index)


def _walk(summary: Summary, node: BodyPart, number: str, related: bool, depth: int) -> None:
    if is_multipart(node):
        if depth >= MAX_DEPTH:
            return
        related = related or node.subtype.lower() == "related"
        for i, child in enumerate(node.parts, 1):
            _walk(summary, child, child_number(number, i), related, depth + 1)
        return
    ctype = f"{node.type.lower()}/{node.subtype.lower()}"
    disposition = (node.disposition or "").lower()
    filename = filename_of(node)
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


def _strip_angle(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    return value or None
