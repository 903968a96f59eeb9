"""Folder pages stay cached until the folder changes, and a change made by another process (its
own caches, the same database) is seen here once this process reads the folder row again."""

from __future__ import annotations

import asyncio
import json

from app.config import Settings
from app.index.store import Index
from app.mail.types import FetchedMessage
from app.models import Account, Mailbox
from app.services import messages
from app.services.context import Context
from app.services.principal import OPERATOR


async def _folder(ctx: Context, size: int) -> tuple[Index, Mailbox]:
    async with ctx.db.core() as s:
        s.add(Account(id="pc", name="pc", state="connected", imap={"host": "127.0.0.1"}))
        await s.commit()
        box = Mailbox(account="pc", path="INBOX", uid_validity=7, initialized=True)
        s.add(box)
        await s.commit()
    index = Index(ctx.db, "pc", ctx.index_changed)
    await index.insert(
        box, [FetchedMessage(seq=u, uid=u, flags=["\\Seen"]) for u in range(1, size + 1)], None
    )
    return index, box


async def _listing(ctx: Context) -> dict[str, object]:
    rendered = await messages.list_messages_json(ctx, OPERATOR, "pc", "INBOX", 0, 20, None)
    found: dict[str, object] = json.loads(rendered)
    return found


def _flagged(listing: dict[str, object]) -> dict[int, bool]:
    return {m["uid"]: m["flagged"] for m in listing["messages"]}  # type: ignore[attr-defined,index]


async def test_a_flag_change_bumps_the_folder_version_though_no_count_moves(ctx: Context) -> None:
    index, box = await _folder(ctx, 3)
    before = box.version
    changed = await index.update_flags(box, [FetchedMessage(seq=2, uid=2, flags=["\\Seen", "\\Flagged"])])
    assert changed == 1 and box.unseen == 0
    assert box.version == before + 1
    unchanged = await index.update_flags(box, [FetchedMessage(seq=2, uid=2, flags=["\\Flagged", "\\Seen"])])
    assert unchanged == 0 and box.version == before + 1  # nothing a listing shows changed


async def test_a_page_is_rendered_once_while_its_folder_is_unchanged(ctx: Context) -> None:
    await _folder(ctx, 30)
    first = await messages.list_messages_json(ctx, OPERATOR, "pc", "INBOX", 0, 20, None)
    ctx.mailboxes.clear()  # the folder row is read again, and names the same version
    again = await messages.list_messages_json(ctx, OPERATOR, "pc", "INBOX", 0, 20, None)
    assert again is first  # the very bytes rendered before: no second query


async def test_a_change_written_by_another_process_is_seen_without_a_local_write(
    ctx: Context, settings: Settings
) -> None:
    _, box = await _folder(ctx, 30)
    assert not any(_flagged(await _listing(ctx)).values())
    other = Context.from_settings(settings)  # another process: caches of its own, the same database
    try:
        async with other.db.core() as s:
            theirs = await s.get(Mailbox, box.id)
        assert theirs is not None
        await Index(other.db, "pc", other.index_changed).update_flags(
            theirs, [FetchedMessage(seq=30, uid=30, flags=["\\Seen", "\\Flagged"])]
        )
    finally:
        await other.close()
    # Nothing told this process: its folder cache turns over within a second, and the page
    # rendered before (kept for a minute) must not be served for the new version.
    async with asyncio.timeout(10):
        while not _flagged(await _listing(ctx)).get(30):
            await asyncio.sleep(0.05)
    assert _flagged(await _listing(ctx)) == {uid: uid == 30 for uid in range(30, 10, -1)}
