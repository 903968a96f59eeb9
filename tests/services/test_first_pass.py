"""Listing a folder while its first pass runs: the server's count, and pages that wait for the index."""

from __future__ import annotations

import asyncio

from app.index.store import Index
from app.mail.types import FetchedMessage
from app.models import Account, Mailbox
from app.models.base import utcnow
from app.services import messages
from app.services.context import Context
from app.services.principal import OPERATOR

SIZE = 60


async def _setup(ctx: Context) -> tuple[Index, Mailbox]:
    async with ctx.db.core() as s:
        s.add(Account(id="fp", name="fp", state="syncing", notify_from=utcnow(),
                      imap={"host": "127.0.0.1", "port": 143, "auth": {"user": "u", "pass": "p"}}))  # fmt: skip
        await s.commit()
        box = Mailbox(account="fp", path="INBOX")
        s.add(box)
        await s.commit()
    box.uid_validity, box.server_messages = 7, SIZE  # as the sync holds them after SELECT
    return Index(ctx.db, "fp", ctx.index_changed), box


async def _index(index: Index, box: Mailbox, uids: range) -> None:
    await index.insert(box, [FetchedMessage(seq=u, uid=u, flags=[]) for u in uids], None)


async def _page(ctx: Context, page: int) -> messages.Page:
    return await messages.list_messages(ctx, OPERATOR, "fp", "INBOX", page, 20, None)


def _uids(page: messages.Page) -> list[int]:
    return [e["uid"] for e in page.entries]


async def test_total_is_the_servers_and_a_page_waits_for_the_index(ctx: Context) -> None:
    index, box = await _setup(ctx)
    await _index(index, box, range(SIZE, SIZE - 25, -1))  # the newest 25, as a first batch

    first = await _page(ctx, 0)
    assert first.total == SIZE and first.pages == 3
    assert _uids(first) == list(range(SIZE, SIZE - 20, -1))
    assert first.next_cursor is not None

    second = asyncio.create_task(_page(ctx, 1))  # needs messages 21-41: not indexed yet
    for _ in range(3):  # a few round trips of the waiting page's own polling
        done, _ = await asyncio.wait({second}, timeout=0)
        assert not done
        await _page(ctx, 0)
    await _index(index, box, range(SIZE - 25, 0, -1))  # the rest of the pass
    page = await asyncio.wait_for(second, 30)
    assert page.total == SIZE and _uids(page) == list(range(SIZE - 20, SIZE - 40, -1))


async def test_after_the_first_pass_the_index_counts(ctx: Context) -> None:
    index, box = await _setup(ctx)
    await _index(index, box, range(SIZE, 0, -1))
    await index.remove(box, set(range(1, 11)))  # expunged during the pass: the server's 60 is stale
    await index.save_state(box, initialized=True)
    ctx.pages.invalidate(box.id)
    ctx.mailboxes.clear()
    page = await _page(ctx, 2)
    assert page.total == SIZE - 10 and _uids(page) == list(range(20, 10, -1))
