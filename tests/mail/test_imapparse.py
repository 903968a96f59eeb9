"""app.mail.imapparse on recorded responses, in the exact shapes aioimaplib 2.0.3 returns them:
``bytes`` lines without the leading ``* ``, ``bytearray`` literals after the line ending in ``{N}``,
and the tagged completion text last."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.mail import imapparse as ip
from app.mail.imapparse import ImapParseError, SectionKey
from app.mail.types import Address, BodyPart, Envelope, FetchedMessage

PDT = timezone(timedelta(hours=-7))

# --------------------------------------------------------------------------------------- fixtures

# Dovecot 2.3.19, recorded: the subject is sent as a literal (it contains '"'), the PREVIEW text has
# unbalanced parens inside a quoted string, so aioimaplib's paren counter thinks the first FETCH is
# unfinished and the next line keeps its "* " prefix.
DOVECOT_FETCH: list[bytes | bytearray] = [
    b'1 FETCH (UID 1 FLAGS (\\Recent) INTERNALDATE "21-Nov-2026 12:50:09 +0000" RFC822.SIZE 297 '
    b'MODSEQ (3) PREVIEW "hello ((( world" ENVELOPE (NIL {25}',
    bytearray(b'Re: hi :) "quoted" \\ back'),
    b' (("=?utf-8?q?J=C3=B6rg_M=C3=BCller?=" NIL "joerg" "example.com")) '
    b'(("=?utf-8?q?J=C3=B6rg_M=C3=BCller?=" NIL "joerg" "example.com")) '
    b'(("=?utf-8?q?J=C3=B6rg_M=C3=BCller?=" NIL "joerg" "example.com")) '
    b'((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL "<m1@example.com>") '
    b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 18 2 NIL NIL NIL NIL) '
    b"BODY[HEADER.FIELDS (REFERENCES)] {27}",
    bytearray(b"References: <a@x> <b@x>\r\n\r\n"),
    b")",
    b'* 2 FETCH (UID 2 FLAGS (\\Seen $Forwarded) INTERNALDATE "21-Nov-2026 12:50:09 +0000" '
    b'RFC822.SIZE 1859 MODSEQ (4) PREVIEW "plain" ENVELOPE ("" '
    b'"=?utf-8?b?R3LDvMOfZSDigqwgw5xidW5n?= xxxxxxxxxx" ((NIL NIL "a" "example.com")) '
    b'((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")) NIL NIL NIL NIL NIL) '
    b'BODYSTRUCTURE ((("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 7 1 NIL NIL NIL NIL)'
    b'("text" "html" ("charset" "utf-8") NIL NIL "7bit" 13 1 NIL NIL NIL NIL) "alternative" '
    b'("boundary" "===============7782337093446863396==") NIL NIL NIL)'
    b'("image" "png" NIL "<img1@x>" NIL "base64" 14 NIL ("inline" ("filename" "pic.png")) NIL NIL)'
    b'("application" "octet-stream" NIL NIL NIL "base64" 10 NIL ("attachment" ("filename*" '
    b"\"utf-8''%E2%82%ACuro%20na%C3%AFve.txt\")) NIL NIL)"
    b'("message" "rfc822" NIL NIL NIL "8bit" 488 (NIL "inner" ((NIL NIL "c" "d")) ((NIL NIL "c" "d")) '
    b'((NIL NIL "c" "d")) NIL NIL NIL NIL NIL) (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 12 1 '
    b'NIL NIL NIL NIL)("application" "pdf" NIL NIL NIL "base64" 6 NIL ("attachment" ("filename" "i.pdf")) '
    b'NIL NIL) "mixed" ("boundary" "===============2511526986967682340==") NIL NIL NIL) 20 NIL '
    b'("attachment" NIL) NIL NIL) "mixed" ("boundary" "===============4867919573551362775==") NIL NIL NIL) '
    b"BODY[HEADER.FIELDS (REFERENCES)] {2}",
    bytearray(b"\r\n"),
    b")",
    b"Fetch completed (0.001 + 0.000 secs).",
]

# RFC 3501 section 7.4.2's example, with CONDSTORE and OBJECTID items added
RFC_FETCH: list[bytes | bytearray] = [
    b'12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 '
    b'ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) '
    b'(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) '
    b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
    b'"<B27397-0100000@cac.washington.edu>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" '
    b"3028 92) UID 4827313 MODSEQ (624140003) EMAILID (M6d99ac3275bb4e) THREADID (T64b478a75b7ea9))",
    b"Fetch completed.",
]


def tokenize(lines: Iterable[ip.Line]) -> list[list[ip.Value]]:
    return [tokens for tokens, _ in ip.iter_responses(lines)]


def fetch_one(lines: list[bytes | bytearray]) -> FetchedMessage:
    messages = ip.parse_fetch(lines)
    assert len(messages) == 1
    return messages[0]


# -------------------------------------------------------------------------------------- tokenizer


def test_tokenize_atoms_numbers_quoted_nil_lists() -> None:
    assert tokenize([b'1 FETCH (FLAGS () UID 007 X "a (b" NIL "NIL" \\Seen 0 12)']) == [
        [1, "FETCH", ["FLAGS", [], "UID", "007", "X", "a (b", None, "NIL", "\\Seen", 0, 12]]
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'("a (b" "c)" ")(")', [["a (b", "c)", ")("]]),  # parens inside quoted strings
        (b'("x {5}" "{3}")', [["x {5}", "{3}"]]),  # literal-like text inside quoted strings
        (b'("say \\"hi\\"" "back\\\\slash")', [['say "hi"', "back\\slash"]]),  # escapes
        ('("Grüße €")'.encode(), [["Grüße €"]]),  # 8-bit UTF-8 in a quoted string
        (b'("Gr\xfc\xdfe")', [["Grüße"]]),  # not UTF-8: read as cp1252
        (
            b'("caf\xc3\xa9 \x93q\x94 \x81")',
            [["café “q” \x81"]],
        ),  # mixed; a byte cp1252 lacks reads as Latin-1
        (b"(() (()) NIL)", [[[], [[]], None]]),
        (b"NIL nil Nil", [None, None, None]),
        (b'A ""', ["A", ""]),
        (b"(1 2)(3)", [[1, 2], [3]]),
        (b"  spaced   (  out )  ", ["spaced", ["out"]]),
        (b'unterminated "quote', ["unterminated", '"', "quote"]),
        (b"too) many ) closers", ["too", "many", "closers"]),
        (b"(unclosed (lists", [["unclosed", ["lists"]]]),
    ],
)
def test_tokenize_shapes(line: bytes, expected: list[object]) -> None:
    assert tokenize([line]) == [expected]


def test_tokenize_literals_join_lines_and_keep_state() -> None:
    lines: list[bytes | bytearray] = [
        b"3 FETCH (BODY[] {14}",
        bytearray(b'a)\r\n(b {2}\r\n"c'),  # CRLF, parens, a {N} and a quote inside the literal
        b" UID 9 X {0}",
        bytearray(b""),
        b")",
        b"4 FETCH (UID 10)",
    ]
    assert tokenize(lines) == [
        [3, "FETCH", [SectionKey("BODY", "", None), b'a)\r\n(b {2}\r\n"c', "UID", 9, "X", b""]],
        [4, "FETCH", ["UID", 10]],
    ]


def test_tokenize_literal_plus_marker_and_section_keys() -> None:
    lines: list[bytes | bytearray] = [
        b"1 FETCH (BODY.PEEK[HEADER.FIELDS (REFERENCES)]<0> {3+}",
        bytearray(b"abc"),
        b' BINARY[1.2] "x" binary.size[1] 5 BODY[HEADER.FIELDS ("X-A" "X-B")] NIL)',
    ]
    assert tokenize(lines) == [
        [
            1,
            "FETCH",
            [
                SectionKey("BODY.PEEK", "HEADER.FIELDS (REFERENCES)", 0),
                b"abc",
                SectionKey("BINARY", "1.2", None),
                "x",
                SectionKey("BINARY.SIZE", "1", None),
                5,
                SectionKey("BODY", 'HEADER.FIELDS ("X-A" "X-B")', None),
                None,
            ],
        ]
    ]


def test_literal_ends_response_when_continuation_was_dropped() -> None:
    # "* LIST () "/" {5}\r\na(b)c\r\n": aioimaplib drops the empty line after the literal
    lines: list[bytes | bytearray] = [b'() "/" {5}', bytearray(b"a(b)c"), b'() "/" INBOX', b"done"]
    assert tokenize(lines) == [[[], "/", b"a(b)c"], [[], "/", "INBOX"], ["done"]]


def test_tokenize_accepts_str_and_skips_junk_items() -> None:
    assert tokenize(["* 5 EXISTS", 42, b"6 EXPUNGE"]) == [[5, "EXISTS"], [6, "EXPUNGE"]]  # type: ignore[list-item]


def _render(value: object) -> str:
    if value is None:
        return "NIL"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "(" + " ".join(_render(v) for v in value) + ")"
    assert isinstance(value, str)
    if value and all(c.isalnum() or c in "\\$.-:," for c in value) and value.upper() != "NIL":
        return value if not value.isdigit() else '"' + value + '"'
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _random_value(rng: random.Random, depth: int) -> object:
    kind = rng.random()
    if depth < 4 and kind < 0.25:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind < 0.4:
        return None
    if kind < 0.55:
        return rng.choice([0, 1, 42, 4294967295, 10**20])
    alphabet = 'ab ()"\\{}[]<>%=?*:,.-$\t~éü€😀0123456789NIL'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _as_text(value: object) -> object:
    """Literals (bytes) read as the strings they carry, to compare with quoted strings."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return value


