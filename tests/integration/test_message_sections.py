"""Reading a message shows the same thing whether it is read section by section (its header,
its text parts, one attachment) or from the whole source, on Dovecot, for a corpus of message
shapes; and section reads really leave the whole source on the server."""

from __future__ import annotations

import base64
from typing import Any

from app.services.cache import SizedLRU
from tests.integration.conftest import Live, seed, wait_until
from tests.servers.fixtures import ImapUser

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8
HEAD = "From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nTo: r@example.com\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def msg(subject: str, rest: str) -> bytes:
    return (f"{HEAD}Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n" + rest).encode("latin-1")


def raw(subject: str, rest: bytes) -> bytes:
    return f"{HEAD}Subject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n".encode() + rest


CORPUS: dict[str, bytes] = {
    "plain": raw(
        "plain",
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
        "References: <a@x> <b@x>\r\n\r\nGrüße aus Köln, eine lange Zeile mit Umlauten äöü.\r\n".encode(),
    ),
    "alternative": msg(
        "alternative",
        'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Caf=C3=A9 cr=C3=A8me, soft=\r\nbreak here.\r\n"
        "--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64("<p>Café <b>crème</b></p>".encode())
        + "--alt--\r\n",
    ),
    "mixed": msg(
        "mixed",
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="mix"\r\n\r\n'
        "--mix\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the files.\r\n"
        '--mix\r\nContent-Type: application/pdf; name="doc.pdf"\r\n'
        'Content-Disposition: attachment; filename="doc.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF)
        + "--mix\r\nContent-Type: text/csv; charset=iso-8859-1\r\n"
        "Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.csv\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\na;b\r\n1;=E9\r\n"
        "--mix--\r\n",
    ),
    "related": msg(
        "related",
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        '--outer\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
        "--alt\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Quotes \x93here\x94 \x80 5\r\n"
        '--alt\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
        "--rel\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        '<html><head><meta charset="windows-1252"></head><body>Logo \x93<img src="cid:logo@x"></body></html>\r\n'
        "--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(PNG)
        + "--rel--\r\n--alt--\r\n"
        '--outer\r\nContent-Type: application/octet-stream; name="data.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + b64(bytes(range(200))) + "--outer--\r\n",
    ),
    "latin1": msg(
        "latin1",
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\nD=E9j=E0 vu, na=EFve fa=E7ade.\r\n",
    ),
    "flowed": msg(
        "flowed",
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\n"
        "This is a long para \r\ngraph that flows  \r\nover lines.\r\n> quoted  \r\n> text\r\n-- \r\nsig\r\n",
    ),
    "forwarded": msg(
        "forwarded",
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="fw"\r\n\r\n'
        "--fw\r\n\r\nForwarded below, in a part without a header.\r\n"
        '--fw\r\nContent-Type: message/rfc822; name="inner.eml"\r\n\r\n'
        "From: inner@example.org\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="in"\r\n\r\n'
        "--in\r\nContent-Type: text/plain\r\n\r\nInner text.\r\n"
        '--in\r\nContent-Type: application/pdf; name="inner.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(PDF[:300])
        + "--in--\r\n--fw--\r\n",
    ),
    "notext": msg(
        "notext",
        'MIME-Version: 1.0\r\nContent-Type: application/pdf; name="only.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + b64(PDF[:500]),
    ),
    "htmlonly": msg(
        "htmlonly",
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(("<div>" + "Zeile ä " * 300 + "</div>").encode()),
    ),
}

QUERIES: list[dict[str, Any]] = [
    {},
    {"textType": "plain"},
    {"textType": "html"},
    {"textType": "*"},
    {"textType": "*", "maxBytes": 12},
    {"textType": "*", "maxBytes": 7},
    {"textType": "*", "maxBytes": 100_000},
    {"textType": "html", "webSafeHtml": "true"},
    {"textType": "*", "embedAttachedImages": "true"},
]
TEXT_QUERIES: list[dict[str, Any]] = [
    {"textType": "plain"},
    {"textType": "html"},
    {"textType": "*"},
    {"textType": "*", "maxBytes": 9},
]


