"""The listing's own SQLite read (one driver call, a page's values decoded together) gives the rows
SQLAlchemy Core gives, for every kind of slice and of stored value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from app.index import pages
from app.index.store import Index
from app.mail.types import Address, Envelope, FetchedMessage
from app.models import Account, Mailbox, Message
from app.services.context import Context
from tests.services.test_message_entries import full_message

WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def assorted(uid: int) -> FetchedMessage:
    """Subjects with quotes, backslashes and non-ASCII text; some values missing."""
    envelope = Envelope(
        date=WHEN - timedelta(days=uid) if uid % 3 else None,
        subject=None if uid % 5 == 0 else f'Re: "quoted" \\ ünïcödé ✉ {uid}',
        from_=[Address(f'Näme "{uid}"', f"sender{uid}@example.com")] if uid % 2 else [],
        to=[Address(None, f"to{uid}@example.com")],
        message_id=f"<m{uid}@example.com>",
    )
    flags = ["\\Seen"] if uid % 2 else ["$Label", "\\Flagged"]
    return FetchedMessage(seq=uid, uid=uid, flags=flags, internal_date=WHEN + timedelta(seconds=uid),
                          size=100 + uid, envelope=envelope, preview=None if uid % 4 else "préview")  # fmt: skip


async def folder(ctx: Context, path: str) -> Mailbox:
    async with ctx.db.writer() as s:
        s.add(Account(id="acc1", name="A"))
        s.add(Mailbox(account="acc1", path=path, delimiter="/", uid_validity=42))
        await s.commit()
        return (await s.execute(select(Mailbox).where(col(Mailbox.path) == path))).scalars().one()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_sqlite_read_gives_what_core_gives(ctx: Context) -> None:
    box = await folder(ctx, "INBOX")
    assert box.id is not None
    index = Index(ctx.db, "acc1")
    fetched = [full_message(7), FetchedMessage(seq=1, uid=3), *(assorted(uid) for uid in range(10, 40))]
    assert await index.insert(box, fetched, None) == len(fetched)
    async with ctx.db.writer() as s:  # a stored time with microseconds, as a write of ours may leave
        row = (await s.execute(select(Message).where(col(Message.uid) == 12))).scalars().one()
        row.date = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
        await s.commit()

    slices = [
        pages.Slice(box.id, 100),
        pages.Slice(box.id, 21),
        pages.Slice(box.id, 5, offset=3),
        pages.Slice(box.id, 5, offset=30),
        pages.Slice(box.id, 5, offset=500),
        pages.Slice(box.id, 4, below=12),
        pages.Slice(box.id, 4, above=7),
        pages.Slice(box.id, 4, above=39),
        pages.Slice(box.id + 1, 5),
    ]
    for part in slices:
        fast, core = await pages.sqlite(ctx.db.engine, part), await pages.core(ctx.db.engine, part)
        assert fast == core, part
        assert [list(r) for r in fast] == [list(r) for r in core]  # the same keys, in the same order
        assert await pages.read(ctx.db.engine, part) == core
    everything = await pages.core(ctx.db.engine, slices[0])
    assert [r["uid"] for r in everything] == sorted((m.uid for m in fetched if m.uid), reverse=True)
    assert {type(r["date"]) for r in everything} == {datetime, type(None)}
    assert next(r for r in everything if r["uid"] == 12)["date"].microsecond == 678901
