"""Section reads on the in-memory server, which records every section asked for: what is asked,
what is kept, and every way back to the whole source (rows without part numbers, parts the server
answers empty, parts the index does not list, a message that is gone)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.index.store import Index
from app.mail import ids
from app.mail.memory import DEFAULT_CAPABILITIES, MemoryServer
from app.models import Account, Mailbox, Message
from app.schemas.messages import MessageGetQuery, UploadAttachment
from app.services import message_parts, message_store, message_upload, messages
from app.services.context import Context
from app.services.folder_sync import sync_folder
from app.services.mailaccess import MessageNotFound
from app.services.principal import OPERATOR
from tests.on_memory import on_memory, taken

ALTERNATIVE = (
    b"From: A <a@example.org>\r\nTo: b@example.org\r\nSubject: both\r\nReferences: <r@x>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
    b'--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
    b"--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Fa=E7ade\r\n"
    b"--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"<p>Fa=C3=A7ade</p>\r\n--a--\r\n"
    b'--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary="i"\r\n\r\n'
    b"--i\r\nContent-Type: text/plain\r\n\r\ninner\r\n"
    b'--i\r\nContent-Type: application/pdf; name="in.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    b"JVBERi0x\r\n--i--\r\n--m--\r\n"
)
SINGLE = b"From: a@example.org\r\nSubject: single\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"
NO_BOUNDARY = (
    b"From: a@example.org\r\nSubject: broken\r\nContent-Type: multipart/mixed\r\n\r\nplain after all\r\n"
)
EVERY_TEXT = MessageGetQuery(textType="*")


@dataclass
class Setup:
    ctx: Context
    server: MemoryServer
    box: Mailbox

    def sections(self) -> list[str]:
        """The sections fetched since the last look."""
        return taken(self.server, "fetch_section")

    def message_id(self, uid: int) -> str:
        assert self.box.id is not None and self.box.uid_validity is not None
        return ids.message_id(self.box.id, self.box.uid_validity, uid)

    async def get(self, uid: int, q: MessageGetQuery = EVERY_TEXT) -> dict[str, Any]:
        found = await messages.get_message(self.ctx, OPERATOR, "acc", self.message_id(uid), q)
        return found.model_dump()

    async def whole(self, uid: int, q: MessageGetQuery = EVERY_TEXT) -> dict[str, Any]:
        """The same read from the whole source, as reads were before sections."""
        read = message_parts.read
        message_parts.read = message_parts.whole
        try:
            return await self.get(uid, q)
        finally:
            message_parts.read = read

    async def listed_attachment(self, uid: int) -> tuple[Account, ids.MessageKey, dict[str, Any]]:
        """The account, the message's key and the one attachment the index lists for it."""
        key = ids.parse_message_id(self.message_id(uid))
        async with self.ctx.db.core() as s:
            account = await s.get(Account, "acc")
        assert account is not None
        [listed] = (await message_store.locate_key(self.ctx, account, key)).row.attachments or []
        return account, key, listed

    async def set_row(self, uid: int, **values: Any) -> None:
        async with self.ctx.db.core() as s:
            await s.execute(
                update(Message)
                .where(col(Message.mailbox_id) == self.box.id, col(Message.uid) == uid)
                .values(**values)
            )
            await s.commit()


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def make_setup(ctx: Context, server: MemoryServer) -> AsyncIterator[Setup]:
    server.add("INBOX", ALTERNATIVE)
    server.add("INBOX", SINGLE)
    server.add("INBOX", NO_BOUNDARY)
    fake = await on_memory(ctx, server, state="connected")
    index = Index(fake.db, "acc", fake.index_changed)
    conn = server({}, timeout=5.0)
    await conn.open()
    [box] = [
        await sync_folder(conn, index, b, None)
        for b in await index.apply_list(await conn.list_folders(), None)
    ]
    await conn.logout()
    server.asked.clear()
    yield Setup(fake, server, box)
    await fake.imap.close()


@pytest.fixture
async def setup(ctx: Context) -> AsyncIterator[Setup]:
    async for found in make_setup(ctx, MemoryServer()):
        yield found


@pytest.fixture
async def gmail(ctx: Context) -> AsyncIterator[Setup]:
    async for found in make_setup(ctx, MemoryServer(capabilities=DEFAULT_CAPABILITIES | {"X-GM-EXT-1"})):
        yield found


