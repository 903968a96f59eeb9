"""The sync engine against a real Dovecot: lifecycle, initial index, live changes, failures."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from app.mail.imap import ImapConnection
from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.servers.fixtures import ImapUser


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_connects_and_indexes(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(f"m{i}") for i in range(30)])
    await seed(live.dovecot, dovecot_user, "Sent", [make_message("sent1"), make_message("sent2")], "\\Seen")
    # INTERNALDATE has one-second resolution: mail from the registration's own second counts as new.
    later = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    await live.register(dovecot_user, notifyFrom=later)
    info = await live.wait_state("acc", "connected")
    assert info["syncTime"] is not None and info["lastError"] is None

    boxes = {
        m["path"]: m for m in (await live.get("/v1/account/acc/mailboxes", counters="true"))["mailboxes"]
    }
    assert {"INBOX", "Sent", "Drafts", "Trash", "Archive"} <= set(boxes)
    assert boxes["INBOX"]["messages"] == 30 and boxes["INBOX"]["status"] == {"messages": 30, "unseen": 30}
    assert boxes["Sent"]["specialUse"] == "\\Sent" and boxes["Sent"]["status"] == {"messages": 2, "unseen": 0}
    assert boxes["INBOX"]["specialUse"] == "\\Inbox"

    page = await live.get("/v1/account/acc/messages", path="INBOX", pageSize=10)
    assert (page["total"], page["pages"], page["page"]) == (30, 3, 0)
    assert [m["subject"] for m in page["messages"]] == [f"m{i}" for i in range(29, 19, -1)]
    first = page["messages"][0]
    assert first["from"] == {"name": "Sender", "address": "s@example.org"}
    assert first["to"] == [{"name": "Rcpt", "address": "r@example.com"}]
    assert first["unseen"] is True and first["path"] == "INBOX" and first["messageId"].startswith("<")
    assert first["text"]["encodedSize"]["plain"] > 0
    assert first["preview"] == "Hi there"  # the server's PREVIEW (RFC 8970), indexed
    sent = await live.get("/v1/account/acc/messages", path="\\Sent")
    assert {m["subject"] for m in sent["messages"]} == {"sent1", "sent2"}

    kinds = [e.type for e in await live.events("acc")]
    assert "authenticationSuccess" in kinds and kinds.count("accountInitialized") == 1
    assert "messageNew" not in kinds  # all of it predates notifyFrom


async def test_cursor_paging(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message(f"c{i}") for i in range(7)])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    seen: list[str] = []
    page = await live.get("/v1/account/acc/messages", pageSize=3)
    cursors = []
    while True:
        seen += [m["subject"] for m in page["messages"]]
        cursors.append(page)
        if not page["nextPageCursor"]:
            break
        page = await live.get("/v1/account/acc/messages", pageSize=3, cursor=page["nextPageCursor"])
    assert seen == [f"c{i}" for i in range(6, -1, -1)]
    assert [p["page"] for p in cursors] == [0, 1, 2]
    back = await live.get("/v1/account/acc/messages", pageSize=3, cursor=cursors[2]["prevPageCursor"])
    assert [m["subject"] for m in back["messages"]] == ["c3", "c2", "c1"] and back["page"] == 1
    r = await live.client.get("/v1/account/acc/messages", params={"cursor": "garbage!"}, headers=live.headers)
    assert r.status_code == 400 and r.json()["code"] == "InvalidCursor"


async def test_notify_from_in_the_past_emits_message_new(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message("old news")])
    await live.register(dovecot_user, notifyFrom="2000-01-01T00:00:00Z")
    events = await live.wait_event("acc", "messageNew")
    assert events[0].payload["subject"] == "old news" and events[0].path == "INBOX"


async def test_new_mail_in_inbox_arrives_by_idle(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await asyncio.sleep(0.3)  # let the watcher enter IDLE
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message("pushed", "pushed body")])
    event = (await live.wait_event("acc", "messageNew", timeout=5))[0]
    assert event.path == "INBOX"
    entry = event.payload
    assert entry["subject"] == "pushed" and entry["path"] == "INBOX" and entry["unseen"] is True
    listed = await live.get("/v1/account/acc/messages")
    assert listed["messages"][0]["id"] == entry["id"]


async def test_new_mail_in_other_folders_is_polled(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await seed(live.dovecot, dovecot_user, "Archive", [make_message("archived")])
    event = (await live.wait_event("acc", "messageNew", timeout=6))[0]
    assert event.path == "Archive" and event.payload["subject"] == "archived"
    assert event.payload["specialUse"] == "\\Archive"


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_external_changes(live: Live, dovecot_user: ImapUser, other_client: ImapConnection) -> None:
    uids = await seed(live.dovecot, dovecot_user, "INBOX", [make_message(f"x{i}") for i in range(4)])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await other_client.select("INBOX")
    # A flag change.
    await other_client.store(str(uids[0]), "+FLAGS", ["\\Seen", "$Important"])
    updated = (await live.wait_event("acc", "messageUpdated"))[0].payload
    assert updated["uid"] == uids[0]
    assert updated["changes"]["flags"]["added"] == ["$Important", "\\Seen"]
    listing = await live.get("/v1/account/acc/messages")
    assert next(m for m in listing["messages"] if m["uid"] == uids[0])["unseen"] is False
    # An expunge.
    await other_client.store(str(uids[1]), "+FLAGS.SILENT", ["\\Deleted"])
    await other_client.expunge([uids[1]])
    deleted = (await live.wait_event("acc", "messageDeleted"))[0].payload
    assert deleted["uid"] == uids[1]
    # A move to another folder: gone here, indexed there.
    await other_client.move([uids[2]], "Archive")
    await live.wait_event("acc", "messageDeleted", count=2)

    async def archived() -> bool:
        page = await live.get("/v1/account/acc/messages", path="Archive")
        return [m["subject"] for m in page["messages"]] == ["x2"]

    await wait_until(archived, 6, "moved message never showed up in Archive")
    assert (await live.get("/v1/account/acc/messages"))["total"] == 2


async def test_folders_created_and_deleted(
    live: Live, dovecot_user: ImapUser, other_client: ImapConnection
) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await other_client.create("Projects/Ünïcode")
    new = await live.wait_event("acc", "mailboxNew", timeout=6)
    assert {e.payload["path"] for e in new} >= {"Projects/Ünïcode"}
    boxes = {m["path"]: m for m in (await live.get("/v1/account/acc/mailboxes"))["mailboxes"]}
    assert (
        boxes["Projects/Ünïcode"]["name"] == "Ünïcode"
        and boxes["Projects/Ünïcode"]["parentPath"] == "Projects"
    )
    await other_client.delete("Projects/Ünïcode")
    gone = await live.wait_event("acc", "mailboxDeleted", timeout=6)
    assert gone[0].payload["path"] == "Projects/Ünïcode"


@pytest.mark.parametrize("live", ["sqlite", "postgres"], indirect=True)
async def test_uidvalidity_change_reindexes(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "Archive", [make_message("before")])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    old = (await live.get("/v1/account/acc/messages", path="Archive"))["messages"][0]["id"]
    live.dovecot.doveadm("mailbox", "update", "-u", dovecot_user.email, "--uid-validity", "12345", "Archive")
    reset = (await live.wait_event("acc", "mailboxReset", timeout=8))[0].payload
    assert reset["uidValidity"] == "12345" and reset["path"] == "Archive"

    async def reindexed() -> bool:
        page = await live.get("/v1/account/acc/messages", path="Archive")
        return len(page["messages"]) == 1 and page["messages"][0]["id"] != old

    await wait_until(reindexed, 6, "Archive was not reindexed")
    r = await live.client.get(f"/v1/account/acc/message/{old}", headers=live.headers)
    assert r.status_code == 404  # the old id is never reused for another message


async def test_wrong_password_then_fixed(live: Live, dovecot_user: ImapUser) -> None:
    wrong = {"user": dovecot_user.email, "pass": "wrong"}
    await live.register(dovecot_user, imap=live.imap_settings(dovecot_user, auth=wrong))
    info = await live.wait_state("acc", "authenticationError")
    assert "AUTHENTICATIONFAILED" in info["lastError"]["response"]
    assert info["lastError"]["serverResponseCode"] == "AUTHENTICATIONFAILED"
    assert await live.events("acc", "authenticationError")
    r = await live.client.get("/v1/account/acc/messages", headers=live.headers)
    assert r.status_code == 503 and r.json()["code"] == "AuthenticationFails"
    r = await live.client.put("/v1/account/acc", json={"imap": {"partial": True, "auth": {
        "user": dovecot_user.email, "pass": dovecot_user.password}}}, headers=live.headers)  # fmt: skip
    assert r.status_code == 200
    info = await live.wait_state("acc", "connected", timeout=10)
    assert info["lastError"] is None


async def test_unreachable_server(live: Live, dovecot_user: ImapUser) -> None:
    from tests.servers.ports import free_port

    await live.register(dovecot_user, imap=live.imap_settings(dovecot_user, port=free_port()))
    info = await live.wait_state("acc", "connectError")
    assert info["lastError"]["code"] == "ECONNREFUSED"
    r = await live.client.get("/v1/account/acc/mailboxes", headers=live.headers)
    assert r.status_code == 503 and r.json()["code"] == "ConnectionError"


async def test_kicked_connection_reconnects(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await asyncio.sleep(0.3)
    live.dovecot.kick(dovecot_user.email)
    await live.wait_event("acc", "authenticationSuccess", count=2, timeout=10)
    await live.wait_state("acc", "connected")
    # …and it is live again: new mail still arrives.
    await asyncio.sleep(0.3)
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message("after kick")])
    await live.wait_event("acc", "messageNew", timeout=6)


async def test_server_restart_reconnects(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await asyncio.to_thread(live.dovecot.restart)
    await live.wait_event("acc", "authenticationSuccess", count=2, timeout=15)
    await live.wait_state("acc", "connected")


async def test_send_only_and_path_filter(live: Live, dovecot_user: ImapUser) -> None:
    await live.register(dovecot_user, account="sendonly", imap=False)
    await live.register(dovecot_user, account="some", path=["INBOX", "Archive"])
    await live.wait_state("some", "connected")
    boxes = {m["path"] for m in (await live.get("/v1/account/some/mailboxes"))["mailboxes"]}
    assert boxes == {"INBOX", "Archive"}
    assert await live.state("sendonly") == "unset"
    r = await live.client.get("/v1/account/sendonly/messages", headers=live.headers)
    assert r.status_code == 503 and r.json()["code"] == "NotSyncing"


async def test_delete_account_closes_and_drops_index(live: Live, dovecot_user: ImapUser) -> None:
    await seed(live.dovecot, dovecot_user, "INBOX", [make_message("doomed")])
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    assert "acc" in live.supervisor.workers
    assert (await live.client.delete("/v1/account/acc", headers=live.headers)).status_code == 200

    async def stopped() -> bool:
        return "acc" not in live.supervisor.workers

    await wait_until(stopped, 5, "worker still running")
    from sqlalchemy import func, select

    from app.models import Mailbox, Message

    async with live.ctx.db.core() as s:
        assert (await s.execute(select(func.count()).select_from(Message))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(Mailbox))).scalar_one() == 0


async def test_one_owner_per_account(live: Live, dovecot_user: ImapUser) -> None:
    from app.sync.supervisor import Supervisor

    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    second = Supervisor(live.ctx, owner="second")
    assert "acc" not in await second.claim()
    await live.supervisor.stop()  # releases its leases
    assert "acc" in await second.claim()


@pytest.mark.parametrize("command", ["reconnect", "sync"])
async def test_reconnect_and_sync_act_at_once(live: Live, dovecot_user: ImapUser, command: str) -> None:
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    before = len(await live.events("acc", "authenticationSuccess"))
    r = await live.client.put(f"/v1/account/acc/{command}", headers=live.headers)
    assert r.status_code == 200
    if command == "reconnect":
        await live.wait_event("acc", "authenticationSuccess", count=before + 1, timeout=5)
    else:
        await seed(live.dovecot, dovecot_user, "Drafts", [make_message("draft")])
        await live.client.put("/v1/account/acc/sync", headers=live.headers)
        event = (await live.wait_event("acc", "messageNew", timeout=3))[0]
        assert event.path == "Drafts"


def test_doveadm_available() -> None:
    assert subprocess.run(["doveadm", "help"], capture_output=True).returncode in (0, 64)


async def test_other_folders_are_real_time_with_notify(live: Live, dovecot_user: ImapUser) -> None:
    """With NOTIFY, a change in a folder other than INBOX arrives without waiting for the poll."""
    from dataclasses import replace

    live.ctx.settings = replace(live.ctx.settings, poll_interval=120.0)
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await asyncio.sleep(0.5)
    started = asyncio.get_running_loop().time()
    await seed(live.dovecot, dovecot_user, "Archive", [make_message("notified")])
    event = (await live.wait_event("acc", "messageNew", timeout=5))[0]
    assert event.path == "Archive" and asyncio.get_running_loop().time() - started < 5
    await seed(live.dovecot, dovecot_user, "Drafts", [make_message("second folder")])
    await live.wait_event("acc", "messageNew", count=2, timeout=5)


async def test_rapid_changes_in_another_folder(
    live: Live, dovecot_user: ImapUser, other_client: ImapConnection
) -> None:
    """Regression: after syncing a folder the poll connection kept it selected, and STATUS on a
    selected folder answers from that session's stale view, so later changes went unnoticed."""
    from dataclasses import replace

    live.ctx.settings = replace(live.ctx.settings, poll_interval=120.0)
    await live.register(dovecot_user)
    await live.wait_state("acc", "connected")
    await asyncio.sleep(0.5)
    for i in range(4):
        await other_client.append("Archive", make_message(f"n{i}"))
        await live.wait_event("acc", "messageNew", count=i + 1, timeout=5)
        await asyncio.sleep(0.2)
