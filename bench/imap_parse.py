"""Parsing a large UID FETCH answer: messages per second through ``imapparse.parse_fetch``.

Run: .venv/bin/python -m bench.imap_parse [--messages 1000] [--runs 7]

The answer is built the way aioimaplib hands it over (``bytes`` lines, ``bytearray`` literals) and
looks like what an initial folder sync asks for: ``FLAGS INTERNALDATE RFC822.SIZE ENVELOPE
BODYSTRUCTURE`` per message, a mix of single-part and nested multipart messages (alternative
bodies, inline images, attachments with RFC 2231 names, an attached message), RFC 2047 subjects and
display names, and about one subject in six sent as a literal (the server does that when the
subject holds a quote or a line break). Needs no server: it measures the parser alone, after one
warm-up run, with the garbage collector in its normal state. Process CPU time is printed next to
wall time: on a shared machine it is the steadier figure of what parsing costs.

Pausing the garbage collector around a parse was measured with this answer and found not worth
it (CPU time, median of 20 interleaved runs): 68.4 → 65.5 ms for 1,000 messages (4%), 411 → 350 ms
for 5,000 (15%, 8% on the best runs).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from app.mail import imapparse

NAMES = [
    b'"=?utf-8?q?J=C3=B6rg_M=C3=BCller?="',
    b'"=?iso-8859-1?q?Fran=E7oise_L=E9vy?="',
    b'"Ann Example"',
    b"NIL",
    b'"=?utf-8?b?5bGx55Sw5aSq6YOO?="',
    b'"Support Team"',
]
SUBJECTS = [
    b'"Quarterly report"',
    b'"=?utf-8?b?R3LDvMOfZSDigqwgw5xidW5n?= and more"',
    b'"Re: =?utf-8?q?Caf=C3=A9_meeting?="',
    b'"Invoice 2026-0042"',
    b'"=?windows-1252?q?=93Quoted=94_offer?="',
]
LITERAL_SUBJECTS = [b'Re: hi :) "quoted" \\ back', b"Line\r\n break", b'He said "yes"']
TEXT = b'("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" %d %d NIL NIL NIL NIL)'
HTML = b'("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" %d %d NIL NIL NIL NIL)'
IMAGE = b'("image" "png" ("name" "logo.png") "<img%d@example.com>" NIL "base64" %d NIL ("inline" ("filename" "logo.png")) NIL NIL)'  # noqa: E501
PDF = (
    b'("application" "pdf" ("name" "=?utf-8?q?R=C3=A9sum=C3=A9.pdf?=") NIL NIL "base64" %d NIL '
    b'("attachment" ("filename*" "utf-8\'\'R%%C3%%A9sum%%C3%%A9%%20%d.pdf")) NIL NIL)'
)
INNER = (
    b'("message" "rfc822" NIL NIL NIL "7bit" %d ("Mon, 1 Jun 2026 10:00:00 +0000" "inner" '
    b'((NIL NIL "c" "example.org")) ((NIL NIL "c" "example.org")) ((NIL NIL "c" "example.org")) '
    b'((NIL NIL "d" "example.org")) NIL NIL NIL "<inner%d@example.org>") '
    b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 120 4 NIL NIL NIL NIL) 30 NIL '
    b'("attachment" NIL) NIL NIL)'
)


def _address(rng: random.Random, i: int) -> bytes:
    return b'(%s NIL "user%d" "example.com")' % (rng.choice(NAMES), i % 97)


def _body(rng: random.Random, i: int) -> bytes:
    kind = i % 4
    text = TEXT % (rng.randint(100, 9000), rng.randint(3, 200))
    if kind == 0:
        return text
    alternative = b'(%s%s "alternative" ("boundary" "=_alt_%d") NIL NIL NIL)' % (
        text,
        HTML % (rng.randint(500, 40000), rng.randint(10, 600)),
        i,
    )
    if kind == 1:
        return alternative
    related = b'(%s%s "related" ("boundary" "=_rel_%d") NIL NIL NIL)' % (
        alternative,
        IMAGE % (i, rng.randint(1000, 90000)),
        i,
    )
    parts = related + PDF % (rng.randint(10000, 900000), i)
    if kind == 3:
        parts += INNER % (rng.randint(400, 3000), i)
    return b'(%s "mixed" ("boundary" "=_mix_%d") NIL NIL NIL)' % (parts, i)


def fetch_answer(count: int, seed: int = 1) -> list[bytes | bytearray]:
    """``count`` FETCH responses plus the tagged completion text, as aioimaplib returns them."""
    rng = random.Random(seed)
    lines: list[bytes | bytearray] = []
    for i in range(1, count + 1):
        flags = rng.choice([b"()", b"(\\Seen)", b"(\\Seen \\Answered $Forwarded)", b"(\\Flagged)"])
        date = b"%02d-Jun-2026 %02d:%02d:%02d +0200" % (1 + i % 28, i % 24, i % 60, (i * 7) % 60)
        size = rng.randint(800, 2_000_000)
        head = b'%d FETCH (UID %d FLAGS %s INTERNALDATE "%s" RFC822.SIZE %d ' % (
            i,
            1000 + i,
            flags,
            date,
            size,
        )
        head += b'ENVELOPE ("Mon, %d Jun 2026 10:00:00 +0200" ' % (1 + i % 28)
        recipients = b"(%s)" % b"".join(_address(rng, i + k) for k in range(rng.randint(1, 3)))
        tail = b' (%s) (%s) (%s) %s %s NIL %s "<m%d@example.com>") BODYSTRUCTURE %s)' % (
            _address(rng, i),
            _address(rng, i),
            _address(rng, i),
            recipients,
            b"NIL" if i % 3 else b'((NIL NIL "cc" "example.net"))',
            b"NIL" if i % 5 else b'"<parent%d@example.com>"' % i,
            i,
            _body(rng, i),
        )
        if i % 6 == 0:
            subject = rng.choice(LITERAL_SUBJECTS)
            lines += [head + b"{%d}" % len(subject), bytearray(subject), tail]
        else:
            lines.append(head + rng.choice(SUBJECTS) + tail)
    lines.append(b"Fetch completed (0.004 + 0.000 + 0.003 secs).")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    lines = fetch_answer(args.messages)
    size = sum(len(line) for line in lines)
    messages = imapparse.parse_fetch(lines)  # warm-up, and a check that the answer parses fully
    if len(messages) != args.messages or any(m.envelope is None or m.body is None for m in messages):
        raise SystemExit("the generated answer did not parse completely")
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        imapparse.parse_fetch(lines)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(f"{args.messages} messages, {size / 1e6:.2f} MB, {args.runs} runs")
    for label, timings in (("cpu ", cpu), ("wall", wall)):
        best, median = min(timings), statistics.median(timings)
        print(
            f"{label}  best {best * 1000:7.1f} ms {args.messages / best:8.0f} messages/s"
            f"   median {median * 1000:7.1f} ms {args.messages / median:8.0f} messages/s"
        )


if __name__ == "__main__":
    main()