def _quoted(data: bytes) -> str:
    return '"' + data.decode().replace("\\", "\\\\").replace('"', '\\"') + '"'


def _outside_quotes(text: str) -> list[bool]:
    """For each piece of ``text.split(" ")``: whether it starts outside a quoted string."""
    starts = [True]
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == " ":
            starts.append(not quoted)
    return starts


def test_tokenizer_reads_random_values_back_and_splices_literals() -> None:
    rng = random.Random(20240611)
    split = 0
    for _ in range(3000):
        value = [_random_value(rng, 0) for _ in range(rng.randint(1, 6))]
        text = " ".join(_render(v) for v in value)
        assert tokenize([text]) == [value] or "\t" in text, text
        # the same values with some strings sent as literals, and section keys sprinkled in
        lines: list[str | bytearray] = []
        joined: list[str] = []
        current: list[str] = []
        for outside, piece in zip(_outside_quotes(text), text.split(" "), strict=True):
            if outside and rng.random() < 0.05:
                current.append(rng.choice(["BODY[]", "BODY[1.2]<5>", "BODY.PEEK[HEADER.FIELDS (A B)]"]))
            if outside and rng.random() < 0.07:
                literal = rng.choice([b"abc", b"a(\r\n", b'"{1}'])
                lines += [" ".join([*current, f"{{{len(literal)}}}"]), bytearray(literal)]
                joined += [*current, _quoted(literal)]
                current = [""]
            current.append(piece)
        lines.append(" ".join(current))
        joined += current
        if len(lines) > 1:
            split += 1
            assert _as_text(tokenize(lines)) == tokenize([" ".join(joined)]), lines
    assert split > 1000  # literals really were spliced


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'("a\\"b")', [['a"b']]),
        (b"(a\tb)", [["a", "b"]]),
        (b"(a  b)", [["a", "b"]]),
        (b"X [CODE] y", ["X", "[CODE]", "y"]),
        (b"(a)b", [["a"], "b"]),
        (b'("x" "y\\q")', [["x", "yq"]]),
        (
            b'NIL"x" 5"y" 007 NIL] 5]',
            ["NIL", "x", "5", "y", "007", None, "]", 5, "]"],
        ),  # NIL/number need a delimiter
        (b"a{5} {3}", ["a{5}"]),  # a literal marker only counts at the end of a line
    ],
)
def test_tokenizer_unusual_spacing_escapes_and_delimiters(line: bytes, expected: list[object]) -> None:
    assert tokenize([line]) == [expected]


