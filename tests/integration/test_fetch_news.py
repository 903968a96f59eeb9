"""A change the server announces inside the answer to a fetch is not lost.

Dovecot brings its view of the selected folder up to date at the end of each command, so a
message delivered (or a flag changed, or a message expunged) just before our UID FETCH is
announced by an untagged line inside that FETCH's answer, and by no later IDLE push. The adapter
turns such lines into an entry without UID (what the sync takes as "read the folder again"),
and the worker reads the folder again at once instead of waiting for the next push.
Run against Dovecot with QRESYNC, the reduced Dovecot without it, and Cyrus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from app.index.store import Index
from app.mail.imap import ImapConnection
from app.mail.session import Fetched, UidsFrom
from app.models import Account
from app.services.context import Context
from app.services.folder_sync import sync_folder
from tests.integration import scenarios
from tests.integration.conftest import Live
from tests.integration.test_push_apply import (  # noqa: F401  (fixtures)
    Server,
    Spy,
    live,
    server,
    spy,
    watching,
)
from tests.servers.dovecot import Dovecot

#: Well under the 25 minutes after which a watch is renewed, and the 300 s LIST poll of ``live``.
DEADLINE = 20.0


def news(found: Fetched) -> bool:
    return any(m.uid is None for m in found.messages)


def connection(at: Server) -> ImapConnection:
    auth = {"user": at.user.email, "pass": at.user.password}
    settings = {"host": at.imap.host, "port": at.imap.port, "secure": False, "auth": auth}
    return ImapConnection(settings, timeout=10)


@pytest.fixture
async def pair(server: Server) -> AsyncIterator[tuple[ImapConnection, ImapConnection]]:  # noqa: F811
    """The sync's connection and "another client", both logged in."""
    ours, theirs = connection(server), connection(server)
    await ours.open()
    await theirs.open()
    yield ours, theirs
    await ours.logout()
    await theirs.logout()


async def put(conn: ImapConnection, *subjects: str) -> list[int]:
    uids = []
    for subject in subjects:
        appended = await conn.append("INBOX", scenarios.mail(subject))
        assert appended is not None
        uids.append(appended[1])
    return uids


# -- the adapter ---------------------------------------------------------------------------------
async def test_a_quiet_fetch_carries_no_news(pair: tuple[ImapConnection, ImapConnection]) -> None:
    ours, theirs = pair
    uids = await put(theirs, "one", "two")
    info = await ours.select("INBOX", readonly=True)
    assert info.uid_next is not None
    summaries = await ours.fetch_summaries(UidsFrom(uids[1]))
    assert [m.uid for m in summaries.messages] == [uids[1]]
    # "n:*" past the last UID still answers with the last message: that line is no news.
    assert (await ours.fetch_summaries(UidsFrom(info.uid_next))).messages == []
    flags = await ours.fetch_flags(uids)
    assert [m.uid for m in flags.messages] == uids
    assert await ours.all_uids() == (uids, False)


async def test_mail_delivered_before_the_fetch_ends_is_news(
    server: Server,  # noqa: F811
    pair: tuple[ImapConnection, ImapConnection],
) -> None:
    ours, theirs = pair
    [old] = await put(theirs, "old")
    await ours.select("INBOX", readonly=True)
    [new] = await put(theirs, "new")
    found = await ours.fetch_summaries(UidsFrom(old + 1))
    fresh = [m.uid for m in found.messages if m.uid is not None]
    # Either the server saw it in time and sent it, or its EXISTS came with the answer; Dovecot
    # updates its view only after the command, so there it is always the second.
    assert fresh == [new] or (fresh == [] and news(found))
    if isinstance(server.imap, Dovecot):
        assert fresh == [] and news(found)


async def test_a_flag_change_outside_the_fetched_uids_is_news(
    pair: tuple[ImapConnection, ImapConnection],
) -> None:
    ours, theirs = pair
    first, second = await put(theirs, "first", "second")
    await ours.select("INBOX", readonly=True)
    await theirs.select("INBOX")
    await theirs.store_flags([first], "add", ["\\Flagged"])
    found = await ours.fetch_summaries(UidsFrom(second))
    assert [m.uid for m in found.messages if m.uid is not None] == [second]
    assert news(found)  # "* 1 FETCH (UID first FLAGS ...)" came with the answer, about another UID
    flags = await ours.fetch_flags([second])
    assert not news(flags)  # told once, as the server does


