"""Folders: listed from the index, changed on the server and in the index together."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app import events
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
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.mailaccess import find_mailbox, imap, usable_account
from app.services.principal import Principal


def _entry(box: Mailbox, counters: bool) -> MailboxEntry:
    parent, name = None, box.path
    if box.delimiter and box.delimiter in box.path:
        parent, name = box.path.rsplit(box.delimiter, 1)
    return MailboxEntry(
        path=box.path,
        delimiter=box.delimiter,
        parentPath=parent,
        name=name,
        listed=True,
        subscribed=box.subscribed,
        specialUse="\\Inbox" if box.path == "INBOX" else box.special_use,
        messages=box.messages,
        uidNext=box.uid_next,
        status=MailboxStatus(messages=box.messages, unseen=box.unseen) if counters else None,
    )


async def list_mailboxes(ctx: Context, principal: Principal, account_id: str, counters: bool) -> MailboxList:
    await usable_account(ctx, principal, account_id)
    async with ctx.db.session() as s:
        boxes = (await s.exec(select(Mailbox).where(Mailbox.account == account_id))).all()
    ordered = sorted(boxes, key=lambda b: (b.path != "INBOX", b.path.lower()))
    return MailboxList(mailboxes=[_entry(b, counters) for b in ordered])


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
    account = await usable_account(ctx, principal, account_id)
    delimiter = await _delimiter(ctx, account_id)
    path = data.path if isinstance(data.path, str) else delimiter.join(data.path)
    if path.upper() == "INBOX":
        raise InvalidRequest("INBOX always exists", details={"path": "INBOX always exists"})
    async with ctx.db.session() as s:
        exists = (
            await s.exec(select(Mailbox).where(Mailbox.account == account_id, Mailbox.path == path))
        ).first()
    if exists is not None:
        return MailboxCreated(path=path, created=False)
    async with imap(ctx, account) as conn:
        await conn.create(path)
        status = await conn.status(path)
    async with ctx.db.core() as s:
        s.add(
            Mailbox(
                account=account_id,
                path=path,
                delimiter=delimiter,
                uid_validity=None,
                uid_next=status.get("UIDNEXT"),
            )
        )
        name = path.rsplit(delimiter, 1)[-1]
        events.record(
            s, "mailboxNew", account_id, {"path": path, "name": name, "specialUse": None}, path=path
        )
        try:
            await s.commit()
        except IntegrityError:  # the sync engine's LIST indexed it (and announced it) first
            await s.rollback()
    ctx.mailboxes.drop_where(account_id)
    ctx.control.send(account_id, "sync")
    return MailboxCreated(path=path, created=True)


async def update_mailbox(
    ctx: Context, principal: Principal, account_id: str, data: MailboxUpdate
) -> MailboxUpdated:
    account = await usable_account(ctx, principal, account_id)
    box = await find_mailbox(ctx, account_id, data.path)
    if data.newPath is None and data.subscribed is None:
        raise InvalidRequest("Nothing to change", details={"newPath": "give newPath and/or subscribed"})
    result = MailboxUpdated(path=box.path)
    async with imap(ctx, account) as conn:
        if data.newPath is not None and data.newPath != box.path:
            if box.path == "INBOX":
                raise InvalidRequest("INBOX cannot be renamed", details={"path": "INBOX cannot be renamed"})
            await conn.rename(box.path, data.newPath)
            result.newPath, result.renamed = data.newPath, True
        if data.subscribed is not None:
            await conn.subscribe(result.newPath or box.path, data.subscribed)
            result.subscribed = data.subscribed
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
    box = await find_mailbox(ctx, account_id, path)
    if box.path == "INBOX":
        raise InvalidRequest("INBOX cannot be deleted", details={"path": "INBOX cannot be deleted"})
    async with imap(ctx, account) as conn:
        await conn.delete(box.path)
    async with ctx.db.core() as s:
        row = await s.get(Mailbox, box.id)
        if row is not None:
            await s.delete(row)
            events.record(s, "mailboxDeleted", account_id, {"path": box.path}, path=box.path)
        await s.commit()
    ctx.mailboxes.drop_where(account_id)
    return MailboxDeleted(path=box.path, deleted=True)