# ------------------------------------------------------------------------------------------ FETCH


def test_dovecot_fetch_with_literals_and_unfinished_fetch_prefix() -> None:
    first, second = ip.parse_fetch(DOVECOT_FETCH)
    assert (first.seq, first.uid, first.flags, first.modseq, first.size) == (1, 1, ["\\Recent"], 3, 297)
    assert first.internal_date == datetime(2026, 11, 21, 12, 50, 9, tzinfo=UTC)
    assert first.preview == "hello ((( world"
    env = first.envelope
    assert env is not None
    assert env.subject == 'Re: hi :) "quoted" \\ back'
    assert env.date is None
    assert env.from_ == [Address("Jörg Müller", "joerg@example.com")]
    assert env.to == []  # group syntax only
    assert env.message_id == "<m1@example.com>"
    assert first.sections == {"HEADER.FIELDS (REFERENCES)": b"References: <a@x> <b@x>\r\n\r\n"}
    assert first.body == BodyPart(
        "text", "plain", "1", {"charset": "utf-8"}, encoding="7bit", size=18, lines=2
    )

    assert (second.seq, second.uid, second.flags, second.modseq) == (2, 2, ["\\Seen", "$Forwarded"], 4)
    assert second.envelope is not None
    assert second.envelope.subject == "Grüße € Übung xxxxxxxxxx"
    assert second.envelope.date is None  # Dovecot sends "" for an unparsable Date header
    assert second.sections == {"HEADER.FIELDS (REFERENCES)": b"\r\n"}


