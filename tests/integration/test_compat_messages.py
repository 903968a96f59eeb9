"""EmailEngine's message and mailbox fields, each with the behaviour it documents, on a real Dovecot."""

from __future__ import annotations

import base64
import email
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest

from tests.integration.conftest import Live, make_message, seed
from tests.servers.fixtures import ImapUser

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
HOSTILE = (
    '<p>Hello <b>bold</b> <a href="javascript:alert(1)">x</a></p><script>alert("boom")</script>'
    '<img src="cid:pic@here" onerror="alert(2)" alt="pic"><div onclick="steal()">click</div>'
)


def html_message() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "h@example.org", "r@example.com", "hostile html"
    msg["Sender"] = "Assistant <assistant@example.org>"
    msg.set_content("plain part")
    msg.add_alternative(HOSTILE, subtype="html")
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<pic@here>")
    return msg.as_bytes()


@pytest.fixture
async def account(live: Live, dovecot_user: ImapUser) -> AsyncIterator[str]:
    await seed(
        live.dovecot,
        dovecot_user,
        "INBOX",
        [
            html_message(),
            make_message("out of office", Auto_Submitted="auto-replied"),
            make_message("human"),
            *[make_message(f"page {i}") for i in range(5)],
        ],
    )
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    yield "acc"


async def by_subject(live: Live, subject: str, path: str = "INBOX") -> dict[str, Any]:
    page = await live.get("/v1/account/acc/messages", path=path, pageSize=100)
    return next(m for m in page["messages"] if m["subject"] == subject)


async def test_web_safe_html_and_embedded_images(live: Live, account: str) -> None:
    item = await by_subject(live, "hostile html")
    url = f"/v1/account/acc/message/{item['id']}"
    raw = (await live.get(url, textType="html"))["text"]
    assert "<script" in raw["html"] and "onerror" in raw["html"] and raw.get("webSafe") is None
    safe = (await live.get(url, textType="html", webSafeHtml="true"))["text"]
    assert safe["webSafe"] is True
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:"):
        assert bad not in safe["html"], bad
    assert "<b>bold</b>" in safe["html"] and 'alt="pic"' in safe["html"]
    embedded = (await live.get(url, textType="html", webSafeHtml="true", embedAttachedImages="true"))["text"]
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in embedded["html"]
    assert "cid:pic@here" not in embedded["html"] and "onerror" not in embedded["html"]
    text = await live.get(f"/v1/account/acc/text/{item['text']['id']}", textType="html", webSafeHtml="true")
    assert text["webSafe"] is True and "<script" not in text["html"]


async def test_sender_auto_reply_and_special_use(live: Live, account: str) -> None:
    hostile = await by_subject(live, "hostile html")
    details = await live.get(f"/v1/account/acc/message/{hostile['id']}")
    assert details["sender"] == {"name": "Assistant", "address": "assistant@example.org"}
    assert details["isAutoReply"] is False and details.get("labels") is None  # Dovecot has no labels
    auto = await live.get(f"/v1/account/acc/message/{(await by_subject(live, 'out of office'))['id']}")
    assert auto["isAutoReply"] is True and auto["sender"] is None
    assert hostile["messageSpecialUse"] == "\\Inbox" and details["messageSpecialUse"] == "\\Inbox"