async def test_an_expunge_during_a_flag_read_is_news(pair: tuple[ImapConnection, ImapConnection]) -> None:
    ours, theirs = pair
    first, second = await put(theirs, "first", "second")
    await ours.select("INBOX", readonly=True)
    await theirs.select("INBOX")
    await theirs.store_flags([first], "add", ["\\Deleted"])
    await theirs.expunge([first])
    found = await ours.fetch_flags([second])
    assert [m.uid for m in found.messages if m.uid is not None] == [second]
    assert news(found)  # "* 1 EXPUNGE" or "* VANISHED first"


async def test_vanished_earlier_answers_the_request_and_is_no_news(
    server: Server,  # noqa: F811
    pair: tuple[ImapConnection, ImapConnection],
) -> None:
    ours, theirs = pair
    if "QRESYNC" not in ours.capabilities:
        pytest.skip("VANISHED (EARLIER) needs QRESYNC")
    first, second = await put(theirs, "first", "second")
    before = await ours.select("INBOX", readonly=True)
    assert before.highest_modseq is not None
    await ours.unselect()
    await theirs.select("INBOX")
    await theirs.store_flags([first], "add", ["\\Deleted"])
    await theirs.expunge([first])
    await ours.select("INBOX", readonly=True)
    found = await ours.fetch_flags(range(1, second + 1), changed_since=before.highest_modseq, vanished=True)
    assert found.vanished == [first]
    assert not news(found)


# -- the folder sync -----------------------------------------------------------------------------
@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_mail_delivered_during_a_first_pass_is_indexed_by_it(
    ctx: Context,
    pair: tuple[ImapConnection, ImapConnection],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours, theirs = pair
    [old] = await put(theirs, "old")
    async with ctx.db.core() as s:
        s.add(Account(id="acc", name="Test"))
        await s.commit()
    index = Index(ctx.db, "acc", ctx.index_changed)
    listed = await index.apply_list(await ours.list_folders(), None)
    box = next(b for b in listed if b.path == "INBOX")
    original = ours.fetch_summaries
    delivered: list[int] = []

    async def fetch_after_a_delivery(uids: Any, **kwargs: Any) -> Any:
        if not delivered:
            delivered.extend(await put(theirs, "new"))
        return await original(uids, **kwargs)

    monkeypatch.setattr(ours, "fetch_summaries", fetch_after_a_delivery)
    box = await sync_folder(ours, index, box, None)
    assert delivered and sorted(await index.known_uids(box)) == [old, *delivered]
    assert box.initialized and box.uid_next == delivered[0] + 1


# -- the worker ----------------------------------------------------------------------------------
Change = Callable[[Live, Server], Awaitable[Any]]


async def deliver(app: Live, at: Server) -> None:
    await scenarios.put(app, at.user, "INBOX", "second")


async def flag_the_old_one(app: Live, at: Server) -> None:
    conn = await scenarios.client_for(app, at.user)
    try:
        await conn.select("INBOX")
        await conn.store_flags([1], "add", ["\\Flagged"])
    finally:
        await conn.logout()


async def expunge_the_old_one(app: Live, at: Server) -> None:
    conn = await scenarios.client_for(app, at.user)
    try:
        await conn.select("INBOX")
        await conn.store_flags([1], "add", ["\\Deleted"])
        await conn.expunge([1])
    finally:
        await conn.logout()


CHANGES: dict[str, tuple[Change, str]] = {
    "new": (deliver, "messageNew"),
    "flagged": (flag_the_old_one, "messageUpdated"),
    "expunged": (expunge_the_old_one, "messageDeleted"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_a_change_made_while_a_push_is_fetched_is_applied_without_another_push(
    live: Live,  # noqa: F811
    spy: Spy,  # noqa: F811
    server: Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    make, event = CHANGES[change]
    await watching(live, spy, server, "old")
    original = ImapConnection.fetch_summaries
    made: list[bool] = []

    async def fetch_after_a_change(self: ImapConnection, uids: Any, **kwargs: Any) -> Any:
        if self.name.endswith("/idle") and isinstance(uids, UidsFrom) and not made:
            made.append(True)  # the push of "first" is being applied: change something now
            await make(live, server)
        return await original(self, uids, **kwargs)

    monkeypatch.setattr(ImapConnection, "fetch_summaries", fetch_after_a_change)
    await scenarios.put(live, server.user, "INBOX", "first")
    await live.wait_event("acc", "messageNew")
    found = await live.wait_event("acc", event, count=2 if event == "messageNew" else 1, timeout=DEADLINE)
    assert made
    if change == "new":
        assert sorted(e.payload["subject"] for e in found) == ["first", "second"]
    else:
        assert found[0].payload["uid"] == 1
