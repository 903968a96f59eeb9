"""IDLE pushes applied as told, against real Dovecot and Cyrus with QRESYNC, and the reduced
Dovecot without it (which names messages in pushes by position only): new mail costs one UID FETCH and no
SELECT; flag changes and expunges by UID likewise; everything else falls back to a full pass.
Every change is announced once, and mail arriving while a push is applied is not lost."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.index.store import Index
from app.mail.imap import ImapConnection
from app.mail.session import NewMessages, Vanished
from tests.integration import scenarios
from tests.integration.conftest import Live, wait_until
from tests.servers.fixtures import ImapUser

#: The calls that each become one IMAP command on the wire.
COMMANDS = ("select", "fetch", "all_uids", "search", "status", "unselect", "existing")


@dataclass
class Spy:
    """IMAP commands the account's IDLE connection sent, and how often it began a watch."""

    calls: list[str] = field(default_factory=list)

    def count(self, *names: str) -> int:
        return sum(c in names for c in self.calls)

    def since(self, mark: int) -> list[str]:
        return [c for c in self.calls[mark:] if c != "watch"]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    found = Spy()

    def tap(name: str) -> None:
        original = getattr(ImapConnection, name)

        @functools.wraps(original)
        async def wrapper(self: ImapConnection, *args: Any, **kwargs: Any) -> Any:
            if self.name.endswith("/idle"):
                found.calls.append(name)
            return await original(self, *args, **kwargs)

        monkeypatch.setattr(ImapConnection, name, wrapper)

    for name in (*COMMANDS, "watch"):
        tap(name)
    return found


@dataclass
class Server:
    imap: Any  # Dovecot or Cyrus
    user: ImapUser
    qresync: bool


FIXTURES = {"dovecot": "dovecot", "reduced": "dovecot_reduced", "cyrus": "cyrus"}


@pytest.fixture(params=sorted(FIXTURES))
def server(request: pytest.FixtureRequest) -> Server:
    imap = request.getfixturevalue(FIXTURES[request.param])
    login, password = imap.fresh_user()
    return Server(imap, ImapUser(login, password), request.param != "reduced")


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path, server: Server) -> AsyncIterator[Live]:
    # No LIST poll within any deadline here: only IDLE can be on time.
    async with scenarios.running(tmp_path, sqlite_template, server.imap, poll_interval=300.0) as live:
        yield live


@pytest.fixture
async def other(live: Live, server: Server) -> AsyncIterator[ImapConnection]:
    conn = await scenarios.client_for(live, server.user)
    yield conn
    await conn.logout()


async def watching(live: Live, spy: Spy, server: Server, *subjects: str) -> None:
    """Registered, INBOX indexed, and the IDLE connection waiting for pushes."""
    if subjects:
        await scenarios.put(live, server.user, "INBOX", *subjects)
    await scenarios.register(live, server.user)

    async def idling() -> bool:
        return spy.count("watch") > 0

    await wait_until(idling, 10, "the worker never began to watch INBOX")


async def inbox(live: Live) -> dict[str, Any]:
    boxes = (await live.get("/v1/account/acc/mailboxes", counters="true"))["mailboxes"]
    return next(b for b in boxes if b["path"] == "INBOX")


async def counts_become(live: Live, messages: int, unseen: int) -> None:
    async def right() -> bool:
        return (await inbox(live))["status"] == {"messages": messages, "unseen": unseen}

    await wait_until(right, 10, lambda: f"INBOX counts never became {messages}/{unseen}")


async def test_pushes_are_applied_without_selecting_again(
    live: Live, spy: Spy, server: Server, other: ImapConnection
) -> None:
    await watching(live, spy, server, "old1", "old2")
    mark = len(spy.calls)
    [uid] = await scenarios.put(live, server.user, "INBOX", "pushed")
    [new] = await live.wait_event("acc", "messageNew")
    assert new.payload["subject"] == "pushed" and new.payload["uid"] == uid
    await counts_become(live, 3, 3)
    # One UID FETCH of the new mail on either server: no SELECT, no flag or UID diffing.
    assert spy.since(mark) == ["fetch"]

    await other.select("INBOX")
    mark = len(spy.calls)
    await other.store_flags([uid], "add", ["\\Seen"])
    [updated] = await live.wait_event("acc", "messageUpdated")
    assert updated.payload["uid"] == uid and updated.payload["changes"]["flags"]["added"] == ["\\Seen"]
    await counts_become(live, 3, 2)
    # With QRESYNC the push names the UID; without, the FETCH has a position only: a full pass.
    assert ("select" in spy.since(mark)) is not server.qresync

    mark = len(spy.calls)
    await other.store_flags([1], "add", ["\\Deleted"])
    await other.expunge([1])
    [deleted] = await live.wait_event("acc", "messageDeleted")
    assert deleted.payload["uid"] == 1
    await counts_become(live, 2, 1)
    assert ("select" in spy.since(mark)) is not server.qresync
    listed = await live.get("/v1/account/acc/messages")
    assert listed["total"] == 2 and [m["subject"] for m in listed["messages"]] == ["pushed", "old2"]
    # Exactly once each, also after the full pass a wake asks for.
    mark = len(spy.calls)
    r = await live.client.put("/v1/account/acc/sync", headers=live.headers)
    assert r.status_code < 300

    async def full_pass_done() -> bool:
        return "select" in spy.since(mark) and spy.calls[-1] == "watch"

    await wait_until(full_pass_done, 10, "sync_now never made a full pass")
    kinds = [e.type for e in await live.events("acc")]
    assert (kinds.count("messageNew"), kinds.count("messageDeleted")) == (1, 1)
    seen = [
        e
        for e in await live.events("acc", "messageUpdated")
        if "\\Seen" in e.payload["changes"]["flags"]["added"]
    ]
    assert len(seen) == 1  # (marking it \Deleted may be announced too, before it goes)


