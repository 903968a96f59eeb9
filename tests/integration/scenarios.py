"""Sync, event and message scenarios run against more than one kind of IMAP server.

Each test module picks a server (by overriding the ``dovecot`` fixture, so ``dovecot_user`` and
``other_client`` follow) and the folder names that server uses; the scenarios are the same."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

from app.mail.imap import ImapConnection
from app.main import create_app
from app.services import tokens
from app.services.context import Context
from app.services.principal import OPERATOR
from app.sync.supervisor import Supervisor
from tests.conftest import make_settings
from tests.integration.conftest import Live, make_message, seed, wait_until
from tests.servers.fixtures import ImapUser


@dataclass(frozen=True)
class Folders:
    """Where a server keeps each role."""

    sent: str
    drafts: str
    trash: str
    junk: str
    archive: str


@asynccontextmanager
async def running(
    tmp_path: Path, sqlite_template: Path, server: Any, poll_interval: float
) -> AsyncIterator[Live]:
    """The app (context, supervisor, HTTP client) on SQLite against ``server``.

    ``poll_interval`` is the LIST poll; tests set it long so that only the mechanism under test
    (IDLE, the STATUS sweep) can report a change in time."""
    db = tmp_path / "mailgate.db"
    shutil.copyfile(sqlite_template, db)
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{db}",
        poll_interval=poll_interval,
        reconnect_base=0.1,
        reconnect_cap=1.0,
        imap_timeout=10.0,
        lease_seconds=6.0,
    )
    ctx = Context.from_settings(settings)
    token, _ = await tokens.issue(ctx, OPERATOR, description="t", scopes=["*"], account=None)
    supervisor = Supervisor(ctx)
    await supervisor.start()
    client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=create_app(ctx=ctx)), base_url="http://t")
    live = Live(ctx, client, {"Authorization": f"Bearer {token}"}, supervisor, server)
    try:
        yield live
    finally:
        await live.supervisor.stop()
        await client.aclose()
        await ctx.close()


def imap_settings(live: Live, user: ImapUser, **overrides: Any) -> dict[str, Any]:
    """Plain IMAP on the server's port (these servers have no TLS listener)."""
    server = live.dovecot
    auth = {"user": user.email, "pass": user.password}
    return {"host": server.host, "port": server.port, "secure": False, "auth": auth} | overrides


async def register(live: Live, user: ImapUser, **fields: Any) -> str:
    """Register ``acc``; logins that are not addresses (Cyrus) get an address of their own."""
    if "@" not in user.email:
        fields.setdefault("email", f"{user.email}@example.com")
    body = {"account": "acc", "name": "Test", "email": user.email, "imap": imap_settings(live, user)} | fields
    r = await live.client.post("/v1/account", json=body, headers=live.headers)
    assert r.status_code == 200, r.text
    await live.wait_state("acc", "connected")
    return "acc"


async def client_for(live: Live, user: ImapUser) -> ImapConnection:
    conn = ImapConnection(imap_settings(live, user))
    await conn.open()
    return conn


def mail(subject: str) -> bytes:
    """A test message with CRLF line ends (Cyrus refuses bare newlines, as RFC 5322 allows it to)."""
    return make_message(subject).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def put(live: Live, user: ImapUser, path: str, *subjects: str, flags: str | None = None) -> list[int]:
    return await seed(live.dovecot, user, path, [mail(s) for s in subjects], flags)


async def append_dated(live: Live, user: ImapUser, path: str, subject: str, when: datetime) -> None:
    conn = await client_for(live, user)
    try:
        await conn.append(path, mail(subject), date=when)
    finally:
        await conn.logout()


async def subjects_of_new(live: Live) -> list[tuple[str | None, str]]:
    return [(e.path, e.payload["subject"]) for e in await live.events("acc", "messageNew")]


async def timed_event(live: Live, kind: str, count: int, timeout: float) -> float:
    started = time.monotonic()
    await live.wait_event("acc", kind, count=count, timeout=timeout)
    return time.monotonic() - started


