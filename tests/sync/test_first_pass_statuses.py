"""A session's first pass selects only the folders it must: what LIST-STATUS answered stores new
empty folders without a SELECT (all in one write) and leaves folders alone whose counters prove
them unchanged since the last pass (CONDSTORE); without those, every folder is read."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.index.store import Index
from app.mail.memory import DEFAULT_CAPABILITIES, MemoryServer
from app.models import Mailbox
from app.services.context import Context
from app.services.folder_sync import first_pass
from tests.on_memory import on_memory, taken
from tests.sync.test_folder_sync import mail


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def _pass(ctx: Context, server: MemoryServer) -> dict[str, Mailbox]:
    server.asked.clear()
    index = Index(ctx.db, "acc", ctx.index_changed)
    conn = server({}, timeout=5.0)
    await conn.open()
    try:
        entries, statuses = await conn.list_with_status()
        boxes = await index.apply_list(entries, None)
        return {b.path: b for b in await first_pass(conn, index, boxes, statuses, None)}
    finally:
        await conn.logout()


async def _world(ctx: Context, capabilities: frozenset[str]) -> tuple[Context, MemoryServer]:
    server = MemoryServer(capabilities=capabilities)
    for path in ("Archive", "Trash", "Junk"):
        server.create_folder(path)
    server.add("INBOX", mail("hello"))
    server.add("Archive", mail("kept"))
    return await on_memory(ctx, server), server


async def _flag(server: MemoryServer, path: str, uid: int) -> None:
    """Another client flags a message: only the folder's MODSEQ shows it."""
    other = server({}, timeout=5.0)
    await other.open()
    await other.select(path)
    await other.store_flags([uid], "add", ["\\Flagged"])
    await other.logout()


async def test_new_empty_folders_need_no_select_and_unchanged_ones_are_left_alone(ctx: Context) -> None:
    fake, server = await _world(ctx, DEFAULT_CAPABILITIES)
    commits: list[None] = []
    event.listen(fake.db.engine.sync_engine, "commit", lambda _conn: commits.append(None))
    boxes = await _pass(fake, server)
    assert taken(server, "select") == ["INBOX", "Archive"]  # INBOX first; Trash and Junk are empty
    assert len(commits) == 4  # the listing, both empty folders together, INBOX, Archive
    async with fake.db.core() as s:
        stored = await s.get(Mailbox, boxes["Trash"].id)
    folder = server.folder("Trash")
    assert stored is not None and stored.initialized and stored.messages == 0
    assert (stored.uid_validity, stored.uid_next, stored.synced_modseq) == (
        folder.uid_validity,
        1,
        folder.modseq,
    )
    assert boxes["Trash"].uid_validity == stored.uid_validity  # the objects handed back are current

    await _pass(fake, server)  # a reconnect with nothing changed: only INBOX (it is watched)
    assert taken(server, "select") == ["INBOX"]
    server.add("Trash", mail("deleted"))
    uid = server.add("Archive", mail("more"))
    boxes = await _pass(fake, server)
    selected = taken(server, "select")
    assert sorted(selected) == ["Archive", "INBOX", "Trash"] and selected[0] == "INBOX"
    assert (boxes["Trash"].messages, boxes["Archive"].messages) == (1, 2)
    await _flag(server, "Archive", uid)
    taken(server, "select")  # the other client's own
    await _pass(fake, server)
    assert taken(server, "select") == ["INBOX", "Archive"]


@pytest.mark.parametrize(
    "capabilities",
    [
        pytest.param(DEFAULT_CAPABILITIES - {"CONDSTORE", "QRESYNC"}, id="no-condstore"),
        pytest.param(DEFAULT_CAPABILITIES - {"LIST-STATUS"}, id="no-list-status"),
    ],
)
async def test_without_proof_every_folder_is_read(ctx: Context, capabilities: frozenset[str]) -> None:
    fake, server = await _world(ctx, capabilities)
    await _pass(fake, server)
    empty_spared = "LIST-STATUS" in capabilities
    assert taken(server, "select") == (
        ["INBOX", "Archive"] if empty_spared else ["INBOX", "Archive", "Trash", "Junk"]
    )
    await _pass(fake, server)
    assert taken(server, "select") == ["INBOX", "Archive", "Trash", "Junk"]
