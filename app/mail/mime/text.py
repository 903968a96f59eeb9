"""Body text for people: RFC 3676 format=flowed joined, HTML turned into readable plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser


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