# -- scenarios ------------------------------------------------------------------------------------
async def old_mail_is_not_announced(live: Live, user: ImapUser, folders: Folders) -> dict[str, float]:
    """Mail present before registration never becomes messageNew, not even mail from the
    registration's own second; mail arriving later does, in INBOX at IDLE speed and in other
    folders within seconds; a restart announces nothing twice. Returns the delays seen."""
    second = datetime.now(UTC).replace(microsecond=0)
    await append_dated(live, user, "INBOX", "old, same second", second)
    await append_dated(live, user, "INBOX", "old", second - timedelta(days=3))
    await append_dated(live, user, folders.archive, "old archived", second)
    await register(live, user, notifyFrom=second.isoformat())

    await put(live, user, "INBOX", "fresh inbox")
    inbox = await timed_event(live, "messageNew", 1, timeout=10)
    await put(live, user, folders.archive, "fresh archive")
    other = await timed_event(live, "messageNew", 2, timeout=10)
    assert await subjects_of_new(live) == [("INBOX", "fresh inbox"), (folders.archive, "fresh archive")]

    # Reconnect from scratch: everything indexed stays unannounced, only later mail is new.
    await live.supervisor.stop()
    live.supervisor = Supervisor(live.ctx)
    await live.supervisor.start()
    await live.wait_state("acc", "connected")
    await put(live, user, folders.archive, "after restart")
    await live.wait_event("acc", "messageNew", count=3, timeout=10)
    assert [s for _, s in await subjects_of_new(live)] == ["fresh inbox", "fresh archive", "after restart"]
    page = await live.get("/v1/account/acc/messages", path="INBOX")
    assert {m["subject"] for m in page["messages"]} == {"old, same second", "old", "fresh inbox"}
    return {"inbox": inbox, "other": other}


async def subconnection_gets_idle(live: Live, user: ImapUser, folders: Folders) -> float:
    """A ``subconnections`` folder is watched with IDLE (the caller turns every poll off)."""
    await register(live, user, subconnections=[folders.archive, folders.archive, "No such folder"])
    info = await live.get("/v1/account/acc")
    assert info["subconnections"] == [folders.archive, "No such folder"]
    await put(live, user, folders.archive, "watched")
    delay = await timed_event(live, "messageNew", 1, timeout=10)
    event = (await live.events("acc", "messageNew"))[0]
    assert event.path == folders.archive and event.payload["specialUse"] == "\\Archive"
    return delay


async def external_changes(live: Live, user: ImapUser, folders: Folders) -> None:
    """Flags, expunges and moves made by another client, in INBOX and in another folder."""
    inbox = await put(live, user, "INBOX", "i0", "i1", "i2")
    archived = await put(live, user, folders.archive, "a0", "a1")
    await register(live, user, imap=imap_settings(live, user, resyncDelay=1))
    other = await client_for(live, user)
    try:
        await other.select("INBOX")
        await other.store(str(inbox[0]), "+FLAGS", ["\\Flagged"])
        updated = (await live.wait_event("acc", "messageUpdated", timeout=10))[0].payload
        assert updated["uid"] == inbox[0] and updated["changes"]["flags"]["added"] == ["\\Flagged"]
        await other.store(str(inbox[1]), "+FLAGS.SILENT", ["\\Deleted"])
        await other.expunge(str(inbox[1]))
        deleted = (await live.wait_event("acc", "messageDeleted", timeout=10))[0].payload
        assert deleted["uid"] == inbox[1]

        await other.select(folders.archive)
        await other.store(str(archived[0]), "+FLAGS", ["$Work"])  # a change no STATUS counter shows

        # (INBOX's \Deleted above may be announced too, when a push names it before the expunge.)
        async def work_flagged() -> bool:
            updates = await live.events("acc", "messageUpdated")
            return any(
                e.path == folders.archive and e.payload["changes"]["flags"]["added"] == ["$Work"]
                for e in updates
            )

        await wait_until(work_flagged, 10, "the $Work flag in another folder was never announced")
        await other.store(str(archived[1]), "+FLAGS.SILENT", ["\\Deleted"])
        await other.expunge(str(archived[1]))
        gone = (await live.wait_event("acc", "messageDeleted", count=2, timeout=10))[1]
        assert gone.path == folders.archive and gone.payload["uid"] == archived[1]

        await other.select("INBOX")
        await other.move(str(inbox[2]), folders.archive)
        await live.wait_event("acc", "messageDeleted", count=3, timeout=10)

        async def arrived() -> bool:
            page = await live.get("/v1/account/acc/messages", path=folders.archive)
            return sorted(m["subject"] for m in page["messages"]) == ["a0", "i2"]

        await wait_until(arrived, 10, "the moved message never showed up")
        assert [m["subject"] for m in (await live.get("/v1/account/acc/messages"))["messages"]] == ["i0"]
    finally:
        await other.logout()


