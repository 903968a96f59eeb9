"""The IMAP line tap: literals counted not kept, however the bytes are chunked; credentials hidden."""

from __future__ import annotations

from app.mail.wirelog import MAX_LINE, ImapTap, LineSplitter

STREAM = b"* 1 FETCH (UID 7 BODY[] {12}\r\nhello\r\nworld FLAGS (\\Seen))\r\nA1 OK done\r\n"


def test_literals_are_counted_whatever_the_chunking() -> None:
    expected = ["* 1 FETCH (UID 7 BODY[] {12} <12 bytes> FLAGS (\\Seen))", "A1 OK done"]
    for size in (1, 2, 3, 7, len(STREAM)):
        splitter = LineSplitter()
        got = [line for i in range(0, len(STREAM), size) for line in splitter.feed(STREAM[i : i + size])]
        assert got == expected, size


def test_long_lines_are_cut() -> None:
    (line,) = LineSplitter().feed(b"* " + b"x" * (MAX_LINE * 3) + b"\r\n")
    assert len(line) == MAX_LINE + 1 and line.endswith("…")


def test_login_and_authenticate_are_hidden() -> None:
    lines: list[tuple[str, str]] = []
    tap = ImapTap(lambda d, t: lines.append((d, t)))
    tap.outgoing(b'A1 LOGIN "me" "secret"\r\n')
    tap.outgoing(b"A2 LOGIN {2}\r\n")
    tap.outgoing(b'me "secret"\r\n')
    tap.outgoing(b"A3 AUTHENTICATE PLAIN\r\n")
    tap.incoming(b"+ \r\n")
    tap.outgoing(b"AG1lAHNlY3JldA==\r\n")
    tap.incoming(b"A3 OK Logged in\r\n")
    tap.outgoing(b"A4 SELECT INBOX\r\n")
    assert lines == [
        ("C", "A1 LOGIN [hidden]"),
        ("C", "A2 LOGIN [hidden]"),
        ("C", "A3 AUTHENTICATE PLAIN [hidden]"),
        ("S", "+ "),
        ("C", "[hidden]"),
        ("S", "A3 OK Logged in"),
        ("C", "A4 SELECT INBOX"),
    ]