def test_bodystructure_nested_alternative_inline_image_attachment_and_message() -> None:
    body = ip.parse_fetch(DOVECOT_FETCH)[1].body
    assert body is not None
    assert (body.type, body.subtype, body.part) == ("multipart", "mixed", "")
    assert body.params == {"boundary": "===============4867919573551362775=="}
    alternative, image, attachment, message = body.parts
    assert (alternative.subtype, alternative.part) == ("alternative", "1")
    assert [(p.type, p.subtype, p.part, p.lines) for p in alternative.parts] == [
        ("text", "plain", "1.1", 1),
        ("text", "html", "1.2", 1),
    ]
    assert (image.type, image.subtype, image.part, image.id) == ("image", "png", "2", "<img1@x>")
    assert (image.disposition, ip.filename_of(image), image.encoding, image.size) == (
        "inline",
        "pic.png",
        "base64",
        14,
    )
    assert attachment.part == "3" and attachment.disposition == "attachment"
    assert attachment.disposition_params == {"filename": "€uro naïve.txt"}
    assert ip.filename_of(attachment) == "€uro naïve.txt"
    assert (message.type, message.subtype, message.part, message.lines) == ("message", "rfc822", "4", 20)
    assert message.disposition == "attachment" and message.disposition_params == {}
    inner = message.message
    assert inner is not None
    assert (inner.type, inner.subtype, inner.part) == ("multipart", "mixed", "4")
    assert [(p.subtype, p.part) for p in inner.parts] == [("plain", "4.1"), ("pdf", "4.2")]
    assert ip.filename_of(inner.parts[1]) == "i.pdf"


def test_message_rfc822_with_single_part_body_and_nested_message() -> None:
    line = (
        b'1 FETCH (UID 5 BODYSTRUCTURE ("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 300 (NIL "x" NIL NIL NIL NIL '
        b'NIL NIL NIL NIL) ("message" "rfc822" NIL NIL NIL "7bit" 100 (NIL NIL NIL NIL NIL NIL NIL NIL NIL '
        b'NIL) ("text" "plain" NIL NIL NIL "7bit" 5 1) 3) 12))'
    )
    body = fetch_one([line]).body
    assert body is not None and (body.type, body.part, body.lines) == ("message", "1", 12)
    assert body.message is not None and (body.message.type, body.message.part) == ("message", "1.1")
    assert body.message.message is not None
    assert (body.message.message.subtype, body.message.message.part) == ("plain", "1.1.1")


def test_rfc3501_example_with_objectid_and_modseq() -> None:
    msg = fetch_one(RFC_FETCH)
    assert (msg.seq, msg.uid, msg.modseq, msg.size) == (12, 4827313, 624140003, 4286)
    assert (msg.email_id, msg.thread_id) == ("M6d99ac3275bb4e", "T64b478a75b7ea9")
    assert msg.internal_date == datetime(1996, 7, 17, 2, 44, 25, tzinfo=PDT)
    env = msg.envelope
    assert env is not None
    assert env.date == datetime(1996, 7, 17, 2, 23, 25, tzinfo=PDT)
    assert env.date.tzinfo is not None
    assert env.subject == "IMAP4rev1 WG mtg summary and minutes"
    assert env.cc == [Address(None, "minutes@CNRI.Reston.VA.US"), Address("John Klensin", "KLENSIN@MIT.EDU")]
    assert env.bcc == [] and env.in_reply_to is None
    assert msg.body == BodyPart(
        "text", "plain", "1", {"charset": "US-ASCII"}, encoding="7bit", size=3028, lines=92
    )


def test_gmail_ids_and_labels() -> None:
    line = (
        b"7 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334866 "
        b'X-GM-LABELS (\\Inbox \\Sent "My Label") UID 44 FLAGS (\\Seen))'
    )
    msg = fetch_one([line])
    assert (msg.uid, msg.email_id, msg.thread_id) == (44, "1278455344230334866", "1278455344230334865")


def test_nil_everywhere() -> None:
    line = (
        b"3 FETCH (UID 3 FLAGS () ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
        b"BODYSTRUCTURE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) PREVIEW NIL THREADID NIL "
        b"EMAILID (M1) INTERNALDATE NIL BODY[TEXT] NIL)"
    )
    msg = fetch_one([line])
    assert msg.flags == [] and msg.preview is None and msg.thread_id is None and msg.email_id == "M1"
    assert msg.envelope == Envelope()
    assert msg.body == BodyPart("application", "octet-stream", "1")
    assert msg.internal_date is None and msg.sections == {}


def test_subjects_8bit_rfc2047_and_broken() -> None:
    def subject(raw: bytes, literal: bool = False) -> str | None:
        if literal:
            lines: list[bytes | bytearray] = [
                b"1 FETCH (ENVELOPE (NIL {%d}" % len(raw),
                bytearray(raw),
                b" NIL NIL NIL NIL NIL NIL NIL NIL))",
            ]
        else:
            lines = [b"1 FETCH (ENVELOPE (NIL " + raw + b" NIL NIL NIL NIL NIL NIL NIL NIL))"]
        env = fetch_one(lines).envelope
        assert env is not None
        return env.subject

    assert subject('"Grüße aus Köln"'.encode()) == "Grüße aus Köln"  # raw UTF-8, quoted
    assert subject('Grüße "x"'.encode(), literal=True) == 'Grüße "x"'  # raw UTF-8 literal
    assert subject(b"Gr\xfc\xdfe", literal=True) == "Grüße"  # latin-1 bytes
    assert subject(b'"=?utf-8?q?Gr=C3=BC=C3=9Fe?= =?utf-8?b?IHVuZA==?= tsch=C3=BC"') == "Grüße und tsch=C3=BC"
    assert subject(b'"Re: =?ISO-8859-1?Q?caf=E9?="') == "Re: café"
    assert subject(b'"=?utf-8?b?!!!?= ok"') == " ok"  # junk base64 decodes to nothing
    # A lone 0xFF cannot be UTF-8: the shared decoder reads it as the Latin-1 it most likely is.
    assert subject(b'"=?x-unknown?q?abc?= =?utf-8?q?=FF?="') == "abc\u00ff"
    assert subject(b'"=?utf-8?q?unterminated"') == "=?utf-8?q?unterminated"
    assert subject(b'"=?utf-8*en?q?lang?="') == "lang"
    assert subject(b'"C:\\\\users =?utf-8?q?x?="') == "C:\\users x"


