"""compose.build structures, encodings and header safety; strip_bcc and envelope_of on raw sources."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, Message
from typing import Any

import pytest

from app.mail import mime
from app.mail.compose import Attachment, build, envelope_of, strip_bcc

BINARY = bytes(range(256)) * 3 + b"\r\n\n\r end"  # every byte value and every kind of line end
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def shape(part: Message) -> Any:
    """The MIME tree as nested (type, [children]) / type strings."""
    if part.is_multipart():
        return (part.get_content_type(), [shape(p) for p in part.get_payload()])  # type: ignore[union-attr]
    return part.get_content_type()


def leaves(msg: Message) -> list[Message]:
    return [p for p in msg.walk() if not p.is_multipart()]


def basic(**kw: Any) -> bytes:
    return build(
        from_={"name": "Alice", "address": "alice@example.com"}, to=[{"address": "bob@example.org"}], **kw
    )


# --------------------------------------------------------------------------- structure


def test_text_only_is_a_single_text_part_with_crlf() -> None:
    raw = basic(subject="Hi", text="Hello\nworld")
    msg = parse(raw)
    assert shape(msg) == "text/plain"
    assert msg.get_content() == "Hello\r\nworld\r\n"  # the parser keeps the wire's CRLF
    assert b"\n" not in raw.replace(b"\r\n", b"")  # no bare LF anywhere
    assert msg["MIME-Version"] == "1.0" and msg["From"] == "Alice <alice@example.com>"
    assert "Bcc" not in msg


def test_html_only_gets_a_generated_text_alternative() -> None:
    msg = parse(basic(html="<p>Hello <b>there</b></p><ul><li>one</li></ul>"))
    assert shape(msg) == ("multipart/alternative", ["text/plain", "text/html"])
    plain, html = leaves(msg)
    assert "Hello there" in plain.get_content() and "- one" in plain.get_content()
    assert "<b>there</b>" in html.get_content()


def test_text_and_html_keep_the_given_text() -> None:
    msg = parse(basic(text="Plain version", html="<p>HTML version</p>"))
    assert shape(msg) == ("multipart/alternative", ["text/plain", "text/html"])
    assert leaves(msg)[0].get_content().strip() == "Plain version"


def test_cid_images_are_related_to_the_html() -> None:
    logo = Attachment(PNG, "logo.png", cid="logo@x")
    msg = parse(basic(html='<img src="cid:logo@x">', attachments=[logo]))
    assert shape(msg) == (
        "multipart/alternative",
        ["text/plain", ("multipart/related", ["text/html", "image/png"])],
    )
    image = leaves(msg)[-1]
    assert image["Content-ID"] == "<logo@x>" and image.get_content_disposition() == "inline"
    assert image.get_content() == PNG


def test_everything_together() -> None:
    atts = [Attachment(PNG, "logo.png", cid="logo"), Attachment(BINARY, "data.bin")]
    msg = parse(basic(text="t", html='<img src="cid:logo">', attachments=atts))
    assert shape(msg) == (
        "multipart/mixed",
        [
            ("multipart/alternative", ["text/plain", ("multipart/related", ["text/html", "image/png"])]),
            "application/octet-stream",
        ],
    )
    data = leaves(msg)[-1]
    assert data.get_content_disposition() == "attachment" and data.get_filename() == "data.bin"


def test_text_with_attachments_is_mixed() -> None:
    msg = parse(basic(text="see attached", attachments=[Attachment(b"%PDF-1.4 ...", "report.pdf")]))
    assert shape(msg) == ("multipart/mixed", ["text/plain", "application/pdf"])


def test_cid_without_html_still_travels_as_an_inline_part() -> None:
    msg = parse(basic(text="no html", attachments=[Attachment(PNG, "logo.png", cid="logo")]))
    assert shape(msg) == ("multipart/mixed", ["text/plain", "image/png"])
    assert leaves(msg)[-1]["Content-ID"] == "<logo>"


@pytest.mark.parametrize(
    ("filename", "given", "expected"),
    [
        ("report.pdf", None, "application/pdf"),
        ("photo.JPG", None, "image/jpeg"),
        ("archive.tar.gz", None, "application/octet-stream"),  # not application/x-tar
        ("noext", None, "application/octet-stream"),
        (None, None, "application/octet-stream"),
        ("notes.txt", "text/csv; charset=utf-8", "text/csv"),
    ],
)
def test_content_type_guessing(filename: str | None, given: str | None, expected: str) -> None:
    msg = parse(basic(text="x", attachments=[Attachment(b"content", filename, given)]))
    assert leaves(msg)[-1].get_content_type() == expected


def test_attachment_bytes_survive_exactly() -> None:
    atts = [
        Attachment(BINARY, "all-bytes.bin"),
        Attachment(b"line one\nline two\r\nline three\r", "mixed-endings.txt"),
        Attachment(b"", "empty.dat"),
    ]
    raw = basic(text="x", attachments=atts)
    parts = leaves(parse(raw))[1:]
    assert [p.get_payload(decode=True) for p in parts] == [a.content for a in atts]
    assert all(p["Content-Transfer-Encoding"] == "base64" for p in parts)
    # and as our own parser reads them for the API
    info = mime.parse(raw).attachments
    assert [mime.part_bytes(raw, i.part)[0] for i in info] == [a.content for a in atts]  # type: ignore[index]


def test_attached_message_is_sent_unencoded() -> None:
    original = b"From: carol@example.net\nSubject: the original\n\nna\xc3\xafve body\n.with a dot\n"
    raw = basic(text="forwarding", attachments=[Attachment(original, "original.eml")])
    msg = parse(raw)
    assert shape(msg) == ("multipart/mixed", ["text/plain", ("message/rfc822", ["text/plain"])])
    part = msg.get_payload()[1]  # type: ignore[index]
    assert part["Content-Transfer-Encoding"] == "8bit" and part.get_filename() == "original.eml"
    assert original.replace(b"\n", b"\r\n") in raw  # byte for byte, only line ends normalised
    assert mime.part_bytes(raw, "2") == (original.replace(b"\n", b"\r\n"), "message/rfc822", "original.eml")


def test_attached_message_with_overlong_lines_falls_back_to_base64() -> None:
    original = b"Subject: long\r\n\r\n" + b"x" * 1200 + b"\r\n"
    part = leaves(parse(basic(text="x", attachments=[Attachment(original, "long.eml")])))[-1]
    assert part.get_content_type() == "application/octet-stream" and part.get_content() == original


# --------------------------------------------------------------------------- encoding


def test_non_ascii_headers_and_filenames_round_trip() -> None:
    subject = "Grüße aus Köln — 東京からのお知らせ, mit einer sehr langen Betreffzeile, die umbrochen wird"
    raw = build(
        from_={"name": "Jürgen Müller, Jr.", "address": "juergen@example.com"},
        to=[{"name": 'Zoë "Z" O\'Brien', "address": "zoe@example.org"}, {"address": "plain@example.org"}],
        cc=[{"name": "Ωmega", "address": "omega@bücher.example"}],
        reply_to=[{"name": "Support", "address": "help@example.com"}],
        subject=subject,
        text="Grüße — ünïcödé text",
        attachments=[Attachment(b"data", "Ünïcödé Bericht — sehr langer Dateiname für den Test.pdf")],
    )
    assert raw.isascii()  # everything encoded: RFC 2047 headers, RFC 2231 filename, QP/base64 bodies
    msg = parse(raw)
    assert msg["Subject"] == subject
    sender = msg["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Jürgen Müller, Jr.", "juergen@example.com")
    assert [a.display_name for a in msg["To"].addresses] == ['Zoë "Z" O\'Brien', ""]
    assert msg["Cc"].addresses[0].addr_spec == "omega@xn--bcher-kva.example"  # IDNA domain
    assert msg["Reply-To"].addresses[0].addr_spec == "help@example.com"
    assert leaves(msg)[0].get_content().strip() == "Grüße — ünïcödé text"
    assert leaves(msg)[1].get_filename() == "Ünïcödé Bericht — sehr langer Dateiname für den Test.pdf"
    # our own parser agrees
    parsed = mime.parse(raw)
    assert parsed.subject == subject and parsed.from_[0].name == "Jürgen Müller, Jr."


def test_long_lines_are_folded_and_encoded() -> None:
    raw = basic(subject="word " * 40, text="x" * 500 + "\n" + "ä" * 300, headers={"X-Long": "token " * 40})
    head, _, body = raw.partition(b"\r\n\r\n")
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert all(len(line) <= 78 for line in body.split(b"\r\n"))
    assert parse(raw)["Subject"] == ("word " * 40).strip() or parse(raw)["Subject"] == "word " * 40
    assert parse(raw).get_content().replace("\r\n", "\n").startswith("x" * 500 + "\n" + "ä" * 300)


def test_threading_headers_keep_long_ids_intact() -> None:
    long_id = "<" + "a" * 90 + "@example.com>"
    refs = " ".join(f"<ref{i}.{'b' * 30}@example.com>" for i in range(5)) + " " + long_id
    raw = basic(text="x", in_reply_to=long_id, references=refs)
    assert b"=?" not in raw  # the stdlib would have turned the long id into encoded-words
    assert long_id.encode() in raw
    parsed = mime.parse(raw)
    assert parsed.in_reply_to == long_id and parsed.references == refs.split()


def test_message_id_and_date() -> None:
    msg = parse(basic(text="x", domain="example.com"))
    assert re.fullmatch(r"<[^<>@\s]+@example\.com>", msg["Message-ID"])
    assert parse(basic(text="x", message_id="abc@example.com"))["Message-ID"] == "<abc@example.com>"
    assert parse(basic(text="x", message_id=" <abc@example.com> "))["Message-ID"] == "<abc@example.com>"
    when = datetime(2025, 5, 14, 10, 22, 31, tzinfo=timezone(timedelta(hours=2)))
    assert parse(basic(text="x", date=when))["Date"].datetime == when
    naive = datetime(2025, 5, 14, 10, 22, 31)
    assert parse(basic(text="x", date=naive))["Date"].datetime == naive.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- header safety


def test_custom_headers_cannot_override_structure() -> None:
    headers = {
        "Subject": "overridden",
        "From": "evil@example.net",
        "To": "evil@example.net",
        "Bcc": "hidden@example.net",
        "Date": "Thu, 1 Jan 1970 00:00:00 +0000",
        "Message-ID": "<evil@x>",
        "MIME-Version": "2.0",
        "Content-Type": "text/html",
        "content-transfer-encoding": "8bit",
        "X-Mailer": "Mailgate test",
        "List-Unsubscribe": "<mailto:unsubscribe@example.com>",
    }
    raw = basic(subject="real", text="x", message_id="<real@x>", headers=headers)
    msg = parse(raw)
    assert msg["Subject"] == "real" and msg["Message-ID"] == "<real@x>"
    assert msg.get_all("From") == ["Alice <alice@example.com>"] and msg.get_all("To") == ["bob@example.org"]
    assert "Bcc" not in msg and b"hidden@example.net" not in raw and b"evil" not in raw
    assert msg.get_content_type() == "text/plain" and msg["MIME-Version"] == "1.0"
    assert (
        msg["X-Mailer"] == "Mailgate test" and msg["List-Unsubscribe"] == "<mailto:unsubscribe@example.com>"
    )


def test_custom_threading_headers_only_when_not_given() -> None:
    msg = parse(basic(text="x", headers={"In-Reply-To": "<custom@x>"}))
    assert msg["In-Reply-To"] == "<custom@x>"
    msg = parse(basic(text="x", in_reply_to="<param@x>", headers={"In-Reply-To": "<custom@x>"}))
    assert msg.get_all("In-Reply-To") == ["<param@x>"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"subject": "Hello\r\nBcc: victim@example.net"},
        {"subject": "Hello\nX-Injected: 1"},
        {"subject": "Hello\u2028there"},
        {"headers": {"X-Custom": "value\r\nBcc: victim@example.net"}},
        {"headers": {"X-Custom": "value\rmore"}},
        {"headers": {"X-Bad\r\nBcc": "x"}},
        {"headers": {"X Space": "x"}},
        {"headers": {"X-Colon:": "x"}},
        {"headers": {"": "x"}},
        {"to": [{"name": "Bob\r\nBcc: victim@example.net", "address": "bob@example.org"}]},
        {"cc": [{"address": "bob@example.org\r\nBcc: victim@example.net"}]},
        {"to": [{"address": "not an address"}]},
        {"message_id": "<id@x>\r\nBcc: victim@example.net"},
        {"in_reply_to": "<a@x>\nBcc: victim@example.net"},
        {"attachments": [Attachment(b"x", "a.txt\r\nContent-Type: text/html")]},
        {"attachments": [Attachment(b"x", "a.txt", "text/plain\r\nX: y")]},
        {"attachments": [Attachment(b"x", "a.txt", cid="c\r\nX: y")]},
        {"attachments": [Attachment(b"x", "a.txt", disposition="attachment\r\nX: y")]},
    ],
)
def test_header_injection_is_rejected(kwargs: dict[str, Any]) -> None:
    kwargs.setdefault("text", "x")
    with pytest.raises(ValueError) as info:
        build(from_={"address": "alice@example.com"}, **kwargs)
    assert str(info.value)  # a message the API can show


def test_name_without_address_is_kept_and_empty_entries_skipped() -> None:
    msg = parse(build(from_={"name": "Drafts only"}, to=[{}, {"address": "bob@example.org"}], text="x"))
    assert msg["From"] == "Drafts only <>" and msg["To"] == "bob@example.org"


# --------------------------------------------------------------------------- raw sources


def test_strip_bcc_removes_only_the_bcc_fields() -> None:
    head = (
        b"From: Alice <alice@example.com>\r\n"
        b"To: bob@example.org\r\n"
        b"BCC: Hidden One <hidden1@example.net>,\r\n"
        b"\thidden2@example.net\r\n"
        b"Subject: folded\r\n"
        b" subject line\r\n"
        b"bcc :hidden3@example.net\r\n"
        b"X-Bcc-Note: not a bcc header\r\n"
    )
    body = b"\r\nBcc: this line is body text, keep it\r\n"
    raw = head + body
    stripped, blind = strip_bcc(raw)
    expected = (
        b"From: Alice <alice@example.com>\r\n"
        b"To: bob@example.org\r\n"
        b"Subject: folded\r\n"
        b" subject line\r\n"
        b"X-Bcc-Note: not a bcc header\r\n"
    ) + body
    assert stripped == expected
    assert blind == ["hidden1@example.net", "hidden2@example.net", "hidden3@example.net"]


def test_strip_bcc_keeps_lf_sources_and_untouched_sources() -> None:
    raw = b"From: a@example.com\nBcc: b@example.com\nSubject: x\n\nbody\n"
    assert strip_bcc(raw) == (b"From: a@example.com\nSubject: x\n\nbody\n", ["b@example.com"])
    plain = basic(text="no bcc here")
    assert strip_bcc(plain) == (plain, [])
    assert strip_bcc(b"Bcc: only@example.com") == (b"", ["only@example.com"])


def test_envelope_of() -> None:
    raw = (
        b"From: Alice <alice@example.com>\r\n"
        b"Sender: Bot <bot@example.com>\r\n"
        b"To: Bob <bob@example.org>, team: carol@example.org, dave@example.org;\r\n"
        b"Cc: =?utf-8?q?B=C3=B6b?= <BOB@example.org>, erin@example.org\r\n"
        b"Bcc: frank@example.org\r\n\r\nTo: body@example.org\r\n"
    )
    assert envelope_of(raw) == (
        "bot@example.com",
        ["bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org", "frank@example.org"],
    )
    assert envelope_of(b"From: alice@example.com\r\nTo: bob@example.org\r\n\r\nx") == (
        "alice@example.com",
        ["bob@example.org"],
    )
    assert envelope_of(b"Subject: nothing\r\n\r\n") == (None, [])
