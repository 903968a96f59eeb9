"""Which folder is meant, with the IMAP server as the authority: another mail client may have
created or removed a folder moments ago, before the sync engine noticed. Writes must follow the
server, so a folder the index lacks is looked up there (and indexed at once), and one the server
no longer has is dropped from the index."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from app import events
from app.index.store import Index
from app.mail.imapparse import ListEntry
from app.mail.session import MailSession
from app.models import Account, Mailbox
from app.services import control
from app.services.context import Context
from app.services.folder_sync import sync_folder
from app.services.mailaccess import MailboxNotFound, find_mailbox, imap


async def resolve(
    ctx: Context, account: Account, path: str, *, cached: bool = False, indexed: bool = False
) -> Mailbox:
    """The folder from the index, else from the server (indexed now); 404 only if neither has it.

    ``indexed``: a folder taken from the server has its messages indexed before this returns,
    for callers that read the folder's messages from the index."""
    try:
        return await find_mailbox(ctx, account.id, path, cached=cached)
    except MailboxNotFound:
        if path.startswith("\\"):  # a special use: the index knows every folder LIST flagged
            raise
    name = "INBOX" if path.upper() == "INBOX" else path
    async with imap(ctx, account) as conn:
        entry = await conn.find_folder(name)
    if entry is None:
        raise MailboxNotFound(f"Mailbox {path!r} was not found")
    box = await adopt(ctx, account.id, entry)
    return await ensure_indexed(ctx, account, box) if indexed else box


async def adopt(ctx: Context, account_id: str, entry: ListEntry) -> Mailbox:
    """Index a folder the server has and the index does not yet, announcing it as the sync would."""
    row = Mailbox(
        account=account_id,
        path=entry.path,
        delimiter=entry.delimiter,
        special_use=None if entry.path == "INBOX" else entry.special_use,
        flags=list(entry.flags),
        subscribed=entry.subscribed,
    )
    await add(ctx, row, entry.special_use)
    async with ctx.db.session() as s:
        box = (
            await s.exec(select(Mailbox).where(Mailbox.account == account_id, Mailbox.path == entry.path))
        ).first()
    if box is None:
        raise MailboxNotFound(f"Mailbox {entry.path!r} was not found")
    return box


async def add(ctx: Context, row: Mailbox, special_use: str | None) -> None:
    """Insert a folder the server has (mailboxNew) and let the sync engine pick it up; the engine
    may have indexed and announced it meanwhile, and then this adds nothing."""
    account_id, path = row.account, row.path  # read before the commit expires the row
    name = path.rsplit(row.delimiter, 1)[-1] if row.delimiter else path
    async with ctx.db.core() as s:
        s.add(row)
        payload = {"path": path, "name": name, "specialUse": special_use}
        events.record(s, "mailboxNew", account_id, payload, path=path)
        try:
            await s.commit()
        except IntegrityError:
            await s.rollback()
    ctx.mailboxes.drop_where(account_id)
    await control.send(ctx, account_id, "sync")


async def forget(ctx: Context, account_id: str, box: Mailbox) -> None:
    """The server has no such folder any more: drop it (and its messages) from the index."""
    async with ctx.db.core() as s:
        row = await s.get(Mailbox, box.id)
        if row is not None:
            await s.delete(row)
            events.record(s, "mailboxDeleted", account_id, {"path": row.path}, path=row.path)
        await s.commit()
    ctx.mailboxes.drop_where(account_id)


async def confirm_gone(ctx: Context, account: Account, conn: MailSession, box: Mailbox) -> bool:
    """After the server refused a folder command: True (and the index updated) if it lacks the folder."""
    if await conn.find_folder(box.path) is not None:
        return False
    await forget(ctx, account.id, box)
    return True


async def ensure_indexed(ctx: Context, account: Account, box: Mailbox) -> Mailbox:
    """Index a folder just adopted from the server on demand, so listing it answers what the
    server has. Runs the sync engine's own folder pass on the command connection; the engine's later pass
    finds the work done (inserts are idempotent) and carries on incrementally."""
    if box.initialized or (box.flags and "\\noselect" in {f.lower() for f in box.flags}):
        return box
    index = Index(ctx.db, account.id, ctx.index_changed)
    async with imap(ctx, account) as conn:
        box = await sync_folder(conn, index, box, account.notify_from)
    ctx.mailboxes.drop_where(account.id)
    return box
