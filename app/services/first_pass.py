"""Listing a folder whose first pass is still running.

The index fills newest first, in batches, while the server said at SELECT how many messages the
folder holds (``Mailbox.server_messages``). A listing then counts the server's number, and a page
the index has not reached yet waits for it instead of coming back short: a client paging through
a fresh account sees the same totals and pages it will see once the pass is over."""

from __future__ import annotations

import asyncio

from app.models import Mailbox
from app.services.context import Context

#: How often the folder's row is read again while a page waits. The sync may run in another
#: process, so there is no in-process signal to wait on; a read by primary key is cheap.
POLL = 0.05
#: The longest a page waits for the index. After that it is served as the index has it.
PATIENCE = 30.0


def total(box: Mailbox) -> int:
    """The folder's size as listings report it."""
    if box.initialized:
        return box.messages
    return max(box.messages, box.server_messages or 0)


async def caught_up(ctx: Context, box: Mailbox, rows: int) -> Mailbox:
    """``box`` once its index holds the first ``rows`` messages of the folder (or all of them, or
    the first pass is over, or :data:`PATIENCE` has passed); read afresh from the database."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while True:
        async with ctx.db.core() as s:
            fresh = await s.get(Mailbox, box.id)
        if fresh is None:
            return box
        box = fresh
        if box.initialized or box.messages >= min(rows, total(box)) or loop.time() >= deadline:
            return box
        await asyncio.sleep(POLL)