def test_params_rfc2231_continuations_and_rfc2047_names() -> None:
    line = (
        b'1 FETCH (BODYSTRUCTURE ("APPLICATION" "PDF" ("NAME" "=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=") NIL '
        b'"=?utf-8?q?d=C3=A9?=" "BASE64" 10 NIL ("ATTACHMENT" ("FILENAME*0*" "utf-8\'\'%E2%82%AC" '
        b'"FILENAME*1*" "%20x" "FILENAME*2" ".pdf" "size" "10")) NIL NIL))'
    )
    body = fetch_one([line]).body
    assert body is not None
    assert body.params == {"name": "résumé.pdf"}
    assert body.description == "dé"
    assert body.disposition == "attachment"
    assert body.disposition_params == {"filename": "€ x.pdf", "size": "10"}
    # a server that joined the sections but kept the encoded value under the plain name
    line = b'1 FETCH (BODY ("text" "plain" ("name" "utf-8\'\'%E2%82%AC.txt") NIL NIL "7bit" 1 1))'
    body = fetch_one([line]).body
    assert body is not None and body.params == {"name": "€.txt"}
    assert ip.filename_of(body) == "€.txt"


def test_sections_partial_and_rfc822_items() -> None:
    lines: list[bytes | bytearray] = [
        b"1 FETCH (UID 1 BODY[]<0> {5}",
        bytearray(b"From:"),
        b' BODY[1.MIME] "Content-Type: text/plain" RFC822.HEADER {4}',
        bytearray(b"H: v"),
        b")",
    ]
    msg = fetch_one(lines)
    assert msg.sections == {"": b"From:", "1.MIME": b"Content-Type: text/plain", "HEADER": b"H: v"}


def test_preview_as_literal_and_draft_forms() -> None:
    lines: list[bytes | bytearray] = [b"1 FETCH (PREVIEW {6}", bytearray("€ (x".encode()), b")"]
    assert fetch_one(lines).preview == "€ (x"
    assert fetch_one([b'1 FETCH (SNIPPET (FUZZY "old draft"))']).preview == "old draft"


def test_bad_item_is_skipped_not_the_batch() -> None:
    lines: list[bytes | bytearray] = [
        b'1 FETCH (UID x FLAGS (\\Seen) ENVELOPE (NIL) BODYSTRUCTURE ("text") RFC822.SIZE 5)',
        b"2 FETCH (UID 2)",
        b"FETCH (UID 3)",  # no sequence number: not a FETCH
        b"4 FETCH UID 4",  # no item list
        b"5 EXISTS",
        b"VANISHED (EARLIER) 1:3",
        b"Done",
    ]
    first, second = ip.parse_fetch(lines)
    assert (first.uid, first.flags, first.size, first.envelope, first.body) == (
        None,
        ["\\Seen"],
        5,
        None,
        None,
    )
    assert second.uid == 2


@pytest.mark.parametrize(
    "lines",
    [
        [b"1 FETCH (" + b"(" * 500 + b")" * 500 + b")"],
        [b"1 FETCH (BODYSTRUCTURE " + b"(" * 200 + b'"text" "plain"' + b")" * 200 + b")"],
        [b"1 FETCH (ENVELOPE ((((((((NIL))))))) NIL NIL NIL NIL NIL NIL NIL NIL NIL))"],
        [b"\xff\xfe\x00garbage {5}"],
        [bytearray(b"stray literal")],
        [b"1 FETCH (UID 1 FLAGS (\\Seen) UID)"],
        [b"99999999999999999999999 FETCH (UID 99999999999999999999999)"],
    ],
)
def test_malformed_input_never_raises(lines: list[bytes | bytearray]) -> None:
    ip.parse_fetch(lines)
    ip.parse_select(lines)
    ip.parse_list(lines)
    ip.parse_search(lines)
    ip.parse_status(lines)


