"""Replying to and forwarding a stored message: recipients, subject, threading headers, quoted text.

The caller appends ``text_suffix``/``html_suffix`` to the user's own text and HTML and passes the
rest to :func:`app.mail.compose.build`.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Literal

from app.mail import mime
from app.mail.compose import Attachment
from app.mail.types import Address

__all__ = ["Prepared", "prepare", "sanitize_html"]

Action = Literal["reply", "reply-all", "forward"]

_COUNTER = r"\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]"  # fullwidth colon in CJK clients
# Prefixes clients put in front of a subject, in several languages; matching one means "already there".
_REPLIED = re.compile(r"^\s*(?:re|aw|sv|antw|odp|ref|rif|res|ynt|atb|回复|答复|回覆)" + _COUNTER, re.I)
_FORWARDED = re.compile(r"^\s*(?:fwd?|wg|tr|rv|enc|doorst|vs|vl|転送|转发|轉寄)" + _COUNTER, re.I)
_MAX_REFERENCES = 50  # long threads: keep the root and the most recent ids
_QUOTE_STYLE = "margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex"


@dataclass
class Prepared:
    to: list[dict[str, str]]
    cc: list[dict[str, str]]
    subject: str
    in_reply_to: str | None
    references: str | None
    text_suffix: str | None  # quoted original to append (after a blank line) to the user's text
    html_suffix: str | None  # ... and to the user's HTML
    attachments: list[Attachment] = field(default_factory=list)


def prepare(original: bytes, action: Action, *, inline: bool, own_addresses: set[str]) -> Prepared:
    parsed = mime.parse(original)
    own = {a.lower() for a in own_addresses}
    refs = parsed.references or ([parsed.in_reply_to] if parsed.in_reply_to else [])
    if parsed.message_id:
        refs = [r for r in refs if r != parsed.message_id] + [parsed.message_id]
    if len(refs) > _MAX_REFERENCES:
        refs = refs[:1] + refs[-(_MAX_REFERENCES - 1) :]
    references = " ".join(refs) or None
    subject = (parsed.subject or "").strip()

    if action == "forward":
        prepared = Prepared([], [], _prefixed("Fwd", _FORWARDED, subject), None, references, None, None)
        if inline:
            prepared.text_suffix, prepared.html_suffix = _forward_quote(parsed)
            prepared.attachments = _attachments(original, parsed, embedded_only=False)
        else:
            prepared.attachments = [
                Attachment(original, _eml_name(subject), "message/rfc822", disposition="attachment")
            ]
        return prepared

    to, cc = _reply_recipients(parsed, own, everyone=action == "reply-all")
    prepared = Prepared(to, cc, _prefixed("Re", _REPLIED, subject), parsed.message_id, references, None, None)
    if inline:
        prepared.text_suffix, prepared.html_suffix = _reply_quote(parsed)
        prepared.attachments = _attachments(original, parsed, embedded_only=True)
    return prepared


def _prefixed(prefix: str, already: re.Pattern[str], subject: str) -> str:
    return subject if already.match(subject) else f"{prefix}: {subject}".rstrip()


def _reply_recipients(
    parsed: mime.ParsedMessage, own: set[str], everyone: bool
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    def foreign(addrs: Iterable[Address]) -> list[Address]:
        return [a for a in addrs if a.address and a.address.lower() not in own]

    primary = foreign(parsed.reply_to or parsed.from_)
    if not primary:  # our own message: reply to whom it was sent to, as mail clients do
        primary = foreign(parsed.to) or [a for a in parsed.reply_to or parsed.from_ if a.address]
    seen: set[str] = set()
    to = _unique(primary, seen)
    if not everyone:
        return to, []
    return to + _unique(foreign(parsed.to), seen), _unique(foreign(parsed.cc), seen)


def _unique(addrs: Iterable[Address], seen: set[str]) -> list[dict[str, str]]:
    out = []
    for a in addrs:
        if a.address and a.address.lower() not in seen:
            seen.add(a.address.lower())
            out.append({"name": a.name, "address": a.address} if a.name else {"address": a.address})
    return out


def _attachments(original: bytes, parsed: mime.ParsedMessage, embedded_only: bool) -> list[Attachment]:
    """The original's attachments; a reply keeps only the images its quoted HTML shows."""
    out = []
    for info in parsed.attachments:
        if embedded_only and not (info.embedded and parsed.html):
            continue
        got = mime.part_bytes(original, info.part)
        if got is None:
            continue
        content, ctype, filename = got
        cid = info.content_id if info.embedded else None
        disposition = "inline" if info.inline else "attachment"
        out.append(Attachment(content, filename, ctype.lower(), cid, disposition))
    return out


def _eml_name(subject: str) -> str:
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", subject)
    return (" ".join(name.split())[:100].strip(" .") or "message") + ".eml"


# --------------------------------------------------------------------------- quoting


