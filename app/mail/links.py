"""Rewriting an HTML body for tracking: web links through a redirect, an open pixel at the end.

The source is changed only where a link's ``href`` stands (found with the stdlib HTML parser,
so links in comments, scripts or attribute values are left alone); everything else stays
byte for byte as written."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from html.parser import HTMLParser

__all__ = ["add_pixel", "rewrite_links"]

_TRACKABLE = re.compile(r"^\s*https?://", re.IGNORECASE)
_HREF = re.compile(r"""(\shref\s*=\s*)("[^"]*"|'[^']*'|[^\s"'=<>`]+)""", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


class _Links(HTMLParser):
    """Collects (offset, start tag source) of every ``<a href="http(s)://…">``."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", source)]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = next((v for k, v in attrs if k == "href"), None)
        raw = self.get_starttag_text()
        if href is not None and raw is not None and _TRACKABLE.match(href):
            line, column = self.getpos()
            self.found.append((self._line_starts[line - 1] + column, raw))

    handle_startendtag = handle_starttag


def rewrite_links(source: str, redirect: Callable[[str], str]) -> str:
    """Every web link's target replaced by ``redirect(target)``."""
    parser = _Links(source)
    parser.feed(source)
    parser.close()
    out: list[str] = []
    last = 0
    for offset, tag in parser.found:
        if source[offset : offset + len(tag)] != tag:  # the parser's position is off: leave it
            continue
        match = _HREF.search(tag)
        if match is None:
            continue
        target = html_lib.unescape(match.group(2).strip("\"'")).strip()
        new_tag = tag[: match.start(2)] + f'"{html_lib.escape(redirect(target))}"' + tag[match.end(2) :]
        out += [source[last:offset], new_tag]
        last = offset + len(tag)
    out.append(source[last:])
    return "".join(out)


def add_pixel(source: str, url: str) -> str:
    """A 1x1 image before ``</body>`` (or at the end): loading it is counted as an open."""
    pixel = (
        f'<img src="{html_lib.escape(url)}" width="1" height="1" alt="" '
        'style="border:0;width:1px;height:1px">'
    )
    matches = list(_BODY_CLOSE.finditer(source))
    if not matches:
        return source + pixel
    at = matches[-1].start()
    return source[:at] + pixel + source[at:]
