"""A full RFC 822 source decoded for the API, and single parts of it for downloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.mail.encoding import filename_of
from app.mail.mime.headers import addresses, decoded_headers, msg_ids, parse_date, raw_headers
from app.mail.mime.summary import AttachmentInfo, is_multipart, summarize
from app.mail.mime.tree import Tree
from app.mail.types import Address, BodyPart


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


def parse(raw: bytes) -> ParsedMessage:
    """Decode a full RFC 822 source; malformed input degrades to best effort, never an error."""
    tree = Tree(raw)
    headers = decoded_headers(tree.root)
    summary = summarize(tree.body)
    texts = [tree.text(number) for number in summary.text.plain]
    htmls = [tree.text(number) for number in summary.text.html]

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    source = raw_headers(tree.root)
    message_ids = msg_ids(" ".join(source.get("message-id", [])[:1]))
    in_reply_to = msg_ids(" ".join(source.get("in-reply-to", [])[:1]))
    references = msg_ids(" ".join(source.get("references", [])))
    return ParsedMessage(
        headers=headers,
        subject=first("subject"),
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=list(dict.fromkeys(references)),
        date=parse_date(first("date")),
        from_=addresses(source.get("from", [])),
        sender=addresses(source.get("sender", [])),
        to=addresses(source.get("to", [])),
        cc=addresses(source.get("cc", [])),
        bcc=addresses(source.get("bcc", [])),
        reply_to=addresses(source.get("reply-to", [])),
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
    tree = Tree(raw)
    found = tree.find(part.strip())
    if found is None:
        return None
    node, _ = found
    if is_multipart(node):
        return None
    return tree.content(part.strip()), f"{node.type}/{node.subtype}", filename_of(node)


def inline_images(raw: bytes) -> dict[str, tuple[bytes, str]]:
    """Every image part with a Content-ID, as {content id: (decoded bytes, content type)}: what
    ``cid:`` links in the message's HTML point at."""
    tree = Tree(raw)
    return {
        a.content_id: (tree.content(a.part), a.content_type)
        for a in summarize(tree.body).attachments
        if a.content_id and a.content_type.startswith("image/")
    }
