"""MIME summaries and parsing: numbering agrees with IMAP, and malformed mail never raises."""

from __future__ import annotations

import random
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from app.mail import imapparse
from app.mail.mime import (
    AttachmentInfo,
    decode_flowed,
    decode_text,
    decode_transfer,
    decode_words,
    html_to_text,
    parse,
    part_bytes,
    summarize,
)
from app.mail.types import Address, BodyPart

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8


def nested_message() -> EmailMessage:
    """mixed > [alternative > [plain, related > [html, image cid]], pdf]."""
    msg = EmailMessage()
    msg["From"] = "Jörg Müller <jorg@example.org>"
    msg["To"] = "Ann <ann@example.org>, bob@example.org"
    msg["Subject"] = "Grüße"
    msg["Message-ID"] = "<nested@example.org>"
    msg["Date"] = "Tue, 01 Jul 2025 10:00:00 +0200"
    msg.set_content("Hello plain\n")
    msg.add_alternative('<p>Hello <img src="cid:img1@example.org"></p>', subtype="html")
    html_part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    html_part.add_related(PNG, "image", "png", cid="<img1@example.org>", disposition="inline")
    msg.add_attachment(PDF, "application", "pdf", filename="Résumé 2025.pdf")
    return msg


def test_nested_multiparts_numbered_like_imap() -> None:
    raw = nested_message().as_bytes(policy=SMTP)
    parsed = parse(raw)
    assert parsed.subject == "Grüße"
    assert parsed.message_id == "<nested@example.org>"
    assert parsed.from_ == [Address("Jörg Müller", "jorg@example.org")]
    assert [a.address for a in parsed.to] == ["ann@example.org", "bob@example.org"]
    assert parsed.date is not None and parsed.date.utcoffset() is not None
    assert parsed.text == "Hello plain\n"
    assert parsed.html == '<p>Hello <img src="cid:img1@example.org"></p>\n'
    assert [(a.part, a.content_type) for a in parsed.attachments] == [
        ("1.2.2", "image/png"),
        ("2", "application/pdf"),
    ]
    image, pdf = parsed.attachments
    assert image.content_id == "img1@example.org" and image.embedded and image.inline
    assert pdf.filename == "Résumé 2025.pdf" and not pdf.inline and not pdf.embedded
    assert pdf.encoded_size > len(PDF)  # base64 grows it

    summary = summarize(parsed.body)
    assert summary.text.plain == ["1.1"] and summary.text.html == ["1.2.1"]
    assert summary.text.encoded_size["plain"] > 0 and summary.text.encoded_size["html"] > 0
    assert part_bytes(raw, "1.2.2") == (PNG, "image/png", None)
    assert part_bytes(raw, "2") == (PDF, "application/pdf", "Résumé 2025.pdf")
    assert part_bytes(raw, "1") is None  # a multipart
    assert part_bytes(raw, "7") is None


def test_rfc2231_and_rfc2047_filenames() -> None:
    raw = (
        b"From: a@example.org\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*0*=utf-8''%E2%82%AC%20rates;\r\n filename*1=\" 2025\";\r\n filename*2*=.pdf\r\n\r\nA\r\n"
        b"--XX\r\nContent-Type: application/octet-stream;\r\n"
        b' name="=?utf-8?B?0J/RgNC40LLQtdGC?= =?utf-8?Q?_=D0=BC=D0=B8=D1=80.txt?="\r\n\r\nB\r\n'
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=iso-8859-1'fr'caf%E9.txt\r\n\r\nC\r\n"
        # mixed RFC 2231 forms make the stdlib's decode_params raise TypeError
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''a.txt; filename*1=b;\r\n"
        b" filename=plain.txt\r\n\r\nD\r\n"
        b"--XX\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=x-bogus''caf%E9.txt\r\n\r\nE\r\n"
        b'--XX\r\nContent-Type: text/plain; name="notes;v2.txt"\r\n\r\nF\r\n'
        b"--XX--\r\n"
    )
    parsed = parse(raw)
    assert [a.filename for a in parsed.attachments] == [
        "€ rates 2025.pdf",
        "Привет мир.txt",
        "café.txt",
        "a.txtb",
        "café.txt",
        "notes;v2.txt",  # a text part with a name is an attachment
    ]
    assert parsed.text == "body"
    assert part_bytes(raw, "2") == (b"A", "application/octet-stream", "€ rates 2025.pdf")

    built = EmailMessage()
    built.set_content("x")
    built.add_attachment(b"data", "application", "octet-stream", filename="日本語 ファイル.txt")
    assert [a.filename for a in parse(built.as_bytes()).attachments] == ["日本語 ファイル.txt"]