async def test_reads_fetch_the_header_and_text_sections_then_keep_them(setup: Setup) -> None:
    shown = await setup.get(1)
    assert setup.sections() == ["HEADER", "1.1.MIME", "1.1", "1.2.MIME", "1.2"]
    assert shown["text"]["plain"] == "Façade" and shown["text"]["html"] == "<p>Façade</p>"
    assert shown["references"] == ["<r@x>"] and shown["sender"] is None
    assert await setup.get(1) == shown  # from the cache: nothing asked of the server
    assert await setup.get(1, MessageGetQuery()) == {
        **shown,
        "text": {**shown["text"], "plain": None, "html": None},
    }
    assert setup.sections() == []
    assert shown == await setup.whole(1)


async def test_single_part_text_is_section_one_under_the_message_header(setup: Setup) -> None:
    key = ids.parse_message_id(setup.message_id(2))
    text = await messages.get_text(setup.ctx, OPERATOR, "acc", ids.text_id(key), "plain", 3)
    assert setup.sections() == ["HEADER", "1"]
    assert (text.plain, text.hasMore) == ("Gr", True)  # "ü" would not fit whole in 3 bytes
    assert await setup.get(2) == await setup.whole(2)


async def test_rows_without_part_numbers_read_the_whole_source(setup: Setup) -> None:
    expected = await setup.whole(1)
    setup.ctx.sources = type(setup.ctx.sources)()  # forget the source the whole read cached
    setup.ctx.parsed = type(setup.ctx.parsed)(32 << 20, 4 << 20)
    setup.sections()
    await setup.set_row(1, text=None)
    shown = await setup.get(1)
    assert setup.sections() == [""]
    assert shown["text"]["plain"] == expected["text"]["plain"] and shown["headers"] == expected["headers"]


async def test_an_attachment_sent_by_reference_is_read_alone(setup: Setup) -> None:
    """``attachments[].reference`` of a submission or an upload copies one part, not the message."""
    account, key, listed = await setup.listed_attachment(1)
    spec = UploadAttachment(reference=ids.attachment_id(key, listed["part"]))
    copied = await message_upload.attachment(setup.ctx, OPERATOR, account, spec)
    assert setup.sections() == ["2.MIME", "2"]
    assert copied.content.startswith(b"Subject: inner") and copied.content_type == "message/rfc822"


async def test_a_part_the_server_answers_empty_reads_the_whole_source(setup: Setup) -> None:
    await setup.set_row(1, text={"plain": ["7"], "html": [], "encodedSize": {"plain": 9, "html": 0}})
    shown = await setup.get(1, MessageGetQuery(textType="plain"))
    assert setup.sections() == ["HEADER", "7.MIME", ""]
    assert shown["text"]["plain"] == "Façade"


async def test_a_multipart_without_boundary_reads_the_whole_source(setup: Setup) -> None:
    """Read whole, such a body is text; a server may number its parts otherwise."""
    shown = await setup.get(3)
    assert setup.sections() == ["HEADER", ""]
    assert shown["text"]["plain"] == "plain after all\n"


async def test_attachments_listed_are_read_alone_others_from_the_whole_source(setup: Setup) -> None:
    _, key, listed = await setup.listed_attachment(1)
    content, ctype, name = await messages.get_attachment(
        setup.ctx, OPERATOR, "acc", ids.attachment_id(key, listed["part"])
    )
    assert setup.sections() == ["2.MIME", "2"]
    assert ctype == "message/rfc822" and content.startswith(b"Subject: inner") and name is None
    inner = await messages.get_attachment(setup.ctx, OPERATOR, "acc", ids.attachment_id(key, "2.2"))
    assert setup.sections() == [""]  # inside the attached message: not in the index
    assert inner == (b"%PDF-1", "application/pdf", "in.pdf")
    with pytest.raises(message_store.AttachmentNotFound):
        await messages.get_attachment(setup.ctx, OPERATOR, "acc", ids.attachment_id(key, "9"))


async def test_a_message_gone_from_the_server_is_a_404(setup: Setup) -> None:
    other = setup.server({}, timeout=5.0)
    await other.open()
    await other.select("INBOX")
    await other.store_flags([1], "add", ["\\Deleted"])
    await other.expunge([1])
    with pytest.raises(MessageNotFound, match="no longer on the server"):
        await setup.get(1)
    with pytest.raises(MessageNotFound):  # dropped from the index too
        await message_store.locate(setup.ctx, OPERATOR, "acc", setup.message_id(1))


async def test_labels_are_read_every_time_texts_only_once(gmail: Setup) -> None:
    first = await gmail.get(2)
    assert gmail.sections() == ["HEADER", "1"]
    assert first["labels"] == []
    conn = gmail.server({}, timeout=5.0)
    await conn.open()
    await conn.select("INBOX")
    await conn.store_labels([2], "add", ["Work"])
    again = await gmail.get(2)
    assert gmail.sections() == [] and again["labels"] == ["Work"]
    assert again["text"] == first["text"]
