"""What a watch reports is applied without selecting the folder again (in-memory server, SQLite):
new mail fetched from UIDNEXT, flags and expunges by UID; pushes that name messages by position
only fall back to a full pass. Events stay exactly-once either way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlmodel import col

from app.mail.memory import MemoryServer, MemorySession
from app.mail.session import Change, FlagsChanged, MailSession, Uids, Vanished
from app.models import Event, Mailbox, Message
from app.services.context import Context
from app.services.folder_sync import apply_changes, sync_folder
from app.sync.worker import AccountWorker
from tests.on_memory import on_memory
from tests.sync.test_folder_sync import CAPABILITIES, LONG_AGO, World, mail, world_with

NEVER = asyncio.Event()


@pytest.fixture
def backend() -> str:
    return "sqlite"


class Watched:
    """A world whose INBOX is synced and stays selected on ``conn``, with ``other`` as a second
    client changing it."""

    def __init__(self, world: World, conn: MailSession, other: MailSession) -> None:
        self.w, self.conn, self.other = world, conn, other

    async def pushed(self, done: Callable[[list[Change]], bool]) -> list[Change]:
        seen: list[Change] = []
        deadline = time.monotonic() + 10
        while not done(seen):
            assert time.monotonic() < deadline, f"never pushed; got {seen}"
            seen += await self.conn.watch(NEVER, deadline - time.monotonic())
        return seen

    async def apply(self, changes: list[Change]) -> Mailbox | None:
        applied = await apply_changes(self.conn, self.w.index, self.w.box, changes, LONG_AGO)
        if applied is not None:
            self.w.box = applied
        return applied

    async def full_pass(self) -> Mailbox:
        self.w.box = await sync_folder(self.conn, self.w.index, self.w.box, LONG_AGO)
        return self.w.box


async def watched(ctx: Context, capabilities: frozenset[str], messages: int = 3) -> Watched:
    w = await world_with(ctx, capabilities)
    for i in range(messages):
        w.server.add("INBOX", mail(f"m{i}"))
    conn, other = await w.session(), await w.session()
    w.box = await sync_folder(conn, w.index, w.box, LONG_AGO)
    await other.select("INBOX")
    return Watched(w, conn, other)


@contextmanager
def counting_statements(ctx: Context) -> Iterator[list[str]]:
    """Every SQL statement sent while inside, so a test can count the folder recounts."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def recounts(statements: list[str]) -> int:
    return sum("count(*)" in s.lower() for s in statements)


async def stored_counts(ctx: Context, box: Mailbox) -> tuple[int, int]:
    async with ctx.db.core() as s:
        row = await s.get(Mailbox, box.id)
        assert row is not None
        return row.messages, row.unseen


async def true_counts(ctx: Context, box: Mailbox) -> tuple[int, int]:
    async with ctx.db.core() as s:
        rows = list((await s.execute(select(Message).where(col(Message.mailbox_id) == box.id))).scalars())
    return len(rows), sum(not m.seen for m in rows)


@pytest.mark.parametrize("caps", sorted(CAPABILITIES))
async def test_new_mail_is_fetched_without_selecting_again(ctx: Context, caps: str) -> None:
    t = await watched(ctx, CAPABILITIES[caps])
    uid = t.w.server.add("INBOX", mail("pushed"))
    changes = await t.pushed(lambda c: bool(c))
    before = dict(t.w.server.calls)
    with counting_statements(ctx) as statements:
        box = await t.apply(changes)
    asked = {op: n - before.get(op, 0) for op, n in t.w.server.calls.items() if n != before.get(op, 0)}
    assert box is not None
    assert asked == {"fetch_summaries": 1}  # no SELECT, no flag or UID diffing: one command
    assert recounts(statements) == 1
    new = await t.w.events("messageNew")
    assert [e.payload["subject"] for e in new] == ["m0", "m1", "m2", "pushed"]
    assert box.uid_next == uid + 1 and (box.messages, box.unseen) == (4, 4)
    assert await stored_counts(ctx, box) == (4, 4)
    # The same push applied twice (a retry) announces nothing more.
    assert await t.apply(changes) is not None
    assert len(await t.w.events("messageNew")) == 4


