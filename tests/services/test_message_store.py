"""Reading and changing messages through the services, on the in-memory mail server handed to the
context's session factory: the server stays the authority (a message another client removed is a
404 and leaves the index), and the index follows every change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.index.store import Index
from app.mail import ids
from app.mail.memory import MemoryServer
from app.mail.session import MailSession
from app.models import Event, Mailbox, Message
from app.schemas.messages import FlagChanges
from app.services import message_store, message_writes
from app.services.context import Context
from app.services.folder_sync import sync_folder
from app.services.mailaccess import AccountUnavailable, MessageNotFound
from app.services.principal import OPERATOR
from tests.on_memory import on_memory


@pytest.fixture
def backend() -> str:
    return "sqlite"


def mail(subject: str, attachment: bytes | None = None) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", subject
    msg.set_content(f"about {subject}")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="pdf", filename="doc.pdf")
    return msg.as_bytes()


@dataclass
class Setup:
    ctx: Context
    server: MemoryServer
    boxes: dict[str, Mailbox]

    def message_id(self, path: str, uid: int) -> str:
        box = self.boxes[path]
        assert box.id is not None and box.uid_validity is not None
        return ids.message_id(box.id, box.uid_validity, uid)

    async def other(self, path: str) -> MailSession:
        """Another mail client, with ``path`` selected."""
        conn = self.server({}, timeout=5.0)
        await conn.open()
        await conn.select(path)
        return conn

    async def server_flags(self, path: str, uid: int) -> set[str]:
        conn = await self.other(path)
        found = (await conn.fetch_flags([uid])).messages
        await conn.logout()
        return set(found[0].flags or []) if found else set()

    async def indexed(self, path: str) -> dict[int, Message]:
        async with self.ctx.db.core() as s:
            rows = await s.execute(select(Message).where(col(Message.mailbox_id) == self.boxes[path].id))
            return {m.uid: m for m in rows.scalars()}

    async def events(self, kind: str) -> list[Event]:
        async with self.ctx.db.core() as s:
            return list((await s.execute(select(Event).where(col(Event.type) == kind))).scalars())


@pytest.fixture
async def setup(ctx: Context) -> AsyncIterator[Setup]:
    server = MemoryServer()
    server.create_folder("Archive", "\\Archive")
    server.create_folder("Trash", "\\Trash")
    server.add("INBOX", mail("first"))
    server.add("INBOX", mail("with file", attachment=b"%PDF-1.4 tiny"))
    fake = await on_memory(ctx, server, state="connected")  # every session is an in-memory one
    index = Index(fake.db, "acc", fake.index_changed)
    conn = server({}, timeout=5.0)
    await conn.open()
    boxes = {}
    for box in await index.apply_list(await conn.list_folders(), None):
        boxes[box.path] = await sync_folder(conn, index, box, None)
    await conn.logout()
    yield Setup(fake, server, boxes)
    await fake.imap.close()


async def test_source_is_read_once_then_cached(setup: Setup) -> None:
    loc = await message_store.locate(setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 2))
    raw = await message_store.source(setup.ctx, loc)
    assert b"Subject: with file" in raw
    setup.server.fail_next("fetch_section")  # a second read from the server would fail
    assert await message_store.source(setup.ctx, loc) == raw
    [attachment] = (await setup.indexed("INBOX"))[2].attachments or []
    box = setup.boxes["INBOX"]
    assert box.id is not None and box.uid_validity is not None
    key = ids.MessageKey(box.id, box.uid_validity, 2)
    found = await message_store.attachment_part(
        setup.ctx, loc.account, ids.attachment_id(key, attachment["part"])
    )
    content, ctype, name = found
    assert (content, ctype, name) == (b"%PDF-1.4 tiny", "application/pdf", "doc.pdf")


async def test_a_message_another_client_removed_is_gone(setup: Setup) -> None:
    other = await setup.other("INBOX")
    await other.store_flags([1], "add", ["\\Deleted"])
    await other.expunge([1])
    loc = await message_store.locate(setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 1))
    with pytest.raises(MessageNotFound, match="no longer on the server"):
        await message_store.source(setup.ctx, loc)
    assert 1 not in await setup.indexed("INBOX")
    assert len(await setup.events("messageDeleted")) == 1
    with pytest.raises(MessageNotFound):
        await message_writes.update_message(
            setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 1), FlagChanges(add=["\\Seen"])
        )


async def test_flags_change_on_the_server_and_in_the_index(setup: Setup) -> None:
    message_id = setup.message_id("INBOX", 1)
    done = await message_writes.update_message(
        setup.ctx, OPERATOR, "acc", message_id, FlagChanges(add=["\\Flagged", "$Work"])
    )
    assert set(done.flags["result"]) == {"\\Flagged", "$Work"}  # type: ignore[arg-type]
    await message_writes.update_message(setup.ctx, OPERATOR, "acc", message_id, FlagChanges(delete=["$Work"]))
    assert await setup.server_flags("INBOX", 1) == {"\\Flagged"}
    row = (await setup.indexed("INBOX"))[1]
    assert row.flags == ["\\Flagged"] and row.flagged
    await message_writes.update_message(setup.ctx, OPERATOR, "acc", message_id, FlagChanges(set=["\\Seen"]))
    assert await setup.server_flags("INBOX", 1) == {"\\Seen"}


async def test_move_indexes_the_copy_at_once(setup: Setup) -> None:
    moved = await message_writes.move_message(
        setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 1), "Archive"
    )
    assert moved.path == "Archive" and moved.uid == 1
    assert moved.id == setup.message_id("Archive", 1)
    assert 1 not in await setup.indexed("INBOX")
    assert (await setup.indexed("Archive"))[1].subject == "first"
    assert (await (await setup.other("Archive")).all_uids())[0] == [1]


async def test_delete_moves_to_trash_unless_forced(setup: Setup) -> None:
    trashed = await message_writes.delete_message(
        setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 1), force=False
    )
    assert not trashed.deleted and trashed.moved == {
        "destination": "Trash",
        "message": setup.message_id("Trash", 1),
    }
    gone = await message_writes.delete_message(
        setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 2), force=True
    )
    assert gone.deleted
    assert (await (await setup.other("INBOX")).all_uids())[0] == []
    assert await setup.indexed("INBOX") == {}


async def test_a_renumbered_folder_is_not_written_to(setup: Setup) -> None:
    setup.server.bump_uidvalidity("INBOX")
    with pytest.raises(MessageNotFound, match="reset on the server"):
        await message_writes.update_message(
            setup.ctx, OPERATOR, "acc", setup.message_id("INBOX", 1), FlagChanges(add=["\\Seen"])
        )
    assert await setup.server_flags("INBOX", 1) == set()


async def test_a_lost_connection_is_a_503_and_the_next_call_reconnects(setup: Setup) -> None:
    message_id = setup.message_id("INBOX", 1)
    setup.server.fail_next("store_flags")
    with pytest.raises(AccountUnavailable):
        await message_writes.update_message(
            setup.ctx, OPERATOR, "acc", message_id, FlagChanges(add=["\\Seen"])
        )
    await message_writes.update_message(setup.ctx, OPERATOR, "acc", message_id, FlagChanges(add=["\\Seen"]))
    assert await setup.server_flags("INBOX", 1) == {"\\Seen"}