def test_public_parsers_raise_only_imap_parse_error() -> None:
    with pytest.raises(ImapParseError):
        ip.parse_fetch(None)  # type: ignore[arg-type]
    with pytest.raises(ImapParseError):
        ip.expand_uid_set("1:*")
    with pytest.raises(ImapParseError):
        ip.expand_uid_set("a,b")
    with pytest.raises(ImapParseError):
        ip.expand_uid_set("1:4294967295")  # would be 4 billion ints
    with pytest.raises(ImapParseError):
        ip.compact_uid_set([1, "x"])  # type: ignore[list-item]
    with pytest.raises(ImapParseError):
        ip.parse_copyuid([b"OK [COPYUID x y] Moved"])


# -------------------------------------------------------------------------------- other responses


def test_parse_list_quoted_atom_literal_and_utf7_names() -> None:
    # LIST as aioimaplib returns it: the word LIST is stripped; recorded from Dovecot, plus a literal
    lines: list[bytes | bytearray] = [
        b'(\\HasNoChildren) "/" &-amp',
        b'(\\HasNoChildren) "/" "paren (x)"',
        b'(\\HasNoChildren) "/" "back\\\\slash"',
        b'(\\HasNoChildren) "/" "quo\\"te"',
        b'(\\HasNoChildren) "/" Entw&APw-rfe',
        b'(\\HasNoChildren \\Drafts) "/" Drafts',
        b'(\\HasChildren \\Noselect) "/" {9}',
        bytearray(b'Lit (x) "'),
        b'(\\HasNoChildren \\Trash) "." "Lit.Gel&APY-scht"',
        b"(\\HasNoChildren) NIL inbox",
        b'(\\Junk \\HasNoChildren) "/" Spam ("CHILDINFO" ("SUBSCRIBED"))',
        b'LIST (\\Sent) "/" 2024',
        b"List completed (0.001 + 0.000 secs).",
    ]
    entries = ip.parse_list(lines)
    assert [(e.path, e.name, e.delimiter, e.special_use) for e in entries] == [
        ("&amp", "&-amp", "/", None),
        ("paren (x)", "paren (x)", "/", None),
        ("back\\slash", "back\\slash", "/", None),
        ('quo"te', 'quo"te', "/", None),
        ("Entwürfe", "Entw&APw-rfe", "/", None),
        ("Drafts", "Drafts", "/", "\\Drafts"),
        ('Lit (x) "', 'Lit (x) "', "/", None),
        ("Lit.Gelöscht", "Lit.Gel&APY-scht", ".", "\\Trash"),
        ("inbox", "inbox", None, "\\Inbox"),
        ("Spam", "Spam", "/", "\\Junk"),
        ("2024", "2024", "/", "\\Sent"),
    ]
    assert entries[6].flags == ["\\HasChildren", "\\Noselect"]
    assert all(e.subscribed is False for e in entries)


def test_parse_list_xlist_gmail_flags() -> None:
    lines = [b'XLIST (\\HasNoChildren \\AllMail) "/" "[Gmail]/All Mail"', b'(\\Inbox) "/" "Posteingang"']
    assert [e.special_use for e in ip.parse_list(lines)] == ["\\All", "\\Inbox"]


def test_parse_status() -> None:
    # aioimaplib strips the word STATUS
    lines = [
        b'"paren (x)" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 1 UNSEEN 2 HIGHESTMODSEQ 7)',
        b"Status completed.",
    ]
    assert ip.parse_status(lines) == {
        "MESSAGES": 3,
        "UIDNEXT": 9,
        "UIDVALIDITY": 1,
        "UNSEEN": 2,
        "HIGHESTMODSEQ": 7,
    }
    assert ip.parse_status([b'STATUS "a" (MESSAGES 1)', b"[CLIENTBUG] Status on selected mailbox"]) == {
        "MESSAGES": 1
    }
    lines2: list[bytes | bytearray] = [
        b"{4}",
        bytearray(b"a(b)"),
        b" (MESSAGES 2)",
        b"STATUS INBOX (UIDNEXT 5)",
    ]
    assert ip.parse_status_all(lines2) == {"a(b)": {"MESSAGES": 2}, "INBOX": {"UIDNEXT": 5}}
    assert ip.parse_status([b"Status completed (0.001 + 0.000 secs)."]) == {}


SELECT_QRESYNC = [
    b"OK [CLOSED] Previous mailbox closed.",
    b"FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    b"OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
    b"2 EXISTS",
    b"0 RECENT",
    b"OK [UNSEEN 1] First unseen.",
    b"OK [UIDVALIDITY 1795265427] UIDs valid",
    b"OK [UIDNEXT 6] Predicted next UID",
    b"OK [HIGHESTMODSEQ 9] Highest",
    b"VANISHED (EARLIER) 1:3,5",
    b"1 FETCH (UID 4 FLAGS () MODSEQ (6))",
    b"2 FETCH (UID 6 FLAGS (\\Seen) MODSEQ (8))",
    b"[READ-WRITE] Select completed (0.001 + 0.000 + 0.001 secs).",
]