async def test_mail_arriving_while_a_push_is_applied_is_not_lost(
    live: Live, spy: Spy, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    await watching(live, spy, server)
    original: Callable[..., Any] = Index.insert
    delivered: list[int] = []

    async def insert_after_another_delivery(self: Index, *args: Any, **kwargs: Any) -> Any:
        if not delivered:  # the first push's fetch is done; a second message lands meanwhile
            delivered.extend(await scenarios.put(live, server.user, "INBOX", "second"))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(Index, "insert", insert_after_another_delivery)
    mark = len(spy.calls)
    await scenarios.put(live, server.user, "INBOX", "first")
    events = await live.wait_event("acc", "messageNew", count=2)
    assert [e.payload["subject"] for e in events] == ["first", "second"]
    await counts_become(live, 2, 2)
    assert "select" not in spy.since(mark)
    assert [e.type for e in await live.events("acc")].count("messageNew") == 2


# -- scripted servers: what real ones do only at moments no test can choose ----------------------
def scripted_imap(
    on_idle: bytes, on_done: bytes, then: tuple[asyncio.Event, bytes] | None = None
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
    """Just enough IMAP for open, EXAMINE and IDLE: ``on_idle`` follows IDLE's continuation,
    ``on_done`` comes before DONE's tagged OK in one write; ``then`` writes its lines once its event
    is set, during the IDLE."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n")
        idle_tag = b""
        later: asyncio.Task[None] | None = None

        async def write_later(event: asyncio.Event, lines: bytes) -> None:
            await event.wait()
            writer.write(lines)
            await writer.drain()

        while line := await reader.readline():
            tag, _, rest = line.strip().partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            if tag.upper() == b"DONE":
                writer.write(on_done + idle_tag + b" OK Idle done\r\n")
            elif command == b"CAPABILITY":
                writer.write(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag + b" OK done\r\n")
            elif command == b"EXAMINE":
                writer.write(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 2] n\r\n")
                writer.write(tag + b" OK [READ-ONLY] done\r\n")
            elif command == b"IDLE":
                idle_tag = tag
                writer.write(b"+ idling\r\n" + on_idle)
                if then is not None:
                    later = asyncio.create_task(write_later(*then))
            elif command == b"LOGOUT":
                writer.write(b"* BYE bye\r\n" + tag + b" OK done\r\n")
            else:
                writer.write(tag + b" OK done\r\n")
            await writer.drain()
        if later is not None:
            later.cancel()
        writer.close()

    return serve


async def watch_once(
    serve: Callable[..., Any], tap: Callable[[ImapConnection], None] | None = None
) -> list[Any]:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = ImapConnection({"host": "127.0.0.1", "port": port, "auth": {"user": "u", "pass": "p"}}, timeout=5)
    try:
        await asyncio.wait_for(conn.open(), 10)
        await conn.select("INBOX", readonly=True)
        if tap is not None:
            tap(conn)
        return await asyncio.wait_for(conn.watch(asyncio.Event(), 10), 20)
    finally:
        conn.close()
        server.close()
        await server.wait_closed()


async def test_a_push_in_the_same_read_as_the_end_of_idle_is_kept() -> None:
    """On DONE, an EXPUNGE and the tagged OK in one write, as Cyrus does when a change lands while
    the client leaves IDLE."""
    changes = await watch_once(scripted_imap(b"* 2 EXISTS\r\n", b"* 1 EXPUNGE\r\n"))
    assert changes == [NewMessages(2), Vanished([])]


async def test_a_keepalive_does_not_end_the_watch() -> None:
    """Dovecot's "* OK Still here" comes at times shared by all connections from one address, so
    also a moment after IDLE began: the watch goes on and reports the mail that follows, instead
    of returning nothing (which costs a full pass of the folder)."""
    heard, released = asyncio.Event(), asyncio.Event()
    ended_after_release: list[bool] = []

    def tap(conn: ImapConnection) -> None:
        notifications, idle_done = conn._notifications, conn._client.idle_done

        def noting(lines: list[Any]) -> None:
            notifications(lines)
            if b"OK Still here" in lines:
                heard.set()

        def done() -> None:
            ended_after_release.append(released.is_set())
            idle_done()

        conn._notifications = noting  # type: ignore[method-assign]
        conn._client.idle_done = done

    async def release_the_mail() -> None:
        await heard.wait()
        released.set()

    director = asyncio.create_task(release_the_mail())
    serve = scripted_imap(b"* OK Still here\r\n", b"", (released, b"* 2 EXISTS\r\n"))
    try:
        assert await watch_once(serve, tap) == [NewMessages(2)]
    finally:
        director.cancel()
    assert ended_after_release == [True]  # IDLE went on past the keepalive
