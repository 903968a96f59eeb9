"""Mailbox and message routes against a synced account on a real Dovecot."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest

from app.mail.imap import ImapConnection
from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.servers.fixtures import ImapUser

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def rich_message() -> bytes:
    """mixed > (alternative > (plain, related > (html, inline png)), pdf attachment with a non-ASCII name)."""
    msg = EmailMessage()
    msg["From"] = "=?utf-8?q?J=C3=BCrgen?= <j@example.org>"
    msg["To"] = "a@example.com, B <b@example.com>"
    msg["Cc"] = "c@example.com"
    msg["Subject"] = "Grüße – report"
    msg["Message-ID"] = "<rich-1@example.org>"
    msg["References"] = "<r0@example.org> <r1@example.org>"
    msg["In-Reply-To"] = "<r1@example.org>"
    msg.set_content("Plain body with ümlauts")
    msg.add_alternative('<p>HTML body <img src="cid:logo@x"></p>', subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<logo@x>", filename="logo.png")
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="Bericht äöü.pdf")
    return msg.as_bytes()


BROKEN = [
    # 8-bit header and body with no charset, no Message-ID
    b"From: Ols\xe9n <o@example.org>\r\nTo: r@example.com\r\nSubject: caf\xe9 8bit\r\n\r\nna\xefve body\r\n",
    # an unknown charset and a missing closing boundary
    b'From: x@example.org\r\nSubject: bogus\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n'
    b'\r\n--b1\r\nContent-Type: text/plain; charset="x-bogus"\r\n\r\nstill readable\r\n--b1\r\n'
    b"Content-Type: application/octet-stream; name=blob.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n!!notbase64\r\n",
    # RFC 2047 subject in a charset Python knows under another name
    b"From: k@example.org\r\nSubject: =?ks_c_5601-1987?B?x9Gxub7uILjewM8=?=\r\n\r\nbody\r\n",
]


@pytest.fixture
async def account(live: Live, dovecot_user: ImapUser) -> AsyncIterator[str]:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(f"plain {i}") for i in range(3)])
    await seed(live.dovecot, dovecot_user, "INBOX", [rich_message(), *BROKEN])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    yield "acc"


async def entry(live: Live, subject: str, path: str = "INBOX") -> dict:  # type: ignore[type-arg]
    page = await live.get("/v1/account/acc/messages", path=path, pageSize=100)
    return next(m for m in page["messages"] if m["subject"] == subject)


async def test_rich_message_entry_and_details(live: Live, account: str) -> None:
    item = await entry(live, "Grüße – report")
    assert item["from"] == {"name": "Jürgen", "address": "j@example.org"}
    assert [a["address"] for a in item["to"]] == ["a@example.com", "b@example.com"]
    assert item["messageId"] == "<rich-1@example.org>" and item["inReplyTo"] == "<r1@example.org>"
    attachments = {a["filename"]: a for a in item["attachments"]}
    assert attachments["logo.png"]["embedded"] is True and attachments["logo.png"]["contentId"] == "logo@x"
    assert attachments["Bericht äöü.pdf"]["contentType"] == "application/pdf"
    assert attachments["Bericht äöü.pdf"]["embedded"] is False

    details = await live.get(f"/v1/account/acc/message/{item['id']}", textType="*")
    assert details["text"]["plain"].strip() == "Plain body with ümlauts"
    assert "cid:logo@x" in details["text"]["html"] and details["text"]["hasMore"] is False
    assert details["references"] == ["<r0@example.org>", "<r1@example.org>"]
    assert details["headers"]["subject"] == ["Grüße – report"]
    no_text = await live.get(f"/v1/account/acc/message/{item['id']}")
    assert no_text["text"]["plain"] is None and no_text["text"]["id"] == item["text"]["id"]
    short = await live.get(f"/v1/account/acc/message/{item['id']}", textType="plain", maxBytes=5)
    assert (
        short["text"]["plain"] == "Plain"
        and short["text"]["hasMore"] is True
        and short["text"]["html"] is None
    )

    text = await live.get(f"/v1/account/acc/text/{item['text']['id']}", textType="html")
    assert text["plain"] is None and "HTML body" in text["html"]

    r = await live.client.get(
        f"/v1/account/acc/attachment/{attachments['logo.png']['id']}", headers=live.headers
    )
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    r = await live.client.get(
        f"/v1/account/acc/attachment/{attachments['Bericht äöü.pdf']['id']}", headers=live.headers
    )
    assert (
        r.content == b"%PDF-1.4 fake"
        and "Bericht%20%C3%A4%C3%B6%C3%BC.pdf" in r.headers["content-disposition"]
    )

    r = await live.client.get(f"/v1/account/acc/message/{item['id']}/source", headers=live.headers)
    assert r.status_code == 200 and r.headers["content-type"] == "message/rfc822"
    assert b"Message-ID: <rich-1@example.org>" in r.content


async def test_malformed_messages_do_not_break_anything(live: Live, account: str) -> None:
    page = await live.get("/v1/account/acc/messages", pageSize=100)
    assert page["total"] == 7
    for item in page["messages"]:
        details = await live.get(f"/v1/account/acc/message/{item['id']}", textType="*")
        assert details["id"] == item["id"]
    bogus = await entry(live, "bogus")
    details = await live.get(f"/v1/account/acc/message/{bogus['id']}", textType="plain")
    assert "still readable" in details["text"]["plain"]
    korean = next(m for m in page["messages"] if m["subject"] and m["subject"].startswith("한국"))
    assert korean["subject"] == "한국어 메일"
    eight_bit = next(m for m in page["messages"] if m["subject"] and "8bit" in m["subject"])
    assert eight_bit["messageId"] is None


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_flags_move_delete(live: Live, account: str) -> None:
    item = await entry(live, "plain 0")
    url = f"/v1/account/acc/message/{item['id']}"
    r = await live.client.put(url, json={"flags": {"add": ["\\Flagged", "$Work"]}}, headers=live.headers)
    assert r.status_code == 200 and r.json()["flags"]["add"] is True
    assert "$Work" in r.json()["flags"]["result"]
    updated = await entry(live, "plain 0")
    assert updated["flagged"] is True and "$Work" in updated["flags"]
    events = await live.events("acc", "messageUpdated")
    assert len(events) == 1 and events[0].payload["changes"]["flags"]["added"] == ["$Work", "\\Flagged"]

    r = await live.client.put(f"{url}/move", json={"path": "Archive"}, headers=live.headers)
    moved = r.json()
    assert r.status_code == 200 and moved["path"] == "Archive" and moved["id"] != item["id"]
    assert (await live.client.get(url, headers=live.headers)).status_code == 404
    there = await live.get(f"/v1/account/acc/message/{moved['id']}")
    assert there["subject"] == "plain 0" and there["flagged"] is True

    r = await live.client.delete(f"/v1/account/acc/message/{moved['id']}", headers=live.headers)
    body = r.json()
    assert body["deleted"] is False and body["moved"]["destination"] == "Trash"
    in_trash = body["moved"]["message"]
    assert (await live.get(f"/v1/account/acc/message/{in_trash}"))["path"] == "Trash"
    r = await live.client.delete(f"/v1/account/acc/message/{in_trash}", headers=live.headers)
    assert r.json() == {"deleted": True, "moved": None}
    assert (
        await live.client.get(f"/v1/account/acc/message/{in_trash}", headers=live.headers)
    ).status_code == 404

    other = await entry(live, "plain 1")
    r = await live.client.delete(f"/v1/account/acc/message/{other['id']}?force=true", headers=live.headers)
    assert r.json()["deleted"] is True
    assert (await live.get("/v1/account/acc/messages", path="Trash"))["total"] == 0


async def test_mark_as_seen(live: Live, account: str) -> None:
    item = await entry(live, "plain 2")
    assert item["unseen"] is True
    await live.get(f"/v1/account/acc/message/{item['id']}", markAsSeen="true")
    assert (await entry(live, "plain 2"))["unseen"] is False


async def test_upload(live: Live, account: str) -> None:
    raw = make_message("uploaded raw")
    r = await live.client.post(
        "/v1/account/acc/message",
        json={"path": "Drafts", "flags": ["\\Draft"], "raw": base64.b64encode(raw).decode()},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["path"] == "Drafts" and up["uid"] >= 1 and up["messageId"].startswith("<")
    got = await live.get(f"/v1/account/acc/message/{up['id']}")
    assert got["subject"] == "uploaded raw" and got["draft"] is True
    r = await live.client.post(
        "/v1/account/acc/message",
        json={"path": "Drafts", "subject": "built", "html": "<p>Hello <b>there</b></p>",
              "to": [{"name": "R", "address": "r@example.com"}]},
        headers=live.headers,
    )  # fmt: skip
    built = await live.get(f"/v1/account/acc/message/{r.json()['id']}", textType="*")
    assert "Hello" in built["text"]["plain"] and "<b>there</b>" in built["text"]["html"]
    assert built["from"]["address"] == "acc" or built["from"]["address"].endswith("@example.com")


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_search(live: Live, account: str, dovecot_user: ImapUser) -> None:
    async def search(criteria: dict, **params: object) -> list[str]:  # type: ignore[type-arg]
        r = await live.client.post(
            "/v1/account/acc/search", params=params, json={"search": criteria}, headers=live.headers
        )
        assert r.status_code == 200, r.text
        return sorted(m["subject"] for m in r.json()["messages"])

    assert await search({"subject": "PLAIN"}) == ["plain 0", "plain 1", "plain 2"]
    assert await search({"from": "jürgen"}) == ["Grüße – report"]
    assert await search({"to": "b@example.com"}) == ["Grüße – report"]
    assert await search({"body": "ümlauts"}) == ["Grüße – report"]  # IMAP SEARCH
    assert await search({"header": {"References": "r0@example.org"}}) == ["Grüße – report"]
    assert await search({"subject": "plain", "larger": 10_000_000}) == []
    assert len(await search({"unseen": True})) == 7
    item = await entry(live, "plain 1")
    assert await search({"uid": str(item["uid"])}) == ["plain 1"]
    assert await search({"subject": "plain"}, pageSize=2) != []
    for bad in (
        {"unseen": "maybe"},
        {"uid": "1:x"},
        {"nonsense": 1},
        {"larger": -1},
        {"header": {"bad name": "x"}},
    ):
        r = await live.client.post("/v1/account/acc/search", json={"search": bad}, headers=live.headers)
        assert r.status_code == 400, bad


async def test_bulk_operations(live: Live, account: str) -> None:
    r = await live.client.put(
        "/v1/account/acc/messages", json={"search": {"subject": "plain"}, "update": {"flags": {"add": ["\\Seen"]}}},
        headers=live.headers,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["matched"] == 3
    assert all(
        not m["unseen"]
        for m in (await live.get("/v1/account/acc/messages"))["messages"]
        if m["subject"].startswith("plain")
    )
    r = await live.client.put(
        "/v1/account/acc/messages/move",
        json={"search": {"seen": True}, "path": "Archive"},
        headers=live.headers,
    )
    assert r.json()["moved"] == 3
    assert (await live.get("/v1/account/acc/messages", path="Archive"))["total"] == 3
    r = await live.client.put(
        "/v1/account/acc/messages/delete?path=Archive&force=true", json={"search": {}}, headers=live.headers
    )
    assert r.json()["deleted"] is True and r.json()["matched"] == 3
    assert (await live.get("/v1/account/acc/messages", path="Archive"))["total"] == 0


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_mailbox_routes(live: Live, account: str, other_client: ImapConnection) -> None:
    r = await live.client.post(
        "/v1/account/acc/mailbox", json={"path": ["Clients", "Acme Ünï"]}, headers=live.headers
    )
    assert r.status_code == 200
    assert r.json()["path"] == "Clients/Acme Ünï" and r.json()["created"] is True
    again = await live.client.post(
        "/v1/account/acc/mailbox", json={"path": "Clients/Acme Ünï"}, headers=live.headers
    )
    assert again.json()["created"] is False
    await other_client.append("Clients/Acme Ünï", make_message("for acme"))

    async def indexed() -> bool:
        return (await live.get("/v1/account/acc/messages", path="Clients/Acme Ünï"))["total"] == 1

    await wait_until(indexed, 6, "new folder never indexed")
    old_id = (await live.get("/v1/account/acc/messages", path="Clients/Acme Ünï"))["messages"][0]["id"]
    r = await live.client.put(
        "/v1/account/acc/mailbox",
        json={"path": "Clients/Acme Ünï", "newPath": "Clients/Acme"},
        headers=live.headers,
    )
    assert r.json()["renamed"] is True
    assert (await live.get(f"/v1/account/acc/message/{old_id}"))["path"] == "Clients/Acme"
    r = await live.client.delete(
        "/v1/account/acc/mailbox", params={"path": "Clients/Acme"}, headers=live.headers
    )
    assert r.json()["path"] == "Clients/Acme" and r.json()["deleted"] is True
    paths = {m["path"] for m in (await live.get("/v1/account/acc/mailboxes"))["mailboxes"]}
    assert "Clients/Acme" not in paths
    r = await live.client.delete("/v1/account/acc/mailbox", params={"path": "Nope"}, headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "MailboxNotFound"
    r = await live.client.delete("/v1/account/acc/mailbox", params={"path": "INBOX"}, headers=live.headers)
    assert r.status_code == 400


async def test_bad_ids_and_paths(live: Live, account: str) -> None:
    for url in (
        "/v1/account/acc/message/AAAA",
        "/v1/account/acc/message/not-base64-%25",
        "/v1/account/acc/message/AAAAAQAAAAEAAAAB",
        "/v1/account/acc/text/AAAA",
        "/v1/account/acc/attachment/AAAAAQAAAAEAAAABQTE",
        "/v1/account/acc/message/" + "A" * 3000,
    ):
        r = await live.client.get(url, headers=live.headers)
        assert r.status_code == 404, (url, r.text)
    r = await live.client.get("/v1/account/acc/messages", params={"path": "No/Such"}, headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "MailboxNotFound"
    r = await live.client.get("/v1/account/acc/messages", params={"pageSize": 1001}, headers=live.headers)
    assert r.status_code == 400
    item = await entry(live, "plain 0")
    r = await live.client.put(f"/v1/account/acc/message/{item['id']}", json={"flags": {"add": ["bad flag"]}},
                              headers=live.headers)  # fmt: skip
    assert r.status_code == 400
    r = await live.client.put(
        f"/v1/account/acc/message/{item['id']}/move", json={"path": "Nowhere"}, headers=live.headers
    )
    assert r.status_code == 404