def test_parse_select_qresync() -> None:
    info = ip.parse_select(SELECT_QRESYNC)
    assert (info.exists, info.recent, info.unseen) == (2, 0, 1)
    assert (info.uid_validity, info.uid_next, info.highest_modseq) == (1795265427, 6, 9)
    assert info.flags == ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]
    assert info.permanent_flags == [*info.flags, "\\*"]
    assert info.read_only is False
    assert info.vanished == [1, 2, 3, 5]
    assert [(m.seq, m.uid, m.flags, m.modseq) for m in info.fetched] == [
        (1, 4, [], 6),
        (2, 6, ["\\Seen"], 8),
    ]


def test_parse_select_read_only_nomodseq_and_closed_resets() -> None:
    lines = [
        b"7 EXISTS",  # belongs to the previously selected mailbox
        b"OK [CLOSED] Previous mailbox closed.",
        b"OK [PERMANENTFLAGS ()] Read-only mailbox.",
        b"1 EXISTS",
        b"OK [UIDVALIDITY 3] UIDs valid",
        b"OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences",
        b"OK [MAILBOXID (F2212ea87-6097-4256-9d51-71338625)] Ok",
        b"[READ-ONLY] Examine completed (0.001 + 0.000 secs).",
    ]
    info = ip.parse_select(lines)
    assert (info.exists, info.uid_validity, info.uid_next, info.highest_modseq) == (1, 3, None, None)
    assert info.read_only is True and info.permanent_flags == []
    assert info.mailbox_id == "F2212ea87-6097-4256-9d51-71338625"


def test_parse_select_permanentflags_mangled_by_aioimaplib() -> None:
    # aioimaplib removes every "* " from untagged lines, so "\* \Seen" arrives as "\\Seen"
    info = ip.parse_select([b"OK [PERMANENTFLAGS (\\Deleted \\\\Seen)] Flags permitted."])
    assert info.permanent_flags == ["\\Deleted", "\\*", "\\Seen"]


def test_parse_search_plain_modseq_empty_and_esearch() -> None:
    assert ip.parse_search([b"2 3 5 6", b"Search completed (0.001 + 0.000 secs)."]) == [2, 3, 5, 6]
    assert ip.parse_search([b"", b"Search completed."]) == []
    assert ip.parse_search([b"2 7 (MODSEQ 917)", b"Search completed."]) == [2, 7]
    assert ip.parse_search([b"SEARCH 4 5", b"3 EXISTS", b"Done"]) == [4, 5]
    esearch = [b'ESEARCH (TAG "A1") UID ALL 1:3,5 MIN 1 MAX 5 COUNT 4', b"Search completed."]
    assert ip.parse_search(esearch) == [1, 2, 3, 5]
    assert ip.parse_search([b'ESEARCH (TAG "A1") UID MIN 1 MAX 5 COUNT 4', b"Search completed."]) == [1, 5]
    assert ip.parse_search([b'(TAG "A2") MIN 4 MAX 9']) == [4, 9]
    assert ip.parse_search([b'ESEARCH (TAG "A3") UID COUNT 0']) == []
    assert ip.parse_search([b"1 2 3"]) == [1, 2, 3]  # plain SEARCH, not read as ESEARCH


def test_uid_sets() -> None:
    assert ip.expand_uid_set("1:3,5,9:7") == [1, 2, 3, 5, 7, 8, 9]
    assert ip.expand_uid_set("5,1:3,2") == [1, 2, 3, 5]
    assert ip.expand_uid_set(b"4") == [4] and ip.expand_uid_set("") == [] and ip.expand_uid_set(7) == [7]
    assert ip.compact_uid_set([1, 2, 3, 5]) == "1:3,5"
    assert ip.compact_uid_set([9, 7, 8, 8, 1]) == "1,7:9"
    assert ip.compact_uid_set([]) == ""
    uids = sorted(random.Random(1).sample(range(1, 10_000), 3000))
    assert ip.expand_uid_set(ip.compact_uid_set(uids)) == uids


def test_vanished() -> None:
    lines = [b"OK [COPYUID 1795265433 3 1] Moved UIDs.", b"VANISHED 3", b"VANISHED (EARLIER) 7:8", b"Done"]
    assert ip.parse_vanished(lines) == [3, 7, 8]
    # Among FETCH answers (literals too), only the VANISHED responses are read.
    fetch = [
        b"1 FETCH (UID 4 BODY[HEADER] {12}",
        bytearray(b"VANISHED 99\r\n"),
        b")",
        b"vanished 5",
        b"2 FETCH (UID 6)",
    ]
    assert ip.parse_vanished(fetch) == [5]
    assert [t for t, _ in ip.iter_responses(fetch, only="VANISHED")] == [["vanished", 5]]


