"""One contract for every :class:`app.mail.session.MailSession`: each case runs against the
in-memory server and against a real Dovecot session, so the fake the unit tests rely on is held to
what a real server answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest

from app.mail.imap import open_session
from app.mail.memory import MemoryServer
from app.mail.session import (
    AuthenticationFailed,
    Change,
    CommandFailed,
    ConnectionLost,
    FlagsChanged,
    FolderChanged,
    MailSession,
    NewMessages,
    SessionFactory,
    UidsFrom,
    Vanished,
)
from app.mail.types import ListEntry

NEVER = asyncio.Event()  # a wake nobody sets


@dataclass
class Mail:
    kind: str
    factory: SessionFactory
    settings: dict[str, Any]
    opened: list[MailSession] = field(default_factory=list)

    async def session(self, **settings: Any) -> MailSession:
        conn = self.factory(self.settings | settings, timeout=10.0, name=f"contract/{self.kind}")
        self.opened.append(conn)
        await conn.open()
        return conn


@pytest.fixture(params=["memory", "dovecot"])
async def mail(request: pytest.FixtureRequest) -> AsyncIterator[Mail]:
    if request.param == "memory":
        found = Mail("memory", MemoryServer(password="secret"), {"auth": {"user": "u", "pass": "secret"}})
    else:
        dovecot, user = request.getfixturevalue("dovecot"), request.getfixturevalue("dovecot_user")
        auth = {"user": user.email, "pass": user.password}
        found = Mail("dovecot", open_session, {"host": dovecot.host, "port": dovecot.port, "auth": auth})
    yield found
    for conn in found.opened:
        await conn.logout()


def message(subject: str = "Hello", body: str = "Hi there", *, attachment: bytes | None = None) -> bytes:
    """CRLF line ends throughout, as a server stores and counts them."""
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = "Ann Sender <ann@example.org>", "bob@example.com", subject
    msg["Message-ID"] = f"<{subject.replace(' ', '.')}@example.org>"
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="data.bin")
    return msg.as_bytes()


async def folder_with(conn: MailSession, path: str, *raws: bytes, flags: tuple[str, ...] = ()) -> list[int]:
    await conn.create(path)
    uids = []
    for raw in raws:
        appended = await conn.append(path, raw, flags)
        assert appended is not None
        uids.append(appended[1])
    return uids


def plain(flags: list[str] | None) -> set[str]:
    return set(flags or []) - {"\\Recent"}


async def changes_until(
    conn: MailSession, done: Callable[[list[Change]], bool], timeout: float = 10.0
) -> list[Change]:
    """Watch until ``done`` holds for what was reported (servers may report in several pushes)."""
    seen: list[Change] = []
    deadline = time.monotonic() + timeout
    while not done(seen):
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"watch never reported it; got {seen}")
        seen += await conn.watch(NEVER, left)
    return seen


async def test_folders_create_rename_subscribe_delete(mail: Mail) -> None:
    conn = await mail.session()
    await conn.create("Projects")
    found = await conn.find_folder("Projects")
    assert found is not None and found.path == "Projects" and found.subscribed
    assert "Projects" in {e.path for e in await conn.list_folders()}
    await conn.subscribe("Projects", False)
    assert (await conn.find_folder("Projects")).subscribed is False  # type: ignore[union-attr]
    with pytest.raises(CommandFailed):
        await conn.create("Projects")
    await conn.rename("Projects", "Archive 2026")
    assert await conn.find_folder("Projects") is None
    assert await conn.find_folder("Archive 2026") is not None
    await conn.delete("Archive 2026")
    assert await conn.find_folder("Archive 2026") is None
    with pytest.raises(CommandFailed):
        await conn.delete("Archive 2026")


async def test_one_listing_with_every_folders_counters(mail: Mail) -> None:
    """LIST-STATUS gives what LIST, LSUB and STATUS of each folder give, in one command."""
    conn = await mail.session()
    uids = await folder_with(conn, "Box", message("one"), message("two"), flags=("\\Seen",))
    await conn.create("Quiet")
    await conn.subscribe("Quiet", False)
    await conn.create("Projects/Ünïcode")  # Dovecot lists "Projects" too, as a name only
    entries, statuses = await conn.list_with_status()

    def seen(entry: ListEntry) -> tuple[object, ...]:
        return entry.path, entry.delimiter, sorted(entry.flags), entry.special_use, entry.subscribed

    assert sorted(map(seen, entries)) == sorted(map(seen, await conn.list_folders()))
    selectable = {e.path for e in entries if "\\NOSELECT" not in {f.upper() for f in e.flags}}
    assert {"Box", "Quiet", "INBOX", "Projects/Ünïcode"} <= set(statuses) and set(statuses) == selectable
    for path, status in statuses.items():
        assert status == await conn.status(path)
    assert (statuses["Box"].messages, statuses["Box"].unseen, statuses["Box"].uid_next) == (
        2,
        0,
        uids[-1] + 1,
    )
    assert statuses["Quiet"].messages == 0 and statuses["Quiet"].uid_validity is not None


async def test_status_select_and_append_uid(mail: Mail) -> None:
    conn = await mail.session()
    uids = await folder_with(conn, "Box", message("one"), message("two"))
    status = await conn.status("Box")
    assert (status.messages, status.unseen, status.uid_next) == (2, 2, uids[-1] + 1)
    appended = await conn.append("Box", message("three"), ["\\Seen"])
    assert appended == (status.uid_validity, uids[-1] + 1)
    info = await conn.select("Box", readonly=True)
    assert (info.exists, info.uid_validity, info.uid_next) == (3, status.uid_validity, uids[-1] + 2)
    assert info.highest_modseq is not None and conn.selected == "Box"
    assert await conn.ensure_selected("Box") is info  # the selection is reused
    assert (await conn.status("Box")).unseen == 2
    assert await conn.mailbox_id("Box") is None or isinstance(await conn.mailbox_id("Box"), str)
    await conn.unselect()
    assert conn.selected is None
    with pytest.raises(CommandFailed):
        await conn.select("No such folder")


async def test_uidvalidity_changes_when_a_folder_is_recreated(mail: Mail) -> None:
    conn = await mail.session()
    await folder_with(conn, "Again", message("old"))
    before = (await conn.status("Again")).uid_validity
    await conn.delete("Again")
    await conn.create("Again")
    after = await conn.status("Again")
    assert after.uid_validity != before and after.messages == 0


async def test_summaries_from_envelope_and_structure(mail: Mail) -> None:
    conn = await mail.session()
    raw = message("With file", attachment=b"\x00\x01binary")
    uids = await folder_with(conn, "Sum", message("first"), raw)
    await conn.select("Sum")
    fetched = await conn.fetch_summaries([uids[1]])
    assert [m.uid for m in fetched.messages] == [uids[1]]
    found = fetched.messages[0]
    assert found.size == len(raw) and found.internal_date is not None and found.modseq
    assert found.envelope is not None and found.envelope.subject == "With file"
    assert [(a.name, a.address) for a in found.envelope.from_] == [("Ann Sender", "ann@example.org")]
    assert found.envelope.message_id == "<With.file@example.org>"
    assert found.body is not None and (found.body.type, found.body.subtype) == ("multipart", "mixed")
    parts = [(p.part, p.type, p.subtype, p.disposition_params.get("filename")) for p in found.body.parts]
    assert parts == [("1", "text", "plain", None), ("2", "application", "octet-stream", "data.bin")]
    newer = await conn.fetch_summaries(UidsFrom(uids[1]))
    assert [m.uid for m in newer.messages] == [uids[1]]
    # IMAP's "n:*" names the last message even when n is past it; the session answers nothing.
    assert (await conn.fetch_summaries(UidsFrom(uids[1] + 1))).messages == []
    assert (await conn.fetch_flags(UidsFrom(uids[1] + 1))).messages == []
    assert (await conn.fetch_summaries([])).messages == []


async def test_source_partial_and_sections(mail: Mail) -> None:
    conn = await mail.session()
    raw = message("Parts", "Body text", attachment=b"payload-bytes")
    [uid] = await folder_with(conn, "Src", raw)
    await conn.select("Src", readonly=True)
    assert await conn.fetch_source(uid) == raw
    assert await conn.fetch_source(uid, max_bytes=20) == raw[:20]
    head, text = raw.split(b"\r\n\r\n", 1)
    assert await conn.fetch_section(uid, "HEADER") == head + b"\r\n\r\n"
    assert await conn.fetch_section(uid, "TEXT") == text
    first = await conn.fetch_section(uid, "1")
    assert first is not None and first.strip() == b"Body text"
    second = await conn.fetch_section(uid, "2")
    assert second is not None and second.strip() == b"cGF5bG9hZC1ieXRlcw=="  # base64, as sent
    assert await conn.fetch_section(uid, "2", max_bytes=8) == b"cGF5bG9h"
    assert await conn.fetch_source(uid + 100) is None


async def test_flags_set_add_remove(mail: Mail) -> None:
    conn = await mail.session()
    uids = await folder_with(conn, "Flags", message("a"), message("b"))
    await conn.select("Flags")
    before = (await conn.fetch_flags(uids)).messages
    await conn.store_flags(uids, "add", ["\\Flagged", "$Work"])
    after = {m.uid: m for m in (await conn.fetch_flags(uids)).messages}
    assert all(plain(m.flags) == {"\\Flagged", "$Work"} for m in after.values())
    await conn.store_flags([uids[0]], "remove", ["\\Flagged"])
    await conn.store_flags([uids[1]], "set", ["\\Seen"])
    now = {m.uid: plain(m.flags) for m in (await conn.fetch_flags(uids)).messages}
    assert now == {uids[0]: {"$Work"}, uids[1]: {"\\Seen"}}
    since = max(m.modseq or 0 for m in after.values())
    changed = await conn.fetch_flags(uids, changed_since=since)
    assert {m.uid for m in changed.messages} == set(uids)
    assert all((m.modseq or 0) > since for m in changed.messages) and before


async def test_search_and_existing(mail: Mail) -> None:
    conn = await mail.session()
    uids = await folder_with(conn, "Find", message("Invoice May"), message("Lunch", "about invoices"))
    await conn.select("Find")
    await conn.store_flags([uids[0]], "add", ["\\Seen", "\\Flagged"])
    assert await conn.search("ALL") == uids
    assert await conn.search("SEEN") == [uids[0]]
    assert await conn.search("UNSEEN") == [uids[1]]
    assert await conn.search("FLAGGED") == [uids[0]]
    assert await conn.search("SUBJECT", "invoice") == [uids[0]]
    assert await conn.search("TEXT", "invoice") == uids
    assert await conn.search("FROM", "ann@example.org", "UNSEEN") == [uids[1]]
    assert await conn.search("UID", f"{uids[1]}:*") == [uids[1]]
    assert await conn.existing([uids[1], uids[1] + 50]) == [uids[1]]
    assert await conn.all_uids() == (uids, False)


async def test_move_and_copy_report_new_uids(mail: Mail) -> None:
    conn = await mail.session()
    uids = await folder_with(conn, "From", message("m1"), message("m2"), message("m3"))
    await conn.create("To")
    target = await conn.status("To")
    await conn.select("From")
    moved = await conn.move(uids[:2], "To")
    assert moved is not None and moved.uid_validity == target.uid_validity
    assert (moved.source, moved.destination) == (uids[:2], [target.uid_next, (target.uid_next or 0) + 1])
    assert await conn.existing(uids) == [uids[2]]
    copied = await conn.copy([uids[2]], "To")
    assert copied is not None and copied.destination == [(target.uid_next or 0) + 2]
    assert await conn.existing(uids) == [uids[2]]
    assert (await conn.status("To")).messages == 3
    with pytest.raises(CommandFailed):
        await conn.move([uids[2]], "Nowhere")


async def test_expunge_removes_only_deleted(mail: Mail) -> None:
    conn = await mail.session()
    uids = await folder_with(conn, "Bin", message("x"), message("y"))
    await conn.select("Bin")
    await conn.store_flags([uids[0]], "add", ["\\Deleted"])
    await conn.expunge(uids)
    assert (await conn.all_uids())[0] == [uids[1]]


async def test_labels_only_where_the_server_has_them(mail: Mail) -> None:
    conn = await mail.session()
    [uid] = await folder_with(conn, "Lab", message("l"))
    await conn.select("Lab")
    assert await conn.labels([uid]) == {}
    with pytest.raises(CommandFailed):
        await conn.store_labels([uid], "add", ["Work"])
    assert await conn.quota() is None  # neither server here sets a storage limit


async def test_watch_sees_changes_made_by_another_session(mail: Mail) -> None:
    watcher, other = await mail.session(), await mail.session()
    [uid] = await folder_with(other, "Watched", message("before"))
    await watcher.select("Watched", readonly=True)
    await other.append("Watched", message("after"))
    seen = await changes_until(watcher, lambda c: any(isinstance(x, NewMessages) for x in c))
    assert [x.exists for x in seen if isinstance(x, NewMessages)][-1] == 2
    await other.select("Watched")
    await other.store_flags([uid], "add", ["\\Flagged"])
    seen = await changes_until(watcher, lambda c: any(isinstance(x, FlagsChanged) for x in c))
    flagged = [x for x in seen if isinstance(x, FlagsChanged)]
    assert flagged[-1].uid == uid and "\\Flagged" in flagged[-1].flags
    await other.store_flags([uid], "add", ["\\Deleted"])
    await other.expunge([uid])
    seen = await changes_until(watcher, lambda c: any(isinstance(x, Vanished) for x in c))
    assert [x.uids for x in seen if isinstance(x, Vanished)][-1] in ([uid], [])


async def test_watch_returns_when_woken_or_timed_out(mail: Mail) -> None:
    conn = await mail.session()
    await conn.select("INBOX", readonly=True)
    wake = asyncio.Event()
    wake.set()
    assert await asyncio.wait_for(conn.watch(wake, 30.0), 10) == []
    assert await asyncio.wait_for(conn.watch(NEVER, 0.2), 10) == []


async def test_watch_folders_reports_other_folders(mail: Mail) -> None:
    watcher, other = await mail.session(), await mail.session()
    await other.create("Elsewhere")
    reported: list[FolderChanged] = []
    assert await watcher.watch_folders(reported.append)
    await watcher.select("INBOX", readonly=True)
    await other.append("Elsewhere", message("news"))
    deadline = time.monotonic() + 10
    while not any(c.path == "Elsewhere" for c in reported):
        left = deadline - time.monotonic()
        assert left > 0, f"no report for Elsewhere: {reported}"
        await watcher.watch(NEVER, left)  # a push ends the watch at once


async def test_failures(mail: Mail) -> None:
    with pytest.raises(AuthenticationFailed):
        await mail.session(auth={"user": mail.settings["auth"]["user"], "pass": "wrong"})
    conn = await mail.session()
    assert conn.usable
    conn.close()
    assert not conn.usable
    with pytest.raises(ConnectionLost):
        await conn.list_folders()
