"""app.mail.imapparse against real Dovecot responses, received through (patched) aioimaplib."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage

import aioimaplib
import pytest

from app.mail import aioimaplib_patch, imapparse, utf7
from app.mail.types import Address
from tests.servers.dovecot import Dovecot, append_messages
from tests.servers.fixtures import ImapUser

aioimaplib_patch.apply()

TIMEOUT = 15.0
SMTP = policy.SMTP  # CRLF line endings: RFC822.SIZE equals len(message)
LONG_NAME = "€uro naïve Übersicht (final) \N{EN DASH} a very long file name that needs continuations.pdf"
SMTPUTF8 = policy.SMTPUTF8  # raw UTF-8 headers: Dovecot sends such strings as literals


def _plain() -> bytes:
    """Subject with quote, backslash and an unbalanced paren; encoded display name; group syntax."""
    m = EmailMessage(policy=SMTP)
    m["From"] = "Jörg Müller <joerg@example.com>"
    m["To"] = "undisclosed-recipients:;"
    m["Cc"] = "Bob <bob@example.com>, carol@example.com"
    m["Subject"] = 'Re: hi :) "quoted" \\ back'
    m["Date"] = "Wed, 17 Jul 1996 02:23:25 -0700"
    m["Message-ID"] = "<plain-1@example.com>"
    m["In-Reply-To"] = "<parent@example.com>"
    m["References"] = "<root@example.com> <parent@example.com>"
    m.set_content("hello ((( world\n")  # PREVIEW with unbalanced parens: the next FETCH keeps "* "
    return m.as_bytes()


def _utf8_subject() -> bytes:
    m = EmailMessage(policy=SMTPUTF8)
    m["From"] = "Zoë <zoe@example.com>"
    m["To"] = "Ünïcode Recipient <rcpt@example.com>"
    m["Subject"] = "Grüße aus Köln \N{EN DASH} ünïcödé (8-bit)"
    m["Date"] = "Thu, 1 Feb 2024 10:00:00 +0100"
    m["Message-ID"] = "<utf8-1@example.com>"
    m.set_content("8-bit body: äöü\n")
    return m.as_bytes().replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")


def _broken_encoded_words() -> bytes:
    return (
        b"From: =?x-unknown?q?Mystery?= <m@example.com>\r\n"
        b"To: a@example.com\r\n"
        b"Subject: =?utf-8?b?!!!?= =?x-unknown?q?abc?= =?utf-8?q?caf=C3=A9?= =?utf-8?q?unterminated\r\n"
        b"Date: not a date\r\n"
        b"Message-ID: <broken-1@example.com>\r\n"
        b"\r\n"
        b"body\r\n"
    )


def _complex() -> bytes:
    """multipart/mixed: (multipart/alternative: text, html), inline image with Content-ID,
    an attachment with a long non-ASCII file name (RFC 2231), and a message/rfc822."""
    m = EmailMessage(policy=SMTP)
    m["From"] = "a@example.com"
    m["To"] = "b@example.com"
    m["Subject"] = "=?utf-8?q?Pr=C3=BCfung?= of everything"
    m["Message-ID"] = "<complex-1@example.com>"
    m.set_content("plain part\n")
    m.add_alternative("<p>html <img src='cid:img1@example.com'></p>\n", subtype="html")
    m.add_attachment(
        b"\x89PNG\r\n\x1a\n" + bytes(range(64)),
        maintype="image",
        subtype="png",
        filename="pic.png",
        cid="<img1@example.com>",
        disposition="inline",
    )
    m.add_attachment(
        b"%PDF-1.4 fake",
        maintype="application",
        subtype="pdf",
        filename=LONG_NAME,
    )
    inner = EmailMessage(policy=SMTP)
    inner["From"] = "c@example.com"
    inner["Subject"] = "inner message"
    inner.set_content("inner body\n")
    inner.add_attachment(b"x", maintype="application", subtype="octet-stream", filename="inner.bin")
    m.add_attachment(inner)
    return m.as_bytes()


MESSAGES = [_plain(), _utf8_subject(), _broken_encoded_words(), _complex()]


@pytest.fixture
async def imap(dovecot: Dovecot, dovecot_user: ImapUser) -> AsyncIterator[aioimaplib.IMAP4]:
    client = aioimaplib.IMAP4(host=dovecot.host, port=dovecot.port, timeout=TIMEOUT)
    await asyncio.wait_for(client.wait_hello_from_server(), TIMEOUT)
    response = await asyncio.wait_for(client.login(dovecot_user.email, dovecot_user.password), TIMEOUT)
    assert response.result == "OK", response
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone already
            await asyncio.wait_for(client.logout(), 5)


async def _seed(dovecot: Dovecot, user: ImapUser) -> list[int]:
    uids = await append_messages(
        dovecot.host, dovecot.port, user.email, user.password, "INBOX", MESSAGES[:1], ["\\Seen", "$Forwarded"]
    )
    uids += await append_messages(
        dovecot.host, dovecot.port, user.email, user.password, "INBOX", MESSAGES[1:]
    )
    return uids


def _fetch_items(capabilities: set[str]) -> str:
    items = ["UID", "FLAGS", "ENVELOPE", "BODYSTRUCTURE", "INTERNALDATE", "RFC822.SIZE"]
    if "CONDSTORE" in capabilities or "QRESYNC" in capabilities:
        items.append("MODSEQ")
    if "OBJECTID" in capabilities:
        items += ["EMAILID", "THREADID"]
    if "PREVIEW" in capabilities:
        items.append("PREVIEW")
    items.append("BODY.PEEK[HEADER.FIELDS (REFERENCES)]")
    return "(" + " ".join(items) + ")"


async def test_fetch_round_trip(imap: aioimaplib.IMAP4, dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    uids = await _seed(dovecot, dovecot_user)
    capabilities = set(imap.protocol.capabilities)
    select = await imap.select("INBOX (CONDSTORE)")
    assert select.result == "OK", select
    info = imapparse.parse_select(select.lines)
    assert info.exists == 4 and info.uid_validity and info.uid_next == uids[-1] + 1
    assert info.highest_modseq is not None and info.read_only is False
    assert "\\Seen" in info.flags and "\\*" in info.permanent_flags

    response = await imap.uid("fetch", "1:*", _fetch_items(capabilities))
    assert response.result == "OK", response
    assert any(isinstance(x, bytearray) for x in response.lines)  # literals were involved
    messages = imapparse.parse_fetch(response.lines)
    assert [m.uid for m in messages] == uids
    assert [m.seq for m in messages] == [1, 2, 3, 4]
    before = datetime.now(UTC) - timedelta(minutes=5)
    for msg, raw in zip(messages, MESSAGES, strict=True):
        assert msg.flags is not None and msg.size == len(raw)
        assert msg.internal_date is not None and msg.internal_date.tzinfo is not None
        assert msg.internal_date > before
        assert msg.envelope is not None and msg.body is not None
        if "CONDSTORE" in capabilities:
            assert isinstance(msg.modseq, int) and msg.modseq > 0
        if "PREVIEW" in capabilities:
            assert msg.preview
        if "OBJECTID" in capabilities:
            assert msg.email_id and msg.thread_id
        assert "HEADER.FIELDS (REFERENCES)" in msg.sections

    plain, utf8, broken, complex_ = messages

    # 1: quoted subject (a literal: it has '"'), RFC 2047 display name, group syntax, references
    assert {"\\Seen", "$Forwarded"} <= set(plain.flags or [])
    env = plain.envelope
    assert env is not None
    assert env.subject == 'Re: hi :) "quoted" \\ back'
    assert env.date == datetime(1996, 7, 17, 2, 23, 25, tzinfo=timezone(timedelta(hours=-7)))
    assert env.from_ == [Address("Jörg Müller", "joerg@example.com")]
    assert env.sender == env.from_ and env.reply_to == env.from_
    assert env.to == []
    assert env.cc == [Address("Bob", "bob@example.com"), Address(None, "carol@example.com")]
    assert (env.message_id, env.in_reply_to) == ("<plain-1@example.com>", "<parent@example.com>")
    assert plain.sections["HEADER.FIELDS (REFERENCES)"].strip() == (
        b"References: <root@example.com> <parent@example.com>"
    )
    assert plain.body is not None
    assert (plain.body.type, plain.body.subtype, plain.body.part) == ("text", "plain", "1")
    assert plain.body.params.get("charset") == "utf-8"
    if "PREVIEW" in capabilities:
        assert plain.preview is not None and plain.preview.startswith("hello ((( world")

    # 2: raw 8-bit UTF-8 headers
    env = utf8.envelope
    assert env is not None
    assert env.subject == "Grüße aus Köln \N{EN DASH} ünïcödé (8-bit)"
    assert env.from_ == [Address("Zoë", "zoe@example.com")]
    assert env.to == [Address("Ünïcode Recipient", "rcpt@example.com")]
    assert env.date == datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
    assert utf8.sections["HEADER.FIELDS (REFERENCES)"].strip() == b""

    # 3: broken encoded words and an unparsable date never raise
    env = broken.envelope
    assert env is not None
    assert env.date is None
    assert env.subject is not None and "café" in env.subject and "unterminated" in env.subject
    assert env.from_ and env.from_[0].address == "m@example.com" and env.from_[0].name == "Mystery"

    # 4: the body structure tree
    env = complex_.envelope
    assert env is not None and env.subject == "Prüfung of everything"
    body = complex_.body
    assert body is not None
    assert (body.type, body.subtype, body.part) == ("multipart", "mixed", "")
    assert "boundary" in body.params
    alternative, image, pdf, attached = body.parts
    assert (alternative.subtype, alternative.part) == ("alternative", "1")
    assert [(p.type, p.subtype, p.part) for p in alternative.parts] == [
        ("text", "plain", "1.1"),
        ("text", "html", "1.2"),
    ]
    assert all(p.lines and p.size for p in alternative.parts)
    assert (image.type, image.subtype, image.part, image.id) == ("image", "png", "2", "<img1@example.com>")
    assert (image.disposition, image.encoding, imapparse.filename_of(image)) == (
        "inline",
        "base64",
        "pic.png",
    )
    assert (pdf.type, pdf.subtype, pdf.part, pdf.disposition) == ("application", "pdf", "3", "attachment")
    assert imapparse.filename_of(pdf) == LONG_NAME
    assert (attached.type, attached.subtype, attached.part) == ("message", "rfc822", "4")
    assert attached.lines and attached.message is not None
    inner = attached.message
    assert (inner.type, inner.subtype, inner.part) == ("multipart", "mixed", "4")
    assert [(p.subtype, p.part) for p in inner.parts] == [("plain", "4.1"), ("octet-stream", "4.2")]
    assert imapparse.filename_of(inner.parts[1]) == "inner.bin"

    # the parts really are where the section numbers say
    part = await imap.uid(
        "fetch", str(complex_.uid), "(BODY.PEEK[2.MIME] BODY.PEEK[4.1] BODY.PEEK[1.2]<0.4>)"
    )
    assert part.result == "OK", part
    (fetched,) = imapparse.parse_fetch(part.lines)
    assert b"image/png" in fetched.sections["2.MIME"]
    assert fetched.sections["4.1"].strip() == b"inner body"
    assert fetched.sections["1.2"] == b"<p>h"

    # speed on real Dovecot output: the whole response repeated to about 5000 messages
    block = response.lines[:-1]
    repeat = 5000 // len(messages)
    big = block * repeat + response.lines[-1:]
    start = time.perf_counter()
    parsed = imapparse.parse_fetch(big)
    elapsed = time.perf_counter() - start
    assert len(parsed) == len(messages) * repeat
    print(f"\nparse_fetch of {len(parsed)} real Dovecot FETCH responses: {elapsed * 1000:.0f} ms")
    assert elapsed < 3.0


async def test_store_search_copy_move_append(
    imap: aioimaplib.IMAP4, dovecot: Dovecot, dovecot_user: ImapUser
) -> None:
    uids = await _seed(dovecot, dovecot_user)
    assert (await imap.select("INBOX (CONDSTORE)")).result == "OK"

    response = await imap.uid("store", f"{uids[1]}:{uids[2]}", "+FLAGS", "(\\Flagged)")
    assert response.result == "OK", response
    stored = imapparse.parse_fetch(response.lines)
    assert [m.uid for m in stored] == uids[1:3]
    assert all(m.flags is not None and "\\Flagged" in m.flags and m.modseq for m in stored)

    response = await imap.uid_search("FLAGGED", charset=None)
    assert imapparse.parse_search(response.lines) == uids[1:3]
    response = await imap.uid_search("SUBJECT", '"Grüße"', charset="utf-8")
    assert imapparse.parse_search(response.lines) == [uids[1]]
    response = await imap.uid_search("SUBJECT", '"no such subject"', charset=None)
    assert imapparse.parse_search(response.lines) == []

    response = await imap.uid("copy", f"{uids[0]}:{uids[1]}", "Archive")
    assert response.result == "OK", response
    copied = imapparse.parse_copyuid(response.lines)
    assert copied is not None and copied.source == uids[:2] and len(copied.destination) == 2

    response = await imap.uid("move", str(uids[3]), "Trash")
    assert response.result == "OK", response
    moved = imapparse.parse_copyuid(response.lines)
    assert moved is not None and moved.source == [uids[3]]
    assert imapparse.parse_vanished(response.lines) == []  # EXPUNGE lines: QRESYNC is not enabled here

    response = await imap.append(MESSAGES[0], mailbox="Archive", flags="(\\Seen)")
    assert response.result == "OK", response
    appended = imapparse.parse_appenduid(response.lines)
    assert (
        appended is not None and appended[0] == copied.uid_validity and appended[1] > max(copied.destination)
    )

    response = await imap.status("Archive", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)")
    assert response.result == "OK", response
    status = imapparse.parse_status(response.lines)
    assert status["MESSAGES"] == 3 and status["UIDVALIDITY"] == copied.uid_validity
    assert status["UIDNEXT"] == appended[1] + 1 and status["UNSEEN"] == 1 and status["HIGHESTMODSEQ"] > 0

    response = await imap.examine("Archive")
    assert response.result == "OK", response
    info = imapparse.parse_select(response.lines)
    assert info.read_only is True and info.exists == 3 and info.uid_validity == copied.uid_validity


async def test_select_qresync_vanished_and_fetch(
    imap: aioimaplib.IMAP4, dovecot: Dovecot, dovecot_user: ImapUser
) -> None:
    if "QRESYNC" not in imap.protocol.capabilities:
        pytest.skip("server without QRESYNC")
    uids = await _seed(dovecot, dovecot_user)
    assert (await imap.enable("QRESYNC")).result == "OK"
    info = imapparse.parse_select((await imap.select("INBOX")).lines)
    assert info.uid_validity is not None and info.highest_modseq is not None
    modseq = info.highest_modseq
    response = await imap.uid("store", str(uids[0]), "+FLAGS.SILENT", "(\\Deleted)")
    assert response.result == "OK"
    assert (await imap.uid("expunge", str(uids[0]))).result == "OK"
    assert (await imap.uid("store", str(uids[2]), "+FLAGS.SILENT", "(\\Answered)")).result == "OK"
    assert (await imap.close()).result == "OK"

    response = await imap.select(f"INBOX (QRESYNC ({info.uid_validity} {modseq}))")
    assert response.result == "OK", response
    again = imapparse.parse_select(response.lines)
    assert again.exists == 3 and again.vanished == [uids[0]]
    assert again.highest_modseq is not None and again.highest_modseq > modseq
    assert [(m.uid, "\\Answered" in (m.flags or [])) for m in again.fetched] == [(uids[2], True)]


async def test_list_special_use_and_utf7_names(imap: aioimaplib.IMAP4) -> None:
    names = ["Entwürfe", "paren (x)", 'quo"te', "back\\slash", "&amp", "Ordner/Unterordner ✓"]
    for name in names:
        quoted = '"' + utf7.encode(name).replace("\\", "\\\\").replace('"', '\\"') + '"'
        response = await imap.create(quoted)
        assert response.result == "OK", (name, response)
    response = await imap.list('""', '"*"')
    assert response.result == "OK", response
    entries = {e.path: e for e in imapparse.parse_list(response.lines)}
    for name in names:
        assert name in entries, (name, sorted(entries))
        assert entries[name].delimiter == "/"
        assert utf7.decode(entries[name].name) == name
    assert entries["Ordner"].flags and "\\HasChildren" in entries["Ordner"].flags
    assert entries["INBOX"].special_use == "\\Inbox"
    assert {entries[n].special_use for n in ("Drafts", "Sent", "Trash", "Archive")} == {
        "\\Drafts",
        "\\Sent",
        "\\Trash",
        "\\Archive",
    }
    assert entries["Entwürfe"].special_use is None

    response = await imap.lsub('""', '"*"')
    assert {e.path for e in imapparse.parse_list(response.lines)} >= {"Drafts", "Sent", "Trash"}


async def test_idle_pushes(imap: aioimaplib.IMAP4, dovecot: Dovecot, dovecot_user: ImapUser) -> None:
    await _seed(dovecot, dovecot_user)
    assert (await imap.select("INBOX")).result == "OK"
    idle = await imap.idle_start(timeout=30)
    try:
        await append_messages(
            dovecot.host, dovecot.port, dovecot_user.email, dovecot_user.password, "INBOX", MESSAGES[:1]
        )
        pushed: list[tuple[str, object]] = []
        deadline = time.monotonic() + 10
        while not any(kind == "EXISTS" for kind, _ in pushed) and time.monotonic() < deadline:
            lines = await imap.wait_server_push(timeout=10)
            if isinstance(lines, list):
                pushed += [imapparse.parse_push(line) for line in lines]
        assert ("EXISTS", 5) in pushed, pushed
    finally:
        imap.idle_done()
        await asyncio.wait_for(idle, 10)