async def read_all(live: Live, account: str, listed: list[dict[str, Any]]) -> dict[str, Any]:
    """Every read of every message, by what was asked."""
    out: dict[str, Any] = {}
    for m in listed:
        subject = m["subject"]
        for q in QUERIES:
            out[f"{subject} message {q}"] = await live.get(f"/v1/account/{account}/message/{m['id']}", **q)
        text_id = (m.get("text") or {}).get("id")
        if text_id:
            for q in TEXT_QUERIES:
                out[f"{subject} text {q}"] = await live.get(f"/v1/account/{account}/text/{text_id}", **q)
        for a in m.get("attachments") or []:
            r = await live.client.get(f"/v1/account/{account}/attachment/{a['id']}", headers=live.headers)
            assert r.status_code == 200, r.text
            out[f"{subject} attachment {a['id']}"] = (
                r.content,
                r.headers["content-type"],
                r.headers.get("content-disposition"),
            )
    return out


async def wire_log(live: Live, account: str) -> str:
    r = await live.client.get(f"/v1/logs/{account}", headers=live.headers)
    assert r.status_code == 200
    return r.text


async def test_section_reads_match_whole_source_reads(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", list(CORPUS.values()))
    account = await live.register(dovecot_user, logs=True)
    await live.wait_state(account, "connected")
    await check_corpus(live, account)


async def check_corpus(live: Live, account: str) -> None:
    """Every read of the seeded corpus by sections, then again from the whole sources."""
    listed: list[dict[str, Any]] = []

    async def indexed() -> bool:
        nonlocal listed
        listed = (await live.get(f"/v1/account/{account}/messages", path="INBOX"))["messages"]
        return len(listed) == len(CORPUS)

    await wait_until(indexed, 15.0, "the corpus was never indexed")
    assert {m["subject"] for m in listed} == set(CORPUS)
    assert sum(len(m.get("attachments") or []) for m in listed) == 6

    by_sections = await read_all(live, account, listed)
    log = await wire_log(live, account)
    assert "BODY.PEEK[]" not in log, log
    assert log.count("BODY.PEEK[HEADER]") >= len(CORPUS), log
    assert "BODY.PEEK[1.2.1.MIME]" in log and "BODY.PEEK[1.2.2]" in log, log

    # The whole-source reads: every source cached, nothing decoded from sections kept.
    for m in listed:
        r = await live.client.get(f"/v1/account/{account}/message/{m['id']}/source", headers=live.headers)
        assert r.status_code == 200
    live.ctx.parts = SizedLRU(16 << 20, 4 << 20)
    by_source = await read_all(live, account, listed)
    assert by_sections.keys() == by_source.keys()
    for key, value in by_source.items():
        assert by_sections[key] == value, key

    # The corpus is read the way the parser reads it (not just the same way twice).
    related = next(m for m in listed if m["subject"] == "related")
    shown = by_sections[f"related message {QUERIES[3]}"]["text"]
    assert shown["plain"] == "Quotes \u201chere\u201d \u20ac 5"
    assert "Logo \u201c" in shown["html"]
    embedded = by_sections[f"related message {QUERIES[8]}"]["text"]["html"]
    assert "data:image/png;base64," in embedded and related["attachments"][0]["embedded"]
    forwarded = by_sections[f"forwarded message {QUERIES[1]}"]["text"]["plain"]
    assert forwarded == "Forwarded below, in a part without a header."
    flowed = by_sections[f"flowed message {QUERIES[1]}"]["text"]["plain"]
    assert flowed == "This is a long paragraph that flows over lines.\n> quoted text\n-- \nsig\n"
    cut = by_sections[f"htmlonly message {QUERIES[4]}"]["text"]
    assert cut["plain"] is None and cut["hasMore"] is True and len(cut["html"].encode()) <= 12
    whole = by_sections[f"htmlonly message {QUERIES[6]}"]["text"]
    assert whole["hasMore"] is False and whole["html"].count("Zeile ä") == 300
    [pdf, csv] = next(m for m in listed if m["subject"] == "mixed")["attachments"]
    assert by_sections[f"mixed attachment {pdf['id']}"][0] == PDF
    assert by_sections[f"mixed attachment {csv['id']}"][0] == "a;b\r\n1;é".encode("latin-1")
    [only] = next(m for m in listed if m["subject"] == "notext")["attachments"]
    assert by_sections[f"notext attachment {only['id']}"][:2] == (PDF[:500], "application/pdf")
