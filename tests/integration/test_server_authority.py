"""Writes follow the IMAP server, not the index: folders and messages changed by another mail
client moments ago. The sync engine is stopped first, so the index cannot have caught up: what
these tests see is the server-authority path, not a lucky sync pass."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.mail.imap import ImapConnection
from tests.integration.conftest import Live, make_message, seed
from tests.servers.fixtures import ImapUser


@pytest.fixture
async def frozen(live: Live, dovecot_user: ImapUser) -> AsyncIterator[str]:
    """A synced account whose index then stops following the server."""
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(f"msg {i}") for i in range(4)])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await live.supervisor.stop()
    yield "acc"


async def _paths(live: Live) -> set[str]:
    return {m["path"] for m in (await live.get("/v1/account/acc/mailboxes"))["mailboxes"]}


async def test_folder_created_elsewhere_can_be_renamed_at_once(
    live: Live, frozen: str, other_client: ImapConnection
) -> None:
    await other_client.create("Elsewhere")
    assert "Elsewhere" not in await _paths(live)
    r = await live.client.put(
        "/v1/account/acc/mailbox", json={"path": "Elsewhere", "newPath": ["Renamed"]}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["renamed"] is True and r.json()["newPath"] == "Renamed"
    assert await other_client.find_folder("Renamed") is not None
    assert await other_client.find_folder("Elsewhere") is None
    assert "Renamed" in await _paths(live)  # the index caught up
    new = [e.payload["path"] for e in await live.events("acc", "mailboxNew")]
    assert "Elsewhere" in new and "Renamed" in new


async def test_folder_created_elsewhere_can_be_unsubscribed_at_once(
    live: Live, frozen: str, other_client: ImapConnection
) -> None:
    await other_client.create("Newsletters")  # created subscribed
    found = await other_client.find_folder("Newsletters")
    assert found is not None and found.subscribed is True
    r = await live.client.put(
        "/v1/account/acc/mailbox", json={"path": "Newsletters", "subscribed": False}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["subscribed"] is False and r.json()["renamed"] is False
    found = await other_client.find_folder("Newsletters")
    assert found is not None and found.subscribed is False
    boxes = {m["path"]: m for m in (await live.get("/v1/account/acc/mailboxes"))["mailboxes"]}
    assert boxes["Newsletters"]["subscribed"] is False


async def test_folder_created_elsewhere_can_be_deleted_and_listed_at_once(
    live: Live, frozen: str, other_client: ImapConnection
) -> None:
    await other_client.create("Fresh")
    await other_client.append("Fresh", make_message("fresh one"))
    page = await live.get("/v1/account/acc/messages", path="Fresh")
    assert page["total"] == 1 and page["messages"][0]["subject"] == "fresh one"
    got = await live.get(f"/v1/account/acc/message/{page['messages'][0]['id']}")
    assert got["path"] == "Fresh"

    await other_client.create("Doomed")
    r = await live.client.delete("/v1/account/acc/mailbox", params={"path": "Doomed"}, headers=live.headers)
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] is True and await other_client.find_folder("Doomed") is None
    r = await live.client.delete("/v1/account/acc/mailbox", params={"path": "Doomed"}, headers=live.headers)
    assert r.status_code == 404 and r.json()["code"] == "MailboxNotFound"


async def test_folder_deleted_elsewhere_is_404_and_leaves_the_index(
    live: Live, frozen: str, other_client: ImapConnection
) -> None:
    r = await live.client.post("/v1/account/acc/mailbox", json={"path": "Shortlived"}, headers=live.headers)
    assert r.status_code == 200 and r.json()["created"] is True
    await other_client.delete("Shortlived")
    r = await live.client.put(
        "/v1/account/acc/mailbox", json={"path": "Shortlived", "newPath": "Other"}, headers=live.headers
    )
    assert r.status_code == 404 and r.json()["code"] == "MailboxNotFound"
    assert "Shortlived" not in await _paths(live)
    assert any(e.payload["path"] == "Shortlived" for e in await live.events("acc", "mailboxDeleted"))


async def test_move_into_a_folder_created_elsewhere(
    live: Live, frozen: str, other_client: ImapConnection
) -> None:
    await other_client.create("Target")
    item = (await live.get("/v1/account/acc/messages"))["messages"][0]
    r = await live.client.put(
        f"/v1/account/acc/message/{item['id']}/move", json={"path": "Target"}, headers=live.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "Target"
    info = await other_client.select("Target", readonly=True)
    assert info.exists == 1


async def _expunge_elsewhere(other: ImapConnection, uid: int) -> None:
    await other.select("INBOX")
    await other.store(str(uid), "+FLAGS.SILENT", ["\\Deleted"])
    await other.expunge(str(uid))


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "", {"flags": {"add": ["\\Flagged"]}}),
        ("PUT", "/move", {"path": "Archive"}),
        ("DELETE", "", None),
        ("DELETE", "?force=true", None),
        ("GET", "", None),
        ("GET", "/source", None),
    ],
)
async def test_message_expunged_elsewhere_is_404_with_messageDeleted(
    live: Live,
    frozen: str,
    other_client: ImapConnection,
    method: str,
    suffix: str,
    body: dict[str, object] | None,
) -> None:
    item = (await live.get("/v1/account/acc/messages"))["messages"][0]
    await _expunge_elsewhere(other_client, item["uid"])
    r = await live.client.request(
        method, f"/v1/account/acc/message/{item['id']}{suffix}", json=body, headers=live.headers
    )
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "MessageNotFound"
    deleted = await live.events("acc", "messageDeleted")
    assert [e.payload["id"] for e in deleted] == [item["id"]]
    ids = {m["id"] for m in (await live.get("/v1/account/acc/messages"))["messages"]}
    assert item["id"] not in ids
    assert (await live.get("/v1/account/acc/messages", path="Archive"))["total"] == 0


async def test_bulk_skips_messages_expunged_elsewhere(
    live: Live, frozen: str, other_client: ImapConnection
) -> None:
    listed = (await live.get("/v1/account/acc/messages"))["messages"]
    await _expunge_elsewhere(other_client, listed[0]["uid"])
    r = await live.client.put(
        "/v1/account/acc/messages/move",
        json={"search": {"subject": "msg"}, "path": "Archive"},
        headers=live.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["moved"] == 3 and len(r.json()["idMap"]) == 3
    assert listed[0]["id"] not in {old for old, _ in r.json()["idMap"]}
    # the expunged one is dropped (and announced) first; the moved ones follow
    assert next(e.payload["id"] for e in await live.events("acc", "messageDeleted")) == listed[0]["id"]