async def roles_by_name(live: Live, user: ImapUser, folders: Folders) -> None:
    """Special folders found by name: listed with specialUse, reachable as ``path=\\Sent``, and
    used by move and delete-to-Trash."""
    await put(live, user, folders.sent, "sent earlier", flags="\\Seen")
    await put(live, user, "INBOX", "keep", "bin me")
    await register(live, user)
    boxes = {m["path"]: m for m in (await live.get("/v1/account/acc/mailboxes"))["mailboxes"]}
    roles = {path: box.get("specialUse") for path, box in boxes.items()}
    expected = {
        "INBOX": "\\Inbox",
        folders.sent: "\\Sent",
        folders.drafts: "\\Drafts",
        folders.trash: "\\Trash",
        folders.junk: "\\Junk",
        folders.archive: "\\Archive",
    }
    assert {p: roles.get(p) for p in expected} == expected
    assert boxes[folders.junk]["specialUseSource"] == "name"
    sent = await live.get("/v1/account/acc/messages", path="\\Sent")
    assert [(m["subject"], m["path"], m.get("specialUse")) for m in sent["messages"]] == [
        ("sent earlier", folders.sent, "\\Sent")
    ]
    for role in ("\\Trash", "\\Junk", "\\Drafts", "\\Archive"):
        assert (await live.get("/v1/account/acc/messages", path=role))["total"] == 0

    page = {m["subject"]: m for m in (await live.get("/v1/account/acc/messages"))["messages"]}
    r = await live.client.put(
        f"/v1/account/acc/message/{page['keep']['id']}/move", json={"path": "\\Archive"}, headers=live.headers
    )
    assert r.status_code == 200 and r.json()["path"] == folders.archive, r.text
    r = await live.client.delete(f"/v1/account/acc/message/{page['bin me']['id']}", headers=live.headers)
    body = r.json()
    assert r.status_code == 200 and body["deleted"] is False, r.text
    assert body["moved"]["destination"] == folders.trash
    trashed = await live.get(f"/v1/account/acc/message/{body['moved']['message']}")
    assert trashed["path"] == folders.trash and trashed["subject"] == "bin me"


async def sent_copy_lands_in_sent(outbox: Any, folders: Folders, **imap: Any) -> None:
    """Submit through the SMTP sink; the copy is stored in the account's Sent folder, whichever
    way that was found (by name, or ``imap`` settings such as ``sentMailPath``)."""
    address = outbox.user.email if "@" in outbox.user.email else "me@example.com"
    settings = imap_settings(outbox.live, outbox.user, **imap)
    await register(outbox.live, outbox.user, smtp=outbox.smtp(), email=address, imap=settings)
    answer = await outbox.submit(
        {"from": {"address": address}, "to": [{"address": "r@example.net"}], "subject": "copied"}
    )
    assert (await outbox.sink.wait_for(1))[0].rcpt_tos == ["r@example.net"]
    await outbox.wait_status(answer["queueId"], "sent")
    listed: list[dict[str, Any]] = []

    async def copied() -> bool:
        nonlocal listed
        listed = (await outbox.live.get("/v1/account/acc/messages", path="\\Sent"))["messages"]
        return bool(listed)

    await wait_until(copied, 10, "no Sent copy")
    assert listed[0]["messageId"] == answer["messageId"] and listed[0]["path"] == folders.sent


def fast_outbox(live: Live, sink: Any, user: ImapUser) -> Any:
    from tests.integration.test_sending import RETRY_BASE, Outbox

    live.ctx.settings = replace(live.ctx.settings, send_retry_base=RETRY_BASE, smtp_timeout=5.0)
    return Outbox(live, sink, user)
