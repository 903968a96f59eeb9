"""reference.prepare: recipients, subjects, threading headers and quoting for replies and forwards."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from typing import Any

import pytest

from app.mail import compose, mime
from app.mail.compose import Attachment
from app.mail.reference import prepare, sanitize_html

ME = "me@example.com"
WHEN = datetime(2025, 5, 14, 10, 22, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(100))
PDF = b"%PDF-1.4\n" + bytes(range(256))


def original(**kw: Any) -> bytes:
    fields: dict[str, Any] = {
        "from_": {"name": "Ann Example", "address": "ann@example.org"},
        "to": [{"address": ME}, {"name": "Bob", "address": "bob@example.org"}],
        "cc": [{"address": "ME@Example.com"}, {"name": "Carol", "address": "carol@example.org"}],
        "subject": "Plans",
        "text": "Hello there\n> an older quote\n\nBye",
        "message_id": "<m3@example.org>",
        "in_reply_to": "<m2@example.org>",
        "references": "<m1@example.org> <m2@example.org>",
        "date": WHEN,
    }
    fields.update(kw)
    return compose.build(**fields)


def addresses(entries: list[dict[str, str]]) -> list[str]:
    return [e["address"] for e in entries]


# --------------------------------------------------------------------------- reply


def test_reply_goes_to_the_sender_and_threads() -> None:
    p = prepare(original(), "reply", inline=False, own_addresses={ME})
    assert p.to == [{"name": "Ann Example", "address": "ann@example.org"}] and p.cc == []
    assert p.subject == "Re: Plans"
    assert p.in_reply_to == "<m3@example.org>"
    assert p.references == "<m1@example.org> <m2@example.org> <m3@example.org>"
    assert p.text_suffix is None and p.html_suffix is None and p.attachments == []


def test_reply_prefers_reply_to() -> None:
    raw = original(reply_to=[{"name": "List", "address": "list@example.org"}])
    assert prepare(raw, "reply", inline=False, own_addresses={ME}).to == [
        {"name": "List", "address": "list@example.org"}
    ]


def test_reply_all_adds_to_and_cc_without_me_or_duplicates() -> None:
    raw = original(to=[{"address": ME}, {"address": "bob@example.org"}, {"address": "ANN@example.org"}])
    p = prepare(raw, "reply-all", inline=False, own_addresses={ME})
    assert addresses(p.to) == ["ann@example.org", "bob@example.org"]
    assert addresses(p.cc) == ["carol@example.org"]  # ME@Example.com dropped case-insensitively


def test_reply_all_puts_no_one_twice_across_to_and_cc() -> None:
    raw = original(cc=[{"address": "bob@example.org"}, {"address": "dave@example.org"}])
    p = prepare(raw, "reply-all", inline=False, own_addresses={"ME@EXAMPLE.COM"})
    assert addresses(p.to) == ["ann@example.org", "bob@example.org"]
    assert addresses(p.cc) == ["dave@example.org"]


def test_replying_to_my_own_message_goes_to_its_recipients() -> None:
    raw = original(from_={"address": ME}, to=[{"address": "bob@example.org"}])
    assert addresses(prepare(raw, "reply", inline=False, own_addresses={ME}).to) == ["bob@example.org"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Plans", "Re: Plans"),
        ("Re: Plans", "Re: Plans"),
        ("RE: Plans", "RE: Plans"),
        ("re:Plans", "re:Plans"),
        ("Aw: Pläne", "Aw: Pläne"),
        ("SV: Planer", "SV: Planer"),
        ("Re[2]: Plans", "Re[2]: Plans"),
        ("Fwd: Plans", "Re: Fwd: Plans"),
        ("Regarding plans", "Re: Regarding plans"),
        ("", "Re:"),
    ],
)
def test_reply_subject_does_not_stack(subject: str, expected: str) -> None:
    assert prepare(original(subject=subject), "reply", inline=False, own_addresses={ME}).subject == expected


def test_references_fall_back_to_in_reply_to_and_tolerate_missing_ids() -> None:
    raw = b"From: ann@example.org\r\nIn-Reply-To: <m2@example.org>\r\nMessage-ID: <m3@example.org>\r\n\r\nx"
    p = prepare(raw, "reply", inline=False, own_addresses={ME})
    assert p.references == "<m2@example.org> <m3@example.org>"
    bare = prepare(
        b"From: ann@example.org\r\nSubject: hi\r\n\r\nx", "reply", inline=False, own_addresses=set()
    )
    assert bare.in_reply_to is None and bare.references is None and bare.subject == "Re: hi"


def test_inline_reply_quotes_the_text() -> None:
    p = prepare(original(), "reply", inline=True, own_addresses={ME})
    assert p.text_suffix == (
        "On Wed, 14 May 2025 at 10:22, Ann Example <ann@example.org> wrote:\n"
        "> Hello there\n"
        ">> an older quote\n"
        ">\n"
        "> Bye\n"
    )
    assert p.html_suffix is not None
    assert '<blockquote type="cite"' in p.html_suffix
    assert "Ann Example &lt;ann@example.org&gt; wrote:" in p.html_suffix
    assert "Hello there<br>" in p.html_suffix and "&gt; an older quote" in p.html_suffix  # escaped text


def test_inline_reply_sanitises_the_original_html() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>t</title></head>"
        '<body onload="steal()"><p onclick="x()" class="k">Hi <b>there</b></p>'
        "<script>alert(1)</script>"
        '<a href="java\tscript:alert(1)" title="a&quot;b">link</a>'
        '<img src="cid:logo" onerror="x()">'
        "</blockquote></div></blockquote><div>unclosed"
        "<iframe src='https://evil.example'>inner</iframe>"
    )
    raw = original(html=html, attachments=[Attachment(PNG, "logo.png", cid="logo"), Attachment(PDF, "a.pdf")])
    p = prepare(raw, "reply", inline=True, own_addresses={ME})
    quoted = p.html_suffix or ""
    dropped = [
        "<script",
        "alert",
        "<style",
        "color:red",
        "onclick",
        "onload",
        "onerror",
        "javascript",
        "iframe",
    ]
    assert [bad for bad in dropped if bad in quoted.lower()] == []
    assert '<p class="k">Hi <b>there</b></p>' in quoted
    assert 'title="a&quot;b"' in quoted and '<img src="cid:logo">' in quoted
    # stray closing tags in the original cannot end our quote early
    assert quoted.count("<blockquote") == quoted.count("</blockquote>") == 1
    assert quoted.rstrip().replace("\n</div>", "</div>").endswith("unclosed</div></blockquote></div>")
    # the quoted HTML shows the embedded image, so it comes along; the PDF does not
    assert [(a.filename, a.cid, a.content) for a in p.attachments] == [("logo.png", "logo", PNG)]


def test_sanitize_escapes_text_and_keeps_structure() -> None:
    assert sanitize_html("<p>1 &lt; 2 &amp; <i>ok</i></p>") == "<p>1 &lt; 2 &amp; <i>ok</i></p>"
    assert sanitize_html('<a href="https://example.com/?a=1&amp;b=2">x</a>') == (
        '<a href="https://example.com/?a=1&amp;b=2">x</a>'
    )
    assert sanitize_html("<br/><hr><ul><li>a<li>b</ul>") == "<br><hr><ul><li>a<li>b</li></li></ul>"


# --------------------------------------------------------------------------- forward


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Plans", "Fwd: Plans"), ("Fwd: Plans", "Fwd: Plans"), ("FW: Plans", "FW: Plans"),
     ("WG: Pläne", "WG: Pläne"), ("Re: Plans", "Fwd: Re: Plans")],
)  # fmt: skip
def test_forward_subject(subject: str, expected: str) -> None:
    assert prepare(original(subject=subject), "forward", inline=True, own_addresses={ME}).subject == expected


def test_forward_as_attachment() -> None:
    raw = original(attachments=[Attachment(PDF, "a.pdf")])
    p = prepare(raw, "forward", inline=False, own_addresses={ME})
    assert p.to == [] and p.cc == [] and p.in_reply_to is None
    assert p.references == "<m1@example.org> <m2@example.org> <m3@example.org>"
    assert p.text_suffix is None and p.html_suffix is None
    (eml,) = p.attachments
    assert (eml.filename, eml.content_type, eml.content) == ("Plans.eml", "message/rfc822", raw)
    # built into a message, the original travels intact and opens as a message
    sent = compose.build(from_={"address": ME}, to=[{"address": "x@example.net"}], subject=p.subject,
                         text="FYI", attachments=p.attachments, references=p.references)  # fmt: skip
    msg = email.message_from_bytes(sent, policy=policy.default)
    attached = next(iter(msg.iter_attachments()))
    assert attached.get_content_type() == "message/rfc822"
    assert attached.get_content()["Subject"] == "Plans"
    info = mime.parse(sent).attachments
    assert mime.part_bytes(sent, info[0].part) == (raw, "message/rfc822", "Plans.eml")


def test_inline_forward_has_the_header_block_and_keeps_attachments() -> None:
    raw = original(
        html='<p>Hello <img src="cid:logo"></p>',
        attachments=[Attachment(PNG, "logo.png", cid="logo"), Attachment(PDF, "Bericht über.pdf")],
    )
    p = prepare(raw, "forward", inline=True, own_addresses={ME})
    assert p.text_suffix == (
        "---------- Forwarded message ---------\n"
        "From: Ann Example <ann@example.org>\n"
        "Date: Wed, 14 May 2025 at 10:22\n"
        "Subject: Plans\n"
        "To: me@example.com, Bob <bob@example.org>\n"
        "Cc: ME@Example.com, Carol <carol@example.org>\n"
        "\n"
        "Hello there\n> an older quote\n\nBye\n"
    )
    assert p.html_suffix is not None and "---------- Forwarded message ---------" in p.html_suffix
    assert '<blockquote type="cite"' in p.html_suffix and '<img src="cid:logo">' in p.html_suffix
    got = [(a.filename, a.content_type, a.cid, a.disposition, a.content) for a in p.attachments]
    assert got == [
        ("logo.png", "image/png", "logo", "inline", PNG),
        ("Bericht über.pdf", "application/pdf", None, "attachment", PDF),
    ]
    # rebuilt with the user's HTML, the image is related to the HTML again
    sent = compose.build(
        from_={"address": ME}, html="<p>see below</p>" + p.html_suffix, attachments=p.attachments
    )
    kinds = [part.get_content_type() for part in email.message_from_bytes(sent, policy=policy.default).walk()]
    assert kinds == ["multipart/mixed", "multipart/alternative", "text/plain", "multipart/related",
                     "text/html", "image/png", "application/pdf"]  # fmt: skip


def test_reply_headers_in_a_built_message() -> None:
    p = prepare(original(), "reply-all", inline=True, own_addresses={ME})
    sent = compose.build(
        from_={"address": ME}, to=p.to, cc=p.cc, subject=p.subject, text=f"Sounds good\n\n{p.text_suffix}",
        in_reply_to=p.in_reply_to, references=p.references,
    )  # fmt: skip
    parsed = mime.parse(sent)
    assert parsed.in_reply_to == "<m3@example.org>"
    assert parsed.references == ["<m1@example.org>", "<m2@example.org>", "<m3@example.org>"]
    assert parsed.subject == "Re: Plans" and [a.address for a in parsed.cc] == ["carol@example.org"]
    assert parsed.text is not None and "> Hello there" in parsed.text
