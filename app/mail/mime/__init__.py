"""MIME: index summaries from BODYSTRUCTURE, defensive parsing of full sources, text helpers.

Both :func:`summarize` (fed the server's BODYSTRUCTURE) and :func:`parse` (fed the raw source)
classify parts with the same code over the same :class:`~app.mail.types.BodyPart` shape, and
number parts the way IMAP does, so a part number taken from the index addresses the same part in
a download. Nothing here raises on malformed mail: real mailboxes are full of it, and one bad
message must not stop a sync. Charsets, transfer encodings and encoded words are read by
:mod:`app.mail.encoding`, the same code the IMAP parser uses.
"""

from app.mail.encoding import decode_text, decode_transfer, decode_words
from app.mail.mime.headers import parse_date
from app.mail.mime.message import ParsedMessage, inline_images, parse, part_bytes
from app.mail.mime.sections import is_multipart_header, part_info, section_content, section_text
from app.mail.mime.summary import AttachmentInfo, Summary, TextParts, summarize
from app.mail.mime.text import decode_flowed, html_to_text

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
    "inline_images",
    "is_multipart_header",
    "parse",
    "parse_date",
    "part_bytes",
    "part_info",
    "section_content",
    "section_text",
    "summarize",
]
