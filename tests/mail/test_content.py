"""Safe HTML, inlined cid: images, auto-reply detection and a message's special use."""

from __future__ import annotations

import base64

import pytest

from app.mail import content
from app.schemas.messages import SearchCriteria
from app.services import search


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"auto-submitted": ["auto-replied"]}, True),
        ({"auto-submitted": ["auto-generated"]}, True),
        ({"auto-submitted": ["No"]}, False),
        ({"x-autoreply": ["yes"]}, True),
        ({"x-autorespond": ["Out of office"]}, True),
        ({"precedence": ["auto_reply"]}, True),
        ({"precedence": ["bulk"]}, False),
        ({"subject": ["Automatic reply: hi"]}, False),
        ({}, False),
    ],
)
def test_auto_reply(headers: dict[str, list[str]], expected: bool) -> None:
    assert content.is_auto_reply(headers) is expected


def test_web_safe_html_keeps_layout_and_drops_active_content() -> None:
    dirty = (
        '<table width="100%" cellpadding="2"><tr><td bgcolor="#fff" onmouseover="x()">cell</td></tr></table>'
        '<iframe src="https://evil"></iframe><form action="/x"><input name="p"></form>'
        '<a href="data:text/html;base64,PHNjcmlwdD4=">d</a><a href="https://ok.example/">ok</a>'
        '<img src="data:image/svg+xml;base64,PHN2Zz4=">'
        '<img src="data:image/gif;base64,R0lGOD">'
    )
    clean = content.web_safe_html(dirty)
    assert 'width="100%"' in clean and 'cellpadding="2"' in clean and 'bgcolor="#fff"' in clean
    for bad in ("onmouseover", "<iframe", "<form", "<input", "data:text/html", "svg+xml"):
        assert bad not in clean, bad
    assert 'href="https://ok.example/"' in clean and 'rel="noopener noreferrer nofollow"' in clean
    assert 'src="data:image/gif;base64,R0lGOD"' in clean


def test_embed_images_replaces_only_known_content_ids() -> None:
    html = '<img src="cid:Logo%40x"><img src="cid:unknown@x"><div style="background:url(cid:logo@x)">'
    out = content.embed_images(html, {"logo@x": (b"\x01\x02", "image/png")})
    data = "data:image/png;base64," + base64.b64encode(b"\x01\x02").decode()
    assert out.count(data) == 2 and "cid:unknown@x" in out


@pytest.mark.parametrize(
    ("path", "use", "labels", "expected"),
    [
        ("INBOX", None, None, "\\Inbox"),
        ("Sent Items", "\\Sent", None, "\\Sent"),
        ("Archive", "\\Archive", None, None),
        ("[Gmail]/All Mail", "\\All", ["\\Important", "\\Sent"], "\\Sent"),
        ("[Gmail]/All Mail", "\\All", ["Work"], None),
    ],
)
def test_message_special_use(
    path: str, use: str | None, labels: list[str] | None, expected: str | None
) -> None:
    assert content.message_special_use(path, use, labels) == expected


def test_search_keys_for_the_new_criteria() -> None:
    c = SearchCriteria.model_validate(
        {
            "emailIds": ["a", "b", "c"],
            "seq": "1:5",
            "modseq": 7,
            "labels": {"has": ["Work"], "not": ["\\Spam"]},
        }
    )
    assert search.imap_criteria(c) == [
        "OR", "EMAILID", "a", "OR", "EMAILID", "b", "EMAILID", "c", "1:5", "MODSEQ", "7",
        "X-GM-LABELS", '"Work"', "NOT", "X-GM-LABELS", '"\\\\Spam"',
    ]  # fmt: skip
    assert search.needs_server(c) and search.gmail_only(c) == ["labels"]
    index_only = SearchCriteria.model_validate({"emailIds": ["a"], "modseq": 3})
    assert not search.needs_server(index_only) and len(search.index_conditions(index_only)) == 2