@pytest.mark.parametrize(
    ("header", "structure", "expected"),
    [
        (
            "filename*0*=utf-8''%E2%82%AC; filename*1=\" x.pdf\"",
            '"FILENAME*0*" "utf-8\'\'%E2%82%AC" "FILENAME*1" " x.pdf"',
            "€ x.pdf",
        ),
        (
            'filename="=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="',
            '"filename" "=?utf-8?q?r=C3=A9sum=C3=A9.pdf?="',
            "résumé.pdf",
        ),
        # joined sections left encoded under the plain name (some servers and mailers do this)
        ("filename=\"utf-8''%E2%82%AC.txt\"", '"filename" "utf-8\'\'%E2%82%AC.txt"', "€.txt"),
        ("filename*=x-bogus''caf%E9.txt", '"filename*" "x-bogus\'\'caf%E9.txt"', "café.txt"),
        ('filename="  "; name=b.txt', '"filename" "  " "name" "b.txt"', None),  # blank is no name
    ],
)
def test_header_and_bodystructure_read_file_names_alike(
    header: str, structure: str, expected: str | None
) -> None:
    raw = (
        "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
        f"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; {header}\r\n\r\n"
        "A\r\n--XX--\r\n"
    ).encode()
    (from_source,) = parse(raw).attachments
    line = (
        '1 FETCH (BODYSTRUCTURE (("text" "plain" NIL NIL NIL "7bit" 4 1 NIL NIL NIL NIL)'
        f'("application" "octet-stream" NIL NIL NIL "7bit" 1 NIL ("attachment" ({structure})) NIL NIL) "mixed"))'
    ).encode()
    (fetched,) = imapparse.parse_fetch([line, b"Fetch completed."])
    assert fetched.body is not None
    assert from_source.filename == imapparse.filename_of(fetched.body.parts[1]) == expected


def test_attached_message_is_one_attachment_numbered_n_1() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Inner subject"
    inner["Message-ID"] = "<inner@example.org>"
    inner.set_content("inner text")
    inner.add_attachment(b"GIF89a", "image", "gif", filename="x.gif")
    outer = EmailMessage()
    outer["Subject"] = "Fwd"
    outer.set_content("outer text")
    outer.add_attachment(inner)
    single = EmailMessage()
    single["Subject"] = "single"
    single.set_content("single body")
    outer.add_attachment(single)
    raw = outer.as_bytes()

    parsed = parse(raw)
    assert parsed.text == "outer text\n"  # the attached message's text is not body text
    assert [(a.part, a.content_type) for a in parsed.attachments] == [
        ("2", "message/rfc822"),
        ("3", "message/rfc822"),
    ]
    attached = parsed.body.parts[1].message
    assert attached is not None and [p.part for p in attached.parts] == ["2.1", "2.2"]
    assert part_bytes(raw, "2.1") == (b"inner text\n", "text/plain", None)
    assert part_bytes(raw, "2.2") == (b"GIF89a", "image/gif", "x.gif")
    assert part_bytes(raw, "3.1") == (b"single body\n", "text/plain", None)
    got = part_bytes(raw, "2")
    assert got is not None and got[1] == "message/rfc822"
    reparsed = parse(got[0])
    assert reparsed.subject == "Inner subject" and reparsed.message_id == "<inner@example.org>"
    assert reparsed.attachments[0].filename == "x.gif"


def test_base64_encoded_attached_message_is_decoded() -> None:
    import base64

    inner = b"Subject: hidden\r\nContent-Type: text/plain\r\n\r\nsecret text\r\n"
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner)
        + b"--b--\r\n"
    )
    assert part_bytes(raw, "2.1") == (b"secret text\r\n", "text/plain", None)
    got = part_bytes(raw, "2")
    assert got is not None and parse(got[0]).subject == "hidden"