async def test_search_cursor_pages_like_the_listing(live: Live, account: str) -> None:
    async def search(**params: Any) -> dict[str, Any]:
        r = await live.client.post(
            "/v1/account/acc/search",
            params=params,
            json={"search": {"subject": "page"}},
            headers=live.headers,
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    first = await search(pageSize=2)
    assert first["total"] == 5 and len(first["messages"]) == 2 and first["prevPageCursor"] is None
    seen = [m["subject"] for m in first["messages"]]
    page, cursor = first, first["nextPageCursor"]
    while cursor:
        page = await search(pageSize=2, cursor=cursor)
        seen += [m["subject"] for m in page["messages"]]
        cursor = page["nextPageCursor"]
    assert sorted(seen) == [f"page {i}" for i in range(5)] and page["page"] == 2
    back = await search(pageSize=2, cursor=page["prevPageCursor"])
    assert [m["subject"] for m in back["messages"]] == seen[2:4]
    r = await live.client.post(
        "/v1/account/acc/search", params={"cursor": "garbage"}, json={"search": {}}, headers=live.headers
    )
    assert r.status_code == 400 and r.json()["code"] == "InvalidCursor"


async def test_bulk_answers_id_map_and_email_ids(live: Live, account: str) -> None:
    listed = {m["id"]: m for m in (await live.get("/v1/account/acc/messages", pageSize=100))["messages"]}
    r = await live.client.put(
        "/v1/account/acc/messages/move",
        json={"search": {"subject": "page"}, "path": "Archive"},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["path"] == "Archive" and len(moved["idMap"]) == 5
    archive = {m["id"]: m for m in (await live.get("/v1/account/acc/messages", path="Archive"))["messages"]}
    for old, new in moved["idMap"]:
        assert archive[new]["subject"] == listed[old]["subject"]
    # emailIds as the listing has them: the server's EMAILIDs, absent on servers without OBJECTID
    email_ids = sorted(listed[old]["emailId"] for old, _ in moved["idMap"] if listed[old]["emailId"])
    assert moved.get("emailIds") == (email_ids or None)

    r = await live.client.put(
        "/v1/account/acc/messages/delete?path=Archive",
        json={"search": {"subject": "page 1"}},
        headers=live.headers,
    )
    gone = r.json()
    assert gone["deleted"] is False and gone["moved"]["destination"] == "Trash"
    assert [pair[0] for pair in gone["moved"]["idMap"]] == [
        i for i, m in archive.items() if m["subject"] == "page 1"
    ]
    r = await live.client.put(
        "/v1/account/acc/messages/delete?path=Archive&force=true", json={"search": {}}, headers=live.headers
    )
    final = r.json()
    assert final["deleted"] is True and final["matched"] == 4
    left = sorted(m["emailId"] for m in archive.values() if m["subject"] != "page 1" and m["emailId"])
    assert final["deletedMessages"] == {"emailIds": left or None}
    assert (await live.get("/v1/account/acc/messages", path="Archive"))["total"] == 0

    r = await live.client.put(
        "/v1/account/acc/messages",
        json={"search": {"subject": "human"}, "update": {"flags": {"add": ["\\Flagged"]}}},
        headers=live.headers,
    )
    assert r.json()["flags"] == {"add": True} and r.json()["updated"] == 1
    assert r.json().get("emailIds") == (
        [listed_h] if (listed_h := (await by_subject(live, "human"))["emailId"]) else None
    )


async def test_upload_reply_with_attachments_bcc_and_time_zone(live: Live, account: str) -> None:
    original = await by_subject(live, "human")
    r = await live.client.post(
        "/v1/account/acc/message",
        json={
            "path": "Drafts",
            "reference": {"message": original["id"], "action": "reply", "messageId": original["messageId"]},
            "text": "my answer",
            "to": [{"address": "s@example.org"}],
            "bcc": [{"name": "Hidden Ülle", "address": "hidden@example.net"}],
            "attachments": [{"filename": "notes.txt", "content": base64.b64encode(b"note body").decode()}],
            "locale": "et",
            "tz": "Asia/Kolkata",
        },
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["reference"] == {"message": original["id"], "threadId": original["threadId"], "success": True,
                               "error": None}  # fmt: skip
    assert up["uidValidity"].isdigit()
    src = await live.client.get(f"/v1/account/acc/message/{up['id']}/source", headers=live.headers)
    parsed = email.message_from_bytes(src.content)
    assert parsed["Subject"] == "Re: human"
    assert parsed["In-Reply-To"] == original["messageId"]
    assert "hidden@example.net" in parsed["Bcc"]
    assert parsed["Date"].endswith("+0530")
    draft = await live.get(f"/v1/account/acc/message/{up['id']}")
    assert [a["filename"] for a in draft["attachments"]] == ["notes.txt"]
    att = await live.client.get(
        f"/v1/account/acc/attachment/{draft['attachments'][0]['id']}", headers=live.headers
    )
    assert att.content == b"note body"

    copy = await live.client.post(
        "/v1/account/acc/message",
        json={
            "path": "Drafts",
            "subject": "copied",
            "attachments": [{"reference": draft["attachments"][0]["id"]}],
        },
        headers=live.headers,
    )
    assert copy.status_code == 200, copy.text
    copied = await live.get(f"/v1/account/acc/message/{copy.json()['id']}")
    assert copied["attachments"][0]["filename"] == "notes.txt"


async def test_upload_reference_rules_and_strict_fields(live: Live, account: str) -> None:
    original = await by_subject(live, "human")

    async def upload(body: dict[str, Any]) -> Any:
        return await live.client.post(
            "/v1/account/acc/message", json={"path": "Drafts"} | body, headers=live.headers
        )

    r = await upload({"reference": {"message": original["id"], "messageId": "<other@example.org>"}})
    assert r.status_code == 400 and r.json()["code"] == "MessageIdMismatch"
    missing = "AAAAAQAAAAEAAAAB"
    r = await upload({"reference": {"message": missing}, "subject": "x"})
    assert r.status_code == 404
    r = await upload({"reference": {"message": missing, "ignoreMissing": True}, "subject": "kept"})
    assert r.status_code == 200 and r.json()["reference"]["success"] is False
    r = await upload({"subject": "x", "tz": "Mars/Olympus"})
    assert r.status_code == 400 and "tz" in r.json()["details"]
    r = await upload({"subject": "x", "nonsense": 1})
    assert r.status_code == 400 and "nonsense" in str(r.json()["details"])
    r = await live.client.post(
        "/v1/account/acc/search", json={"search": {"gmailRaw": "in:inbox"}}, headers=live.headers
    )
    assert r.status_code == 400 and "gmailRaw" in r.json()["details"]
    r = await live.client.put(
        f"/v1/account/acc/message/{original['id']}", json={"labels": {"add": ["Work"]}}, headers=live.headers
    )
    assert r.status_code == 400 and "labels" in r.json()["details"]
    r = await live.client.put(
        f"/v1/account/acc/message/{original['id']}/move",
        json={"path": "INBOX", "source": "INBOX", "bogus": True},
        headers=live.headers,
    )
    assert (
        r.status_code == 400
        and "bogus" in str(r.json()["details"])
        and "source" not in str(r.json()["details"])
    )


async def test_mailbox_ids_and_openapi_lists_the_fields(live: Live, account: str) -> None:
    r = await live.client.post(
        "/v1/account/acc/mailbox", json={"path": ["Projects", "Q3"]}, headers=live.headers
    )
    created = r.json()
    assert created["created"] is True
    r = await live.client.put(
        "/v1/account/acc/mailbox",
        json={"path": "Projects/Q3", "newPath": ["Projects", "Q4"]},
        headers=live.headers,
    )
    renamed = r.json()
    assert renamed["newPath"] == "Projects/Q4"
    if created["mailboxId"] is not None:  # a server with OBJECTID: the id survives the rename
        assert renamed["mailboxId"] == created["mailboxId"]
    spec = await live.get("/openapi.json")
    text = str(spec)
    for name in ("webSafeHtml", "embedAttachedImages", "isAutoReply", "messageSpecialUse", "idMap",
                 "deletedMessages", "mailboxId", "useOutlookSearch", "forwardAttachments", "uidValidity"):  # fmt: skip
        assert name in text, name