def test_response_codes_copyuid_appenduid() -> None:
    assert ip.parse_response_code(b"OK [COPYUID 1795257324 7:9 1:3] Moved") == (
        "COPYUID",
        "1795257324 7:9 1:3",
    )
    assert ip.parse_response_code("[read-only] Examine completed") == ("READ-ONLY", "")
    assert ip.parse_response_code("A12 NO [TRYCREATE] No such mailbox") == ("TRYCREATE", "")
    assert ip.parse_response_code("* OK [ALERT] x") == ("ALERT", "")
    assert ip.parse_response_code(b"1 FETCH (BODY[1] {3}") is None
    assert ip.parse_response_code("Fetch completed") is None

    move = [
        b"OK [COPYUID 1795257324 7:9,12 1:4] Moved UIDs.",
        b"7 EXPUNGE",
        b"[HIGHESTMODSEQ 9] Move completed",
    ]
    assert ip.parse_copyuid(move) == ip.CopyUid(1795257324, [7, 8, 9, 12], [1, 2, 3, 4])
    copy = [b"[COPYUID 1795265410 1:2 1:2] Copy completed (0.033 + 0.000 + 0.032 secs)."]
    assert ip.parse_copyuid(copy) == (1795265410, [1, 2], [1, 2])
    assert ip.parse_copyuid(b"OK [COPYUID 5 3 9] done") == (5, [3], [9])
    assert ip.parse_copyuid([b"Copy completed."]) is None
    assert ip.parse_appenduid([b"[APPENDUID 1795 1000] Append completed."]) == (1795, 1000)
    assert ip.parse_appenduid(b"OK [APPENDUID 1795 1000:1002] Append completed.") == (1795, 1000)
    assert ip.parse_appenduid([b"Append completed."]) is None


def test_parse_push() -> None:
    assert ip.parse_push(b"1997 EXISTS") == ("EXISTS", 1997)
    assert ip.parse_push(b"* 4 EXPUNGE") == ("EXPUNGE", 4)
    assert ip.parse_push(b"VANISHED 5:7,9") == ("VANISHED", [5, 6, 7, 9])
    kind, msg = ip.parse_push(b"7 FETCH (FLAGS (\\Seen) UID 12 MODSEQ (44))")
    assert kind == "FETCH" and isinstance(msg, FetchedMessage)
    assert (msg.seq, msg.uid, msg.flags, msg.modseq) == (7, 12, ["\\Seen"], 44)
    assert ip.parse_push(b"BYE Server shutting down.") == ("BYE", None)
    assert ip.parse_push(b"1 RECENT") == ("OTHER", None)
    assert ip.parse_push(b"OK Still here") == ("OTHER", None)
    assert ip.parse_push(b"3 FETCH (BODY[] {5}") == ("OTHER", None)
    assert ip.parse_push(b"") == ("OTHER", None)


def test_internal_date() -> None:
    assert ip.parse_internal_date(" 7-Jul-1996 02:44:25 +0530") == datetime(
        1996, 7, 7, 2, 44, 25, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )
    assert ip.parse_internal_date("31-Feb-1996 02:44:25 +0000") is None
    assert ip.parse_internal_date("yesterday") is None


# ------------------------------------------------------------------------------------------ speed


def _synthetic_fetch(count: int) -> list[bytes | bytearray]:
    lines: list[bytes | bytearray] = []
    for i in range(1, count + 1):
        tail = DOVECOT_FETCH[5]
        assert isinstance(tail, bytes)
        line = tail.replace(b"* 2 FETCH (UID 2 ", b"%d FETCH (UID %d " % (i, i))
        if i % 2:  # half the envelopes arrive as literals, like Dovecot's
            head, _, rest = line.partition(b'PREVIEW "plain" ENVELOPE ("" ')
            subject, _, rest = rest.partition(b'" ((NIL NIL "a"')
            raw = subject[1:] + b' "quoted"'
            lines += [head + b'PREVIEW "plain" ENVELOPE ("" {%d}' % len(raw), bytearray(raw)]
            lines.append(b' ((NIL NIL "a"' + rest.replace(b"{2}", b"{2}"))
        else:
            lines.append(line)
        lines += [bytearray(b"\r\n"), b")"]
    lines.append(b"Fetch completed (0.001 + 0.000 secs).")
    return lines


def test_speed_5000_messages() -> None:
    lines = _synthetic_fetch(5000)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        messages = ip.parse_fetch(lines)
        best = min(best, time.perf_counter() - start)
    assert len(messages) == 5000
    assert (
        messages[0].envelope is not None
        and messages[0].envelope.subject == 'Grüße € Übung xxxxxxxxxx "quoted"'
    )
    assert messages[-1].body is not None and len(messages[-1].body.parts) == 4
    print(f"\nparse_fetch: 5000 messages in {best * 1000:.0f} ms")
    assert best < 3.0  # about 0.4 s on a busy 2-core box; generous for slow CI