def test_eight_bit_headers() -> None:
    raw = (
        b"From: \xe9milie <emilie@example.org>\r\n"  # Latin-1
        b"To: \xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd <ivan@example.org>\r\n"  # UTF-8
        b"Subject: Caf\xc3\xa9 =?utf-8?q?cr=C3=A8me?=\r\n"
        b"  br\xc3\xbbl\xc3\xa9e\r\n"
        b"X-Long: a\r\n\tb\r\n"
        b"\r\nbody\r\n"
    )
    parsed = parse(raw)
    assert parsed.subject == "Café crème  brûlée"
    assert parsed.from_ == [Address("émilie", "emilie@example.org")]
    assert parsed.to == [Address("Иван", "ivan@example.org")]
    assert parsed.headers["x-long"] == ["a\tb"]
    assert parsed.text == "body\r\n".replace("\r\n", "\n")


def test_broken_and_unknown_charsets() -> None:
    raw = (
        b"Subject: =?x-bogus?q?caf=E9?= =?utf-8?b?!!w6k=?=\r\n"
        b"Content-Type: multipart/alternative; boundary=b\r\n\r\n"
        b'--b\r\nContent-Type: text/plain; charset="x-bogus"\r\n\r\ncaf\xe9\r\n'
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>caf\xc3\xa9 \xff\xfe ok</p>\r\n"
        b"--b--\r\n"
    )
    parsed = parse(raw)
    assert parsed.subject == "caféé"  # whitespace between encoded words goes
    assert parsed.text == "café"
    assert parsed.html == "<p>café \ufffd\ufffd ok</p>"


def test_missing_closing_boundary_and_bad_encodings() -> None:
    raw = (
        b"Message-ID:\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"soft=\r\nbreak =C3=A9 bad=ZZ =\r\n"
        b"--b\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"aGVsbG8g\r\n d29y*bGQ\r\n"  # garbage and no padding, and no closing boundary
    )
    parsed = parse(raw)
    assert parsed.message_id is None
    assert parsed.text == "softbreak é bad=ZZ "
    assert [a.part for a in parsed.attachments] == ["2"]
    assert part_bytes(raw, "2") == (b"hello world", "application/octet-stream", "a.bin")


def test_no_message_id_and_threading_headers() -> None:
    parsed = parse(b"Subject: x\r\n\r\nbody")
    assert parsed.message_id is None and parsed.in_reply_to is None and parsed.references == []
    parsed = parse(
        b"Message-ID: < odd@example.org >\r\nIn-Reply-To: Bob's message <p1@example.org>\r\n"
        b"References: <p0@example.org>\r\n <p1@example.org> <p0@example.org>\r\nDate: garbage\r\n\r\n"
    )
    assert parsed.message_id == "<odd@example.org>"
    assert parsed.in_reply_to == "<p1@example.org>"
    assert parsed.references == ["<p0@example.org>", "<p1@example.org>"]
    assert parsed.date is None


def test_single_part_html_is_part_1() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGI+aGk8L2I+\r\n"
    )
    parsed = parse(raw)
    assert parsed.html == "<b>hi</b>" and parsed.text is None and parsed.attachments == []
    assert parsed.body.part == "1"
    assert part_bytes(raw, "1") == (b"<b>hi</b>", "text/html", None)
    # a server's tree for the same message, with the root numbered "" as some parsers do
    tree = BodyPart("text", "html", "", params={"charset": "utf-8"}, encoding="base64", size=14)
    summary = summarize(tree)
    assert summary.text.html == ["1"] and summary.text.encoded_size == {"plain": 0, "html": 14}


def test_single_part_attachment_message() -> None:
    raw = (
        b"Content-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n"
    )
    parsed = parse(raw)
    assert parsed.text is None and parsed.html is None
    assert [(a.part, a.filename) for a in parsed.attachments] == [("1", "x.pdf")]
    assert part_bytes(raw, "1") == (b"%PDF", "application/pdf", "x.pdf")