async def test_a_flag_change_by_uid_is_written_as_pushed(ctx: Context) -> None:
    t = await watched(ctx, CAPABILITIES["qresync"])
    await t.other.store_flags([2], "add", ["\\Seen", "$Work"])
    changes = await t.pushed(lambda c: any(isinstance(x, FlagsChanged) for x in c))
    before = dict(t.w.server.calls)
    box = await t.apply(changes)
    assert box is not None and t.w.server.calls == before  # nothing asked of the server
    [updated] = await t.w.events("messageUpdated")
    assert updated.payload["uid"] == 2 and updated.payload["changes"]["flags"]["added"] == ["$Work", "\\Seen"]
    assert (box.messages, box.unseen) == (3, 2) == await stored_counts(ctx, box)
    assert await t.apply(changes) is not None  # told again: no real change, no event
    assert len(await t.w.events("messageUpdated")) == 1
    modseq = box.synced_modseq
    await t.full_pass()  # the later full pass finds it applied already: still one event
    assert len(await t.w.events("messageUpdated")) == 1 and t.w.box.synced_modseq != modseq


async def test_vanished_uids_are_removed_as_pushed(ctx: Context) -> None:
    t = await watched(ctx, CAPABILITIES["qresync"])
    await t.other.store_flags([1, 3], "add", ["\\Deleted"])
    await t.other.expunge([1, 3])
    changes = await t.pushed(lambda c: any(isinstance(x, Vanished) for x in c))
    before = t.w.server.calls["select"]
    box = await t.apply(changes)
    assert box is not None and t.w.server.calls["select"] == before
    assert sorted(e.payload["uid"] for e in await t.w.events("messageDeleted")) == [1, 3]
    assert sorted(await t.w.rows()) == [2] and (box.messages, box.unseen) == (1, 1)
    await t.full_pass()
    assert len(await t.w.events("messageDeleted")) == 2


@pytest.mark.parametrize("caps", ["condstore", "plain"])
async def test_positions_only_fall_back_to_a_full_pass(ctx: Context, caps: str) -> None:
    """Without QRESYNC a server names messages in pushes by position: a plain EXPUNGE or a FETCH
    without UID cannot be mapped safely, so the folder is read again, and counted once."""
    t = await watched(ctx, CAPABILITIES[caps])
    await t.other.store_flags([1], "add", ["\\Flagged"])
    changes = await t.pushed(lambda c: any(isinstance(x, FlagsChanged) for x in c))
    assert all(x.uid is None for x in changes if isinstance(x, FlagsChanged))
    assert await t.apply(changes) is None
    await t.full_pass()
    assert [e.payload["uid"] for e in await t.w.events("messageUpdated")] == [1]

    await t.other.store_flags([2], "add", ["\\Deleted"])
    await t.other.expunge([2])
    changes = await t.pushed(lambda c: any(isinstance(x, Vanished) for x in c))
    assert [x.uids for x in changes if isinstance(x, Vanished)] == [[]]
    assert await t.apply(changes) is None
    with counting_statements(ctx) as statements:
        box = await t.full_pass()
    assert recounts(statements) == 1
    assert [e.payload["uid"] for e in await t.w.events("messageDeleted")] == [2]
    assert sorted(await t.w.rows()) == [1, 3] and (box.messages, box.unseen) == (2, 2)


async def test_nothing_pushed_means_a_full_pass(ctx: Context) -> None:
    t = await watched(ctx, CAPABILITIES["qresync"])
    assert await t.apply([]) is None  # woken, or the watch expired


async def test_a_flag_push_for_an_unknown_new_uid_fetches_it(ctx: Context) -> None:
    """A change to a message the index has not seen means its EXISTS was reported where no watch
    heard it: it is fetched like new mail."""
    t = await watched(ctx, CAPABILITIES["qresync"])
    uid = t.w.server.add("INBOX", mail("unheard"))
    await t.pushed(lambda c: bool(c))  # this report is lost
    await t.other.store_flags([uid], "add", ["\\Flagged"])
    changes = await t.pushed(lambda c: bool(c))
    assert all(isinstance(x, FlagsChanged) for x in changes)
    box = await t.apply(changes)
    assert box is not None and box.uid_next == uid + 1
    assert "\\Flagged" in (await t.w.rows())[uid].flags
    assert [e.payload["subject"] for e in await t.w.events("messageNew")][-1] == "unheard"