def _who(addr: Address) -> str:
    return f"{addr.name} <{addr.address}>" if addr.name else addr.address or ""


def _when(date: datetime | None) -> str:
    return f"{date:%a}, {date.day} {date:%b} {date:%Y} at {date:%H:%M}" if date else ""


def _original_text(parsed: mime.ParsedMessage) -> str:
    text = parsed.text if parsed.text is not None else mime.html_to_text(parsed.html or "")
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def _quoted_html(parsed: mime.ParsedMessage) -> str:
    if parsed.html:
        body = sanitize_html(parsed.html)
    else:
        body = htmllib.escape(_original_text(parsed)).replace("\n", "<br>\n")
    return f'<blockquote type="cite" style="{_QUOTE_STYLE}">{body}</blockquote>'


def _reply_quote(parsed: mime.ParsedMessage) -> tuple[str, str]:
    who = _who(parsed.from_[0]) if parsed.from_ else "someone"
    when = _when(parsed.date)
    attribution = f"On {when}, {who} wrote:" if when else f"{who} wrote:"
    lines = _original_text(parsed).split("\n")
    quoted = "\n".join(">" + line if line.startswith(">") else f"> {line}".rstrip() for line in lines)
    text = f"{attribution}\n{quoted}\n"
    html = (
        f'<br><div class="mailgate_quote"><div>{htmllib.escape(attribution)}<br></div>'
        f"{_quoted_html(parsed)}</div>"
    )
    return text, html


def _forward_quote(parsed: mime.ParsedMessage) -> tuple[str, str]:
    rows = [
        ("From", ", ".join(_who(a) for a in parsed.from_)),
        ("Date", _when(parsed.date)),
        ("Subject", parsed.subject or ""),
        ("To", ", ".join(_who(a) for a in parsed.to)),
        ("Cc", ", ".join(_who(a) for a in parsed.cc)),
    ]
    rows = [(k, v) for k, v in rows if v]
    head = "---------- Forwarded message ---------"
    text = "\n".join([head, *(f"{k}: {v}" for k, v in rows)]) + f"\n\n{_original_text(parsed)}\n"
    block = "<br>".join([head, *(f"{k}: {htmllib.escape(v)}" for k, v in rows)])
    html = f'<br><div class="mailgate_quote"><div>{block}<br></div><br>{_quoted_html(parsed)}</div>'
    return text, html


# --------------------------------------------------------------------------- HTML sanitising

_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "head", "title", "template", "iframe", "frame", "frameset", "object", "embed"}
    | {"applet"}
)
_DROP_TAG = frozenset({"html", "body", "meta", "link", "base", "form", "noscript"})
_VOID = frozenset(
    {"area", "br", "col", "hr", "img", "input", "source", "track", "wbr", "meta", "link", "base", "embed"}
)
_URL_ATTRS = frozenset(
    {"href", "src", "action", "formaction", "background", "poster", "xlink:href", "lowsrc"}
)
_BAD_URL = re.compile(r"^(?:javascript|vbscript|data:text/html)", re.I)
_BAD_STYLE = re.compile(r"expression|javascript:|behavior:|-moz-binding", re.I)
_NAME = re.compile(r"[a-z][a-z0-9_:.-]*")


class _Sanitizer(HTMLParser):
    """Re-emits the HTML without scripts, styles, frames and event handlers, and with every opened
    element closed, so the quoted original cannot end our blockquote or run code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        if self.skip:
            if tag == self.skip[0] and not closed:
                self.skip.append(tag)
            return
        if tag in _DROP_WITH_CONTENT:
            if not closed and tag not in _VOID:
                self.skip.append(tag)
            return
        if tag in _DROP_TAG or not _NAME.fullmatch(tag):
            return
        kept = []
        for name, value in attrs:
            squeezed = re.sub(r"[\x00-\x20]+", "", value or "")
            if (
                not _NAME.fullmatch(name)
                or name.startswith("on")
                or name == "srcdoc"
                or (name in _URL_ATTRS and _BAD_URL.match(squeezed))
                or (name == "style" and _BAD_STYLE.search(squeezed))
            ):
                continue
            kept.append(f' {name}="{htmllib.escape(value or "", quote=True)}"')
        self.out.append(f"<{tag}{''.join(kept)}>")
        if tag not in _VOID and not closed:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag == self.skip[0]:
                self.skip.pop()
            return
        if tag in self.open:  # close what is still open inside it; ignore strays
            while self.open:
                last = self.open.pop()
                self.out.append(f"</{last}>")
                if last == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(htmllib.escape(data, quote=False))

    def result(self) -> str:
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def sanitize_html(source: str) -> str:
    parser = _Sanitizer()
    try:
        parser.feed(source)
        parser.close()
    except Exception:  # html.parser is lenient; this guards against the unforeseen
        return htmllib.escape(mime.html_to_text(source)).replace("\n", "<br>\n")
    return parser.result()