def test_calendar_invite() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Invitation"
    msg.set_content("You are invited")
    msg.add_alternative("<p>You are invited</p>", subtype="html")
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    msg.add_alternative(ics, subtype="calendar", params={"method": "REQUEST"})
    msg.add_attachment(ics.encode(), "application", "ics", filename="invite.ics")
    raw = msg.as_bytes()
    parsed = parse(raw)
    assert parsed.text == "You are invited\n" and parsed.html == "<p>You are invited</p>\n"
    cal, ics_file = parsed.attachments
    assert (cal.part, cal.content_type, cal.method, cal.filename) == ("1.3", "text/calendar", "REQUEST", None)
    assert (ics_file.part, ics_file.method, ics_file.filename) == ("2", None, "invite.ics")
    content = part_bytes(raw, "1.3")
    assert content is not None and b"METHOD:REQUEST" in content[0]


def test_multipart_without_boundary_keeps_its_text() -> None:
    raw = b"Content-Type: multipart/alternative\r\n\r\nplain words\r\n"
    parsed = parse(raw)
    assert parsed.text == "plain words\n" and parsed.body.part == "1"
    raw = b"Content-Type: multipart/mixed; boundary=nope\r\n\r\nno boundary here\r\n"
    assert parse(raw).text == "no boundary here\n"


def test_delivery_report() -> None:
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n"
        b"--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed\r\n"
        b"--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; x@example.org\r\n"
        b"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: original\r\n"
        b"--r--\r\n"
    )
    parsed = parse(raw)
    assert parsed.text == "Delivery failed"
    assert [(a.part, a.content_type) for a in parsed.attachments] == [
        ("2", "message/delivery-status"),
        ("3", "text/rfc822-headers"),
    ]
    got = part_bytes(raw, "2")
    assert got is not None and b"Final-Recipient: rfc822; x@example.org" in got[0]


def test_addresses() -> None:
    parsed = parse(
        b'From: "=?utf-8?q?Doe=2C_John?=" <john@example.org>\r\n'
        b"To: Team: a@example.org, =?utf-8?q?B=C3=A9a?= <b@example.org>;, c@example.org\r\n"
        b"Cc: undisclosed-recipients:;\r\nBcc: <<>>, garbage\r\n"
        b"Reply-To: =?utf-8?b?w6k=?= <reply@example.org>\r\n\r\n"
    )
    assert parsed.from_ == [Address("Doe, John", "john@example.org")]
    assert parsed.to == [
        Address(None, "a@example.org"),
        Address("Béa", "b@example.org"),
        Address(None, "c@example.org"),
    ]
    assert parsed.cc == [] and parsed.reply_to == [Address("é", "reply@example.org")]
    assert all(a.address for a in parsed.bcc)


def test_deep_nesting_does_not_raise() -> None:
    head = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(300)
    )
    parsed = parse(head + b"Content-Type: text/plain\r\n\r\ndeep\r\n")
    assert parsed.text is None  # beyond MAX_DEPTH: dropped, as servers do
    shallow = parse(head[: head.index(b"--b5\r\n") + 6] + b"Content-Type: text/plain\r\n\r\ndeep\r\n")
    assert shallow.text == "deep" and summarize(shallow.body).text.plain == ["1.1.1.1.1.1"]


# --------------------------------------------------------------------------- consistency


def test_summarize_from_bodystructure_agrees_with_parse() -> None:
    """A BODYSTRUCTURE as a server returns it for nested_message(): same numbers, same bytes."""
    raw = nested_message().as_bytes(policy=SMTP)
    tree = BodyPart(
        "multipart",
        "mixed",
        "",
        params={"boundary": "x"},
        parts=[
            BodyPart(
                "multipart",
                "alternative",
                "1",
                parts=[
                    BodyPart("text", "plain", "1.1", params={"charset": "utf-8"}, encoding="7bit", size=13),
                    BodyPart(
                        "multipart",
                        "related",
                        "1.2",
                        parts=[
                            BodyPart("text", "html", "1.2.1", params={"charset": "utf-8"}, size=47),
                            BodyPart(
                                "image",
                                "png",
                                "1.2.2",
                                id="<img1@example.org>",
                                encoding="base64",
                                size=1400,
                                disposition="inline",
                            ),
                        ],
                    ),
                ],
            ),
            BodyPart(
                "application",
                "pdf",
                "2",
                encoding="base64",
                size=2800,
                disposition="attachment",
                disposition_params={"filename": "Résumé 2025.pdf"},
            ),
        ],
    )
    from_server = summarize(tree)
    parsed = parse(raw)
    from_source = summarize(parsed.body)
    assert from_server.text.plain == from_source.text.plain == ["1.1"]
    assert from_server.text.html == from_source.text.html == ["1.2.1"]

    def key(a: AttachmentInfo) -> tuple[object, ...]:
        return (a.part, a.content_type, a.filename, a.content_id, a.inline, a.embedded, a.method)

    assert [key(a) for a in from_server.attachments] == [key(a) for a in parsed.attachments]
    expected = {"1.2.2": PNG, "2": PDF}
    for info in from_server.attachments:
        got = part_bytes(raw, info.part)
        assert got is not None
        assert got == (expected[info.part], info.content_type, info.filename)


