"""Rendering message content: Handlebars templates (as EmailEngine users write them), Markdown
bodies, and the hidden preview text ("preheader") placed at the top of the HTML.

Handlebars comes from ``dotpromptz-handlebars``: a maintained, dependency-free implementation
checked against Handlebars.js (``#if``/``#each``/``#with``/``#unless``, ``{{{raw}}}``, ``else``,
``@index``/``@first``/``@last``, ``../`` paths). HTML is escaped by default; subjects and text
bodies are not HTML, so they are rendered without escaping."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dotpromptz_handlebars import Handlebars
from markdown_it import MarkdownIt

__all__ = ["Content", "TemplateError", "compile_content", "markdown", "with_preview"]

_HTML = Handlebars()
_PLAIN = Handlebars(escape_html=False)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_MARKDOWN = MarkdownIt("commonmark", {"html": True, "linkify": False})


class TemplateError(ValueError):
    """A template that does not compile or render; ``part`` names where (subject, text, html)."""

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(f"{part}: {problem}")
        self.part = part
        self.problem = problem


@dataclass(frozen=True)
class Content:
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    preview_text: str | None = None


Renderer = Callable[[Mapping[str, Any]], Content]
_PARTS = (("subject", _PLAIN), ("text", _PLAIN), ("html", _HTML), ("preview_text", _PLAIN))


@lru_cache(maxsize=256)
def _compile(source: str, escape: bool, part: str) -> Callable[..., str]:
    engine = _HTML if escape else _PLAIN
    try:
        compiled: Callable[..., str] = engine.compile(source)
    except Exception as exc:  # whatever the engine raises on a bad template is the template's fault
        raise TemplateError(part, str(exc) or type(exc).__name__) from None
    return compiled


def compile_content(content: Content, *, markdown_html: bool = False) -> Renderer:
    """Compile every part once; the returned function renders them for one set of params (mail
    merge renders the same template a thousand times). Raises :class:`TemplateError`."""
    compiled: dict[str, Callable[..., str]] = {}
    for part, engine in _PARTS:
        source = getattr(content, part)
        if source is not None:
            compiled[part] = _compile(source, engine is _HTML, _label(part))

    def render(params: Mapping[str, Any]) -> Content:
        values: dict[str, str | None] = {}
        for part, template in compiled.items():
            try:
                values[part] = template(dict(params))
            except Exception as exc:  # as above: a 400 naming the part, never a 500
                raise TemplateError(_label(part), str(exc) or type(exc).__name__) from None
        html = values.get("html")
        if html is not None and markdown_html:
            html = markdown(html)
        subject = values.get("subject")
        if subject is not None:
            subject = " ".join(subject.split())  # a placeholder value must not break the header
        return Content(subject, values.get("text"), html, values.get("preview_text"))

    return render


def _label(part: str) -> str:
    return "previewText" if part == "preview_text" else part


def markdown(source: str) -> str:
    return str(_MARKDOWN.render(source))


def with_preview(html: str, preview: str) -> str:
    """The preview text as the first, hidden element of the body: clients show it in the list,
    readers of the message do not see it."""
    hidden = (
        '<div style="display:none;font-size:1px;color:transparent;line-height:1px;max-height:0;'
        'max-width:0;opacity:0;overflow:hidden;mso-hide:all">'
        f"{html_lib.escape(preview)}</div>"
    )
    found = _BODY_OPEN.search(html)
    if found is None:
        return hidden + html
    return html[: found.end()] + hidden + html[found.end() :]