# -- the worker: pushes arriving while the previous ones are applied ------------------------------
@pytest.fixture
async def running(ctx: Context) -> AsyncIterator[tuple[Context, MemoryServer, AccountWorker]]:
    server = MemoryServer()
    server.add("INBOX", mail("before"))  # there before the account: indexed, not announced
    fake = await on_memory(ctx, server)
    worker = AccountWorker(fake, "acc")
    worker.start()
    try:
        yield fake, server, worker
    finally:
        await worker.stop()
        await fake.imap.close()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


async def watching(ctx: Context, server: MemoryServer) -> bool:
    """The first pass is done and the worker watches INBOX."""
    async with ctx.db.core() as s:
        subjects = list((await s.execute(select(col(Message.subject)))).scalars())
    return subjects == ["before"] and server.calls["watch"] > 0


async def news(ctx: Context) -> list[str]:
    async with ctx.db.core() as s:
        rows = await s.execute(select(Event).where(col(Event.type) == "messageNew").order_by(col(Event.id)))
        return [str(e.payload["subject"]) for e in rows.scalars()]


async def test_mail_arriving_while_a_push_is_applied_is_not_missed(
    running: tuple[Context, MemoryServer, AccountWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx, server, _worker = running

    await until(lambda: watching(ctx, server), "first pass")
    selects = server.calls["select"]
    original = MemorySession.fetch_summaries
    extra = iter(["during the fetch", "during the next fetch"])

    async def fetch_and_deliver(self: MemorySession, uids: Uids, **kw: Any) -> Any:
        found = await original(self, uids, **kw)
        subject = next(extra, None)
        if subject is not None:  # another client delivers while this fetch's answer is on its way
            server.add("INBOX", mail(subject))
        return found

    monkeypatch.setattr(MemorySession, "fetch_summaries", fetch_and_deliver)
    server.add("INBOX", mail("pushed"))

    async def all_four() -> bool:
        return len(await news(ctx)) >= 3

    await until(all_four, "every message announced")
    assert await news(ctx) == ["pushed", "during the fetch", "during the next fetch"]
    assert server.calls["select"] == selects  # each push applied as told
    async with ctx.db.core() as s:
        [box] = (await s.execute(select(Mailbox))).scalars()
    assert (box.messages, box.unseen, box.uid_next) == (4, 4, 5)


async def test_a_wake_during_a_push_still_gets_its_full_pass(
    running: tuple[Context, MemoryServer, AccountWorker],
) -> None:
    ctx, server, worker = running

    await until(lambda: watching(ctx, server), "first pass")
    selects = server.calls["select"]
    worker.sync_now()
    server.add("INBOX", mail("pushed"))

    async def selected_again() -> bool:
        return server.calls["select"] > selects and len(await news(ctx)) == 1

    await until(selected_again, "a full pass after sync_now")
    assert await news(ctx) == ["pushed"]


# -- counts kept by each write, exact without counting the folder ---------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_counts_stay_exact_without_recounting(ctx: Context) -> None:
    w = await world_with(ctx, CAPABILITIES["qresync"])
    for i in range(3):
        w.server.add("INBOX", mail(f"m{i}"))
    conn = await w.session()
    w.box = box = await sync_folder(conn, w.index, w.box, LONG_AGO)
    summaries = (await conn.fetch_summaries([1, 2, 3])).messages
    with counting_statements(ctx) as statements:
        assert await w.index.insert(box, summaries[:1], LONG_AGO) == 0  # already indexed
        assert await w.index.remove(box, [99]) == 0  # never indexed
        assert await stored_counts(ctx, box) == (3, 3)
        for flags, unseen in ((["\\Seen"], 2), ([], 3), (["\\Seen"], 2), (["\\Seen", "$x"], 2)):
            await w.index.update_flags(box, [replace(summaries[1], flags=flags)])
            assert (box.messages, box.unseen) == (3, unseen) == await stored_counts(ctx, box)
        await w.index.remove(box, [2, 3])  # one seen, one not
        assert (box.messages, box.unseen) == (1, 1) == await stored_counts(ctx, box)
        w.server.add("INBOX", mail("seen"), flags=["\\Seen"])
        await w.index.insert(box, (await conn.fetch_summaries([4])).messages, LONG_AGO)
        assert (box.messages, box.unseen) == (2, 1) == await stored_counts(ctx, box)
    assert recounts(statements) == 0
    assert await true_counts(ctx, box) == (2, 1)
    await conn.logout()
