"""Folders: listed from the index, changed on the server and in the index together."""

from __future__ import annotations

from sqlmodel import col, select

from app import events
from app.mail import specialuse
from app.mail.session import CommandFailed
from app.models import Mailbox
from app.schemas.mailboxes import (
    MailboxCreate,
    MailboxCreated,
    MailboxDeleted,
    MailboxEntry,
    MailboxList,
    MailboxStatus,
    MailboxUpdate,
    MailboxUpdated,
)
from app.services import folders
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.mailaccess import MailboxNotFound, find_mailbox, imap, usable_account
from app.services.principal import Principal


def _entry(box: Mailbox, counters: bool, explicit: dict[str, str] | None = None) -> MailboxEntry:
    parent, name = None, box.path
    if box.delimiter and box.delimiter in box.path:
        parent, name = box.path.rsplit(box.delimiter, 1)
    flags = {f.lower() for f in box.flags or []}
    return MailboxEntry(
        path=box.path,
        delimiter=box.delimiter,
        parentPath=parent,
        name=name,
        listed=True,
        subscribed=box.subscribed,
        noSelect="\\noselect" in flags or "\\nonexistent" in flags,
        noInferiors="\\noinferiors" in flags,
        specialUse="\\Inbox" if box.path == "INBOX" else box.special_use,
        specialUseSource=None
        if box.path == "INBOX"
        else specialuse.source(box.path, box.special_use, box.flags or [], explicit),
        messages=box.messages,
        uidNext=box.uid_next,
        status=MailboxStatus(messages=box.messages, unseen=box.unseen) if counters else None,
    )


async def list_mailboxes(ctx: Context, principal: Principal, account_id: str, counters: bool) -> MailboxList:
    account = await usable_account(ctx, principal, account_id)
    explicit = specialuse.overrides(account.imap)
    async with ctx.db.session() as s:
        boxes = (await s.exec(select(Mailbox).where(Mailbox.account == account_id))).all()
    ordered = sorted(boxes, key=lambda b: (b.path != "INBOX", b.path.lower()))
    return MailboxList(mailboxes=[_entry(b, counters, explicit) for b in ordered])


async def _delimiter(ctx: Context, account_id: str) -> str:
    async with ctx.db.session() as s:
        box = (
            await s.exec(
                select(Mailbox).where(Mailbox.account == account_id, col(Mailbox.delimiter).is_not(None))
            )
        ).first()
    return box.delimiter if box and box.delimiter else "/"


async def create_mailbox(
    ctx: Context, principal: Principal, account_id: str, data: MailboxCreate
) -> MailboxCreated:
    """CREATE unless the server already has the folder (whatever the index believes)."""
    account = await usable_account(ctx, principal, account_id)
    delimiter = await _delimiter(ctx, account_id)
    path = data.path if isinstance(data.path, str) else delimiter.join(data.path)
    if path.upper() == "INBOX":
        raise InvalidRequest("INBOX always exists", details={"path": "INBOX always exists"})
    async with imap(ctx, account) as conn:
        existing = await conn.find_folder(path)
        if existing is None:
            await conn.create(path)
            status = await conn.status(path)
        mailbox_id = await conn.mailbox_id(path)
    if existing is not None:
        try:
            await find_mailbox(ctx, account_id, path)
        except MailboxNotFound:
            await folders.adopt(ctx, account_id, existing)
        return MailboxCreated(path=path, mailboxId=mailbox_id, created=False)
    row = Mailbox(account=account_id, path=path, delimiter=delimiter, uid_next=status.uid_next)
    await folders.add(ctx, row, None)
    return MailboxCreated(path=path, mailboxId=mailbox_id, created=True)


async def update_mailbox(
    ctx: Context, principal: Principal, account_id: str, data: MailboxUpdate
) -> MailboxUpdated:
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, data.path)
    if data.newPath is None and data.subscribed is None:
        raise InvalidRequest("Nothing to change", details={"newPath": "give newPath and/or subscribed"})
    new_path = data.newPath
    if isinstance(new_path, list):
        new_path = (box.delimiter or await _delimiter(ctx, account_id)).join(new_path)
    result = MailboxUpdated(path=box.path)
    async with imap(ctx, account) as conn:
        try:
            if new_path is not None and new_path != box.path:
                if box.path == "INBOX":
                    raise InvalidRequest(
                        "INBOX cannot be renamed", details={"path": "INBOX cannot be renamed"}
                    )
                await conn.rename(box.path, new_path)
                result.newPath, result.renamed = new_path, True
            if data.subscribed is not None:
                await conn.subscribe(result.newPath or box.path, data.subscribed)
                result.subscribed = data.subscribed
        except CommandFailed:
            if await folders.confirm_gone(ctx, account, conn, box):
                raise MailboxNotFound(f"Mailbox {box.path!r} is no longer on the server") from None
            raise
        result.mailboxId = await conn.mailbox_id(result.newPath or box.path)
    async with ctx.db.core() as s:
        row = await s.get(Mailbox, box.id)
        if row is not None:
            if result.renamed and result.newPath:
                # The row, and so every message id in it, survives the rename.
                events.record(s, "mailboxDeleted", account_id, {"path": row.path}, path=row.path)
                row.path = result.newPath
                name = result.newPath.rsplit(row.delimiter or "/", 1)[-1]
                events.record(
                    s,
                    "mailboxNew",
                    account_id,
                    {"path": row.path, "name": name, "specialUse": row.special_use},
                    path=row.path,
                )
            if data.subscribed is not None:
                row.subscribed = data.subscribed
        await s.commit()
    ctx.mailboxes.drop_where(account_id)
    return result


async def delete_mailbox(ctx: Context, principal: Principal, account_id: str, path: str) -> MailboxDeleted:
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, path)
    if box.path == "INBOX":
        raise InvalidRequest("INBOX cannot be deleted", details={"path": "INBOX cannot be deleted"})
    async with imap(ctx, account) as conn:
        mailbox_id = await conn.mailbox_id(box.path) if await conn.find_folder(box.path) else None
        try:
            await conn.delete(box.path)
        except CommandFailed:
            if await folders.confirm_gone(ctx, account, conn, box):
                raise MailboxNotFound(f"Mailbox {box.path!r} is no longer on the server") from None
            raise
    await folders.forget(ctx, account_id, box)
    return MailboxDeleted(path=box.path, mailboxId=mailbox_id, deleted=True)