def test_summarize_attached_message_tree() -> None:
    tree = BodyPart(
        "multipart",
        "mixed",
        "",
        parts=[
            BodyPart("text", "plain", "1", size=10),
            BodyPart(
                "message",
                "rfc822",
                "2",
                size=500,
                message=BodyPart(
                    "multipart",
                    "alternative",
                    "2",
                    parts=[BodyPart("text", "plain", "2.1"), BodyPart("text", "html", "2.2")],
                ),
            ),
            BodyPart("text", "plain", "3", disposition="attachment", size=5),
            BodyPart("text", "html", "4", disposition="inline", size=7),
        ],
    )
    summary = summarize(tree)
    assert summary.text.plain == ["1"] and summary.text.html == ["4"]
    assert summary.text.encoded_size == {"plain": 10, "html": 7}
    assert [(a.part, a.content_type, a.encoded_size) for a in summary.attachments] == [
        ("2", "message/rfc822", 500),
        ("3", "text/plain", 5),
    ]


# --------------------------------------------------------------------------- fuzz


def fuzz_source() -> bytes:
    msg = nested_message()
    msg["Cc"] = "=?utf-8?q?Z=C3=BC?= <z@example.org>"
    inner = EmailMessage()
    inner["Subject"] = "=?iso-8859-1?q?caf=E9?="
    inner.set_content("inner")
    msg.add_attachment(inner)
    msg.add_attachment(b"x" * 100, "text", "calendar", params={"method": "request"})
    return msg.as_bytes(policy=SMTP)


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip bytes
            for _ in range(rng.randint(1, 20)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif op == 1:  # truncate
            del buf[pos:]
        elif op == 2:  # delete a chunk
            del buf[pos : pos + rng.randint(1, 400)]
        elif op == 3:  # duplicate a chunk elsewhere
            chunk = buf[pos : pos + rng.randint(1, 400)]
            at = rng.randrange(len(buf) + 1)
            buf[at:at] = chunk
        elif op == 4:  # insert hostile tokens
            token = rng.choice(
                [
                    b"\r\n--",
                    b"=?utf-8?b?",
                    b"?=",
                    b"; filename*0*=x''%",
                    b"boundary=",
                    b"\r\n\r\n",
                    b"Content-Type: message/rfc822\r\n",
                    b"Content-Transfer-Encoding: base64\r\n",
                    b'charset="x-\xff"',
                    b"\x00",
                    b"\r\nContent-Type: multipart/mixed; boundary=\r\n",
                ]
            )
            buf[pos:pos] = token
        elif op == 5:  # random bytes
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        elif buf:  # swap line endings
            buf = bytearray(bytes(buf).replace(b"\r\n", b"\n") if rng.random() < 0.5 else bytes(buf))
    return bytes(buf)


def test_fuzzed_messages_never_raise() -> None:
    rng = random.Random(20250701)
    source = fuzz_source()
    assert len(parse(source).attachments) == 4
    for _ in range(200):
        data = mutate(rng, source)
        parsed = parse(data)
        assert summarize(parsed.body).attachments == parsed.attachments
        for info in parsed.attachments[:3]:
            part_bytes(data, info.part)
        if parsed.html:
            html_to_text(parsed.html)


# --------------------------------------------------------------------------- helpers


def test_decode_transfer() -> None:
    assert decode_transfer(b"aGVsbG8", "base64") == b"hello"
    assert decode_transfer(b"aGVs\r\nbG8=\r\n", "BASE64") == b"hello"
    assert decode_transfer(b"aGV$$sbG8=garbage!", "base64").startswith(b"hello")
    assert decode_transfer(b"YQ==Yg==", "base64") == b"ab"  # separately padded chunks
    assert decode_transfer(b"YWJjZ", "base64") == b"abc"  # dangling character dropped
    assert decode_transfer(b"a=3Db=\r\nc =E9", "quoted-printable") == b"a=bc \xe9"
    assert decode_transfer(b"begin 644 a\n#86)C\n`\nend\n", "x-uuencode") == b"abc"
    for enc in (None, "7bit", "8bit", "binary", "x-unknown"):
        assert decode_transfer(b"raw \xff", enc) == b"raw \xff"


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("héllo".encode(), "utf8", "héllo"),
        (b"+AOk-t+AOk-", "unicode-1-1-utf-7", "été"),
        ("héllo".encode(), "x-unknown", "héllo"),
        (b"h\xe9llo", "x-unknown", "héllo"),
        ("שלום".encode("iso-8859-8"), "iso-8859-8-i", "שלום"),
        ("한국어".encode("cp949"), "ks_c_5601-1987", "한국어"),
        ("中文".encode("gb18030"), "gb2312", "中文"),
        ("日本".encode("cp932"), "Shift_JIS", "日本"),
        (b"\x93quoted\x94", "iso-8859-1", "\u201cquoted\u201d"),
        (b"caf\xe9", '"x-bogus"', "café"),
        (b"caf\xe9", "utf-8", "café"),  # mislabelled Latin-1
        ("café".encode() + b" \xff", "utf-8", "café \ufffd"),  # damaged UTF-8
        ("café".encode(), "iso-8859-1", "café"),  # mislabelled UTF-8
        (b"\xef\xbb\xbfbom", None, "bom"),
        (b"plain", "rot13", "plain"),  # not a text codec
        (b"\\u0041", "unicode_escape", "\\u0041"),  # never interpret escapes
    ],
)
def test_decode_text(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_text(data, charset) == expected


def test_decode_words() -> None:
    assert decode_words("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab"  # whitespace between words dropped
    assert decode_words("x =?utf-8?q?a?= y") == "x a y"
    assert decode_words("=?utf-8?b?4oI?= =?utf-8?b?rA==?=") == "€"  # character split across words
    assert decode_words("=?UTF-8*en?Q?hi_there?=") == "hi there"
    assert decode_words("=?x-bogus?q?caf=E9?=") == "café"
    assert decode_words("not =?encoded") == "not =?encoded"


def test_decode_flowed() -> None:
    text = "Hello \nworld\n> quoted \n> more\n>> deep\n \nstuffed\n-- \nsig"
    assert decode_flowed(text) == "Hello world\n> quoted more\n>> deep\n\nstuffed\n-- \nsig"
    assert decode_flowed("abc \ndef", delsp=True) == "abcdef"


def test_html_to_text() -> None:
    html = """<html><head><title>T</title><style>p{color:red}</style></head><body>
    <div style="display: none">preheader</div>
    <h1>Hello&nbsp;there</h1><p>First   para with <a href="https://x.org/a">a link</a> &amp; <b>bold</b>.
    <br>Next line</p>
    <ul><li>one</li><li>two<ol><li>sub a</li><li>sub b</li></ol></li></ul>
    <blockquote><p>quoted</p><p>more</p></blockquote>
    <table><tr><td>Name</td><td>Value</td></tr></table>
    <pre>  code
   block</pre>
    <p><a href="mailto:j@x.org">j@x.org</a> <a href="#top">top</a></p>
    <script>alert(1)</script>end</body></html>"""
    assert html_to_text(html) == (
        "Hello there\n\n"
        "First para with a link (https://x.org/a) & bold.\nNext line\n\n"
        "- one\n- two\n  1. sub a\n  2. sub b\n\n"
        "> quoted\n>\n> more\n\n"
        "Name Value\n\n"
        "  code\n   block\n\n"
        "j@x.org top\n\nend"
    )
    assert html_to_text("") == ""
    assert html_to_text("<p>unclosed <b>tags <div>and &bogus; &lt;") == "unclosed tags\nand &bogus; <"
