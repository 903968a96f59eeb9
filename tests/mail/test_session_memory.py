"""What only the in-memory server does (injected failures, renumbering) and the server extensions the
test Dovecot lacks (OBJECTID, labels, QUOTA), which the fake must answer as those servers would."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest

from app.mail.memory import DEFAULT_CAPABILITIES, MemoryServer, MemorySession
from app.mail.pool import CommandPool
from app.mail.session import (
    AuthenticationFailed,
    CommandFailed,
    ConnectFailed,
    ConnectionLost,
    FlagsChanged,
    MailSession,
    UnsupportedSearch,
    Vanished,
)
from app.mail.wirelog import Sink


def mail(subject: str, **headers: str) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(f"about {subject}")
    return msg.as_bytes()


async def session(server: MemoryServer) -> MailSession:
    conn = server({}, timeout=5.0)
    await conn.open()
    return conn


async def test_lost_connection_ends_a_watch() -> None:
    server = MemoryServer()
    conn = await session(server)
    await conn.select("INBOX")
    watching = asyncio.create_task(conn.watch(asyncio.Event(), 30.0))
    await asyncio.sleep(0)  # let the watch start waiting
    server.drop_connections()
    with pytest.raises(ConnectionLost):
        await asyncio.wait_for(watching, 5)
    assert not conn.usable


async def test_injected_failures() -> None:
    server = MemoryServer()
    server.unreachable = True
    with pytest.raises(ConnectFailed):
        await session(server)
    server.unreachable = False
    conn = await session(server)
    server.fail_next("list_folders", CommandFailed("refused"), after=1)
    await conn.list_folders()
    with pytest.raises(CommandFailed):
        await conn.list_folders()
    assert conn.usable  # a refusal keeps the connection
    await conn.list_folders()
    server.fail_next("status")
    with pytest.raises(ConnectionLost):
        await conn.status("INBOX")
    assert not conn.usable


async def test_unsupported_search_keys_are_refused() -> None:
    server = MemoryServer()
    server.add("INBOX", mail("x"))
    conn = await session(server)
    await conn.select("INBOX")
    with pytest.raises(UnsupportedSearch, match="LARGER"):
        await conn.search("LARGER", "10")
    with pytest.raises(UnsupportedSearch):
        await conn.search("OR", "SEEN", "FLAGGED")


async def test_qresync_select_reports_what_changed_since() -> None:
    server = MemoryServer()
    uids = [server.add("INBOX", mail(f"m{i}")) for i in range(3)]
    conn = await session(server)
    first = await conn.select("INBOX")
    assert first.uid_validity is not None and first.highest_modseq is not None
    await conn.store_flags([uids[0]], "add", ["\\Seen"])
    await conn.store_flags([uids[1]], "add", ["\\Deleted"])
    await conn.expunge([uids[1]])
    await conn.unselect()
    again = await conn.select("INBOX", qresync=(first.uid_validity, first.highest_modseq))
    assert [m.uid for m in again.fetched] == [uids[0]] and again.vanished == [uids[1]]
    changed = await conn.fetch_flags(range(1, 4), changed_since=first.highest_modseq, vanished=True)
    assert [m.uid for m in changed.messages] == [uids[0]] and changed.vanished == [uids[1]]


async def test_renumbering_a_folder() -> None:
    server = MemoryServer()
    server.add("INBOX", mail("a"))
    server.add("INBOX", mail("b"))
    conn = await session(server)
    await conn.select("INBOX")
    await conn.store_flags([1], "add", ["\\Deleted"])
    await conn.expunge([1])
    validity = server.bump_uidvalidity("INBOX")
    info = await conn.ensure_selected("INBOX")  # the old selection is not reused
    assert (info.uid_validity, info.exists, info.uid_next) == (validity, 1, 2)
    assert await conn.search("SUBJECT", "b") == [1]


async def test_server_ids_threads_labels_and_quota() -> None:
    server = MemoryServer(
        capabilities=DEFAULT_CAPABILITIES | {"OBJECTID", "X-GM-EXT-1", "QUOTA"}, quota_limit=10**6
    )
    server.create_folder("Done")
    raws = [mail("question", Message_ID="<q@example.org>"), mail("answer", In_Reply_To="<q@example.org>")]
    raws.append(mail("unrelated"))
    first, reply, other = (server.add("INBOX", raw) for raw in raws)
    conn = await session(server)
    await conn.select("INBOX")
    found = {m.uid: m for m in (await conn.fetch_summaries([first, reply, other])).messages}
    assert found[first].thread_id == found[reply].thread_id != found[other].thread_id
    assert len({m.email_id for m in found.values()}) == 3
    await conn.store_labels([first], "add", ["Work", "Later"])
    await conn.store_labels([first], "remove", ["Later"])
    assert await conn.labels([first, other]) == {first: ["Work"], other: []}
    moved = await conn.move([first], "Done")
    assert moved is not None
    await conn.select("Done")
    [again] = (await conn.fetch_summaries(moved.destination)).messages
    assert again.email_id == found[first].email_id  # OBJECTID: an id survives a move
    assert await conn.mailbox_id("Done") is not None
    assert await conn.quota() == (sum(len(raw) for raw in raws), 10**6)


async def test_watch_reports_flags_and_expunges_with_uids() -> None:
    server = MemoryServer()
    uid = server.add("INBOX", mail("w"))
    watcher, other = await session(server), await session(server)
    await watcher.select("INBOX")
    await other.select("INBOX")
    await other.store_flags([uid], "add", ["\\Deleted"])
    await other.expunge([uid])
    changes = await watcher.watch(asyncio.Event(), 5.0)
    assert changes == [FlagsChanged(uid, ["\\Deleted"], 3), Vanished([uid])]
    assert await watcher.all_uids() == ([], False)


async def test_sections_of_an_attached_message() -> None:
    inner = mail("inner part")
    outer = EmailMessage(policy=SMTP)
    outer["Subject"] = "outer"
    outer.set_content("see attached")
    outer.add_attachment(message_from_bytes(inner, policy=SMTP))
    server = MemoryServer()
    uid = server.add("INBOX", outer.as_bytes())
    conn = await session(server)
    await conn.select("INBOX")
    header = await conn.fetch_section(uid, "2.HEADER")
    assert header is not None and b"Subject: inner part" in header
    assert (await conn.fetch_section(uid, "2.TEXT") or b"").strip() == b"about inner part"
    assert await conn.fetch_section(uid, "9") == b""


async def test_the_command_pool_closes_a_session_that_failed_to_open() -> None:
    """A half-open connection (TLS up, login refused) must not be left behind by the pool."""
    server = MemoryServer(password="right")
    made: list[MailSession] = []

    def factory(
        settings: dict[str, Any], *, timeout: float, name: str, wire: Sink | None = None
    ) -> MailSession:
        made.append(server(settings, timeout=timeout, name=name, wire=wire))
        return made[-1]

    pool = CommandPool(factory)
    with pytest.raises(AuthenticationFailed):
        async with pool.use("acc", {"auth": {"user": "u", "pass": "wrong"}}):
            pass
    assert isinstance(made[0], MemorySession) and made[0].lost.is_set()
    async with pool.use("acc", {"auth": {"user": "u", "pass": "right"}}) as conn:
        assert conn.usable and conn is made[1]
    await pool.close()
    assert not made[1].usable
