"""The folder sync algorithm on the in-memory mail server and a real index (SQLite): every path
(CONDSTORE+QRESYNC, CONDSTORE only, neither) in milliseconds, with "another client" played by a
second session on the same server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import event, select
from sqlmodel import col

from app.index.store import Index
from app.mail.imapparse import SelectInfo
from app.mail.memory import DEFAULT_CAPABILITIES, MemoryServer
from app.mail.session import ConnectionLost, MailSession
from app.models import Account, Event, Mailbox, Message
from app.services.context import Context
from app.services.folder_sync import FIRST_BATCH, generation_changed, sync_folder
from app.sync.worker import AccountWorker
from tests.on_memory import on_memory

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
CAPABILITIES = {
    "qresync": DEFAULT_CAPABILITIES,
    "condstore": DEFAULT_CAPABILITIES - {"QRESYNC"},
    "plain": frozenset({"IMAP4REV1", "IDLE", "UIDPLUS"}),
}


@pytest.fixture
def backend() -> str:
    return "sqlite"


def mail(subject: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", subject
    msg.set_content(f"about {subject}")
    return msg.as_bytes()


@dataclass
class World:
    ctx: Context
    server: MemoryServer
    index: Index
    box: Mailbox

    async def session(self) -> MailSession:
        conn = self.server({}, timeout=5.0, name="test")
        await conn.open()
        return conn

    async def sync(self) -> Mailbox:
        conn = await self.session()
        try:
            self.box = await sync_folder(conn, self.index, self.box, LONG_AGO)
        finally:
            await conn.logout()
        return self.box

    async def rows(self) -> dict[int, Message]:
        async with self.ctx.db.core() as s:
            found = await s.execute(select(Message).where(col(Message.mailbox_id) == self.box.id))
            return {m.uid: m for m in found.scalars()}

    async def events(self, kind: str) -> list[Event]:
        async with self.ctx.db.core() as s:
            found = await s.execute(select(Event).where(col(Event.type) == kind).order_by(col(Event.id)))
            return list(found.scalars())


async def world_with(ctx: Context, capabilities: frozenset[str]) -> World:
    server = MemoryServer(capabilities=capabilities)
    async with ctx.db.core() as s:
        s.add(Account(id="acc", name="Test"))
        await s.commit()
    index = Index(ctx.db, "acc", ctx.index_changed)
    conn = server({}, timeout=5.0)
    await conn.open()
    [box] = await index.apply_list(await conn.list_folders(), None)
    await conn.logout()
    return World(ctx, server, index, box)


@pytest.fixture(params=sorted(CAPABILITIES))
async def world(ctx: Context, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    yield await world_with(ctx, CAPABILITIES[request.param])


async def test_initial_index_is_newest_first(ctx: Context) -> None:
    w = await world_with(ctx, CAPABILITIES["qresync"])
    uids = [w.server.add("INBOX", mail(f"m{i}")) for i in range(FIRST_BATCH + 10)]
    box = await w.sync()
    assert box.initialized and box.uid_next == uids[-1] + 1 and box.uid_validity is not None
    rows = await w.rows()
    assert sorted(rows) == uids
    first_batch = sorted(rows.values(), key=lambda m: m.id or 0)[:FIRST_BATCH]
    assert {m.uid for m in first_batch} == set(uids[-FIRST_BATCH:])  # the newest, indexed first
    assert rows[uids[0]].subject == "m0"


@pytest.mark.parametrize(("size", "writes"), [(0, 1), (10, 1), (FIRST_BATCH + 10, 3)])
async def test_a_new_folders_first_pass_writes_once_per_batch(ctx: Context, size: int, writes: int) -> None:
    """A thousand accounts starting at once queue for SQLite's write turn with every write: a
    small new folder's whole first pass is one transaction (its size, its messages and the
    state that ends the pass); a big one stores its size first, so listings know it at once."""
    w = await world_with(ctx, CAPABILITIES["qresync"])
    for i in range(size):
        w.server.add("INBOX", mail(f"m{i}"))
    commits: list[None] = []
    event.listen(ctx.db.engine.sync_engine, "commit", lambda _conn: commits.append(None))
    box = await w.sync()
    assert len(commits) == writes
    async with ctx.db.core() as s:
        stored = await s.get(Mailbox, box.id)
    assert stored is not None and stored.initialized and stored.messages == size == stored.server_messages
    assert stored.uid_next == box.uid_next and stored.synced_modseq == box.synced_modseq is not None


async def test_an_interrupted_first_pass_resumes(ctx: Context) -> None:
    w = await world_with(ctx, CAPABILITIES["qresync"])
    uids = [w.server.add("INBOX", mail(f"m{i}")) for i in range(FIRST_BATCH + 10)]
    w.server.fail_next("fetch_summaries", after=1)  # the first batch arrives, then the line drops
    with pytest.raises(ConnectionLost):
        await w.sync()
    async with ctx.db.core() as s:
        w.box = await s.get(Mailbox, w.box.id) or w.box
    assert len(await w.rows()) == FIRST_BATCH and not w.box.initialized
    await w.sync()
    assert sorted(await w.rows()) == uids


async def test_new_messages_flag_changes_and_expunges(world: World) -> None:
    w = world
    uids = [w.server.add("INBOX", mail(f"m{i}")) for i in range(3)]
    await w.sync()
    other = await w.session()
    await other.select("INBOX")
    new = w.server.add("INBOX", mail("late"))
    await other.store_flags([uids[0]], "add", ["\\Seen", "$Work"])
    await other.store_flags([uids[1]], "add", ["\\Deleted"])
    await other.expunge([uids[1]])
    box = await w.sync()
    rows = await w.rows()
    assert sorted(rows) == [uids[0], uids[2], new]
    assert set(rows[uids[0]].flags) == {"\\Seen", "$Work"} and rows[uids[0]].seen
    assert rows[new].subject == "late" and box.uid_next == new + 1
    assert [e.payload["subject"] for e in await w.events("messageNew")][-1] == "late"
    assert len(await w.events("messageDeleted")) == 1
    assert len(await w.events("messageUpdated")) >= 1


async def test_nothing_changed_is_quick_and_quiet(world: World) -> None:
    w = world
    w.server.add("INBOX", mail("only"))
    await w.sync()
    before = len(await w.events("messageUpdated")) + len(await w.events("messageNew"))
    await w.sync()
    assert len(await w.events("messageUpdated")) + len(await w.events("messageNew")) == before


async def test_uidvalidity_change_resets_the_folder(world: World) -> None:
    w = world
    for i in range(3):
        w.server.add("INBOX", mail(f"m{i}"))
    old = (await w.sync()).uid_validity
    other = await w.session()
    await other.select("INBOX")
    await other.store_flags([1], "add", ["\\Deleted"])
    await other.expunge([1])
    new_validity = w.server.bump_uidvalidity("INBOX")  # now UIDs 1, 2 for the two left
    box = await w.sync()
    assert box.uid_validity == new_validity != old
    assert sorted(await w.rows()) == [1, 2] and box.initialized
    [reset] = await w.events("mailboxReset")
    assert reset.payload["uidValidity"] == str(new_validity)


def test_generation_changed() -> None:
    never_read = Mailbox(account="acc", path="INBOX")
    assert not generation_changed(never_read, SelectInfo(uid_validity=5))
    read = Mailbox(account="acc", path="INBOX", uid_validity=5)
    assert not generation_changed(read, SelectInfo(uid_validity=5))
    assert generation_changed(read, SelectInfo(uid_validity=6))


async def test_the_sync_engine_opens_its_sessions_through_the_context(ctx: Context) -> None:
    """The whole account worker on the in-memory server: first pass, then a delivery seen by watch."""
    server = MemoryServer()
    server.add("INBOX", mail("before"))
    fake = await on_memory(ctx, server)
    worker = AccountWorker(fake, "acc")
    worker.start()

    async def subjects() -> list[str | None]:
        async with fake.db.core() as s:
            return sorted((await s.execute(select(col(Message.subject)))).scalars(), key=str)

    async def until(wanted: list[str | None]) -> None:
        deadline = time.monotonic() + 10
        while (found := await subjects()) != wanted:
            assert time.monotonic() < deadline, f"indexed {found}, not {wanted}"
            await asyncio.sleep(0.02)

    try:
        await until(["before"])
        server.add("INBOX", mail("after"))  # reported to the worker's watch on INBOX
        await until(["after", "before"])
    finally:
        await worker.stop()
        await fake.imap.close()
