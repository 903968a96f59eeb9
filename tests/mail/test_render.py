"""Template rendering, tracked links and DSN parameters, without any server."""

from __future__ import annotations

import pytest

from app.mail import dsn, links, render
from app.mail.render import Content, TemplateError, compile_content


def test_handlebars_blocks_escaping_and_triple_stash() -> None:
    renderer = compile_content(
        Content(
            subject="Hi {{user.name}}",
            text="{{#each items}}{{@index}}:{{this}} {{/each}}{{#unless vip}}basic{{/unless}}",
            html="{{#with user}}<b>{{name}}</b>{{/with}}{{{raw}}}{{#if vip}}VIP{{else}}no{{/if}}",
        )
    )
    out = renderer({"user": {"name": "A & <B>"}, "items": ["x", "y"], "vip": False, "raw": "<hr>"})
    assert out.subject == "Hi A & <B>"  # not HTML: not escaped
    assert out.text == "0:x 1:y basic"
    assert out.html == "<b>A &amp; &lt;B&gt;</b><hr>no"


def test_subject_placeholder_cannot_break_the_header() -> None:
    out = compile_content(Content(subject="Hello {{name}}"))({"name": "x\r\nBcc: victim@example.com"})
    assert out.subject == "Hello x Bcc: victim@example.com"


@pytest.mark.parametrize(
    ("content", "part"),
    [
        (Content(subject="{{#if a}}never closed"), "subject"),
        (Content(html="<p>{{/each}}</p>"), "html"),
        (Content(preview_text="{{#each}}"), "previewText"),
    ],
)
def test_errors_name_the_part(content: Content, part: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_content(content)
    assert caught.value.part == part and caught.value.problem


def test_markdown_and_preview_text() -> None:
    out = compile_content(Content(html="# Hi {{n}}"), markdown_html=True)({"n": "*you*"})
    assert out.html == "<h1>Hi <em>you</em></h1>\n"
    placed = render.with_preview("<html><body class='a'><p>x</p></body></html>", "Soon <now>")
    assert placed.startswith("<html><body class='a'><div style=\"display:none")
    assert "Soon &lt;now&gt;</div><p>x</p>" in placed
    assert render.with_preview("<p>x</p>", "P").endswith("P</div><p>x</p>")


def test_links_are_rewritten_only_where_they_are_links() -> None:
    source = (
        '<a class=x href="https://a.example/?q=1&amp;r=2">a</a>\n'
        '<!-- <a href="https://comment.example/"> -->'
        "<A HREF='http://b.example/'>b</A><a href=\"mailto:m@example.com\">m</a>"
        '<script>var s = \'<a href="https://script.example/">\';</script><p title="href=https://t.example/">p</p>'
    )
    seen: list[str] = []

    def redirect(url: str) -> str:
        seen.append(url)
        return f"https://mg.example/c?u={len(seen)}&k=1"

    out = links.rewrite_links(source, redirect)
    assert seen == ["https://a.example/?q=1&r=2", "http://b.example/"]
    assert '<a class=x href="https://mg.example/c?u=1&amp;k=1">a</a>' in out
    assert '<A HREF="https://mg.example/c?u=2&amp;k=1">b</A>' in out
    for untouched in ("comment.example", "mailto:m@example.com", "script.example", "t.example"):
        assert untouched in out


def test_pixel_goes_before_the_end_of_the_body() -> None:
    assert links.add_pixel("<body><p>x</p></BODY>", "https://p/?a=1&b").startswith(
        '<body><p>x</p><img src="https://p/?a=1&amp;b"'
    )
    assert links.add_pixel("<p>x</p>", "https://p/").startswith("<p>x</p><img ")


def test_dsn_parameters() -> None:
    mail, rcpt = dsn.options(
        {"id": "env+1=2", "return": "headers", "notify": ["success", "failure"], "recipient": "ü@example.com"}
    )
    assert mail == ["RET=HDRS", "ENVID=env+2B1+3D2"]
    assert rcpt == ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;+C3+BC@example.com"]
    assert dsn.options({}) == ([], [])
