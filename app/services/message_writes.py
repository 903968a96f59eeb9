"""Changing messages: flags, labels, moves and deletes, one at a time or by search, and storing
new ones. Every change goes to the server first (see message_store); the index follows."""

from __future__ import annotations

from datetime import datetime

from app.index.store import Index
from app.mail import ids, mime
from app.models import Account, Mailbox
from app.schemas.messages import (
    BulkDeleted,
    BulkMoved,
    BulkUpdated,
    Deleted,
    DeletedMessages,
    FlagChanges,
    FlagsUpdated,
    LabelChanges,
    Moved,
    MovedAway,
    SearchCriteria,
    Uploaded,
)
from app.services import folders
from app.services import message_store as store
from app.services.context import Context
from app.services.mailaccess import MessageNotFound, imap, usable_account
from app.services.principal import Principal


def _wanted(changes: FlagChanges | None, labels: LabelChanges | None) -> tuple[FlagChanges, bool, bool]:
    changes = changes or FlagChanges()
    flags = changes.set is not None or bool(changes.add) or bool(changes.delete)
    return changes, flags, labels is not None and bool(labels.add or labels.delete)


def _done(changes: FlagChanges) -> dict[str, bool | list[str]]:
    done = {"set": changes.set is not None, "add": bool(changes.add), "delete": bool(changes.delete)}
    return {k: True for k, v in done.items() if v}


def _labels_done(labels: LabelChanges | None) -> dict[str, bool | list[str]] | None:
    """None when no label change was asked for, so the answer leaves ``labels`` out."""
    if labels is None or not (labels.add or labels.delete):
        return None
    return {k: True for k, v in (("add", labels.add), ("delete", labels.delete)) if v}


async def update_message(
    ctx: Context,
    principal: Principal,
    account_id: str,
    message_id: str,
    changes: FlagChanges | None,
    labels: LabelChanges | None = None,
) -> FlagsUpdated:
    """Change flags (and Gmail labels) of a message the server still has; 404 if it has not."""
    loc = await store.locate(ctx, principal, account_id, message_id)
    changes, with_flags, with_labels = _wanted(changes, labels)
    async with imap(ctx, loc.account) as conn:
        await store.select_box(conn, loc.box, writable=True)
        if with_labels:
            assert labels is not None
            await store.require(ctx, conn, loc)
            await store.apply_labels(conn, [loc.row.uid], labels.add or [], labels.delete or [])
        current = await store.apply_flags(conn, [loc.row.uid], changes)
    mine = [fm for fm in current if fm.uid == loc.row.uid]
    if not mine:
        await store.drop(ctx, loc.account, loc.box, [loc.row.uid])
        raise MessageNotFound(store.GONE)
    await Index(ctx.db, loc.account.id, ctx.index_changed).update_flags(loc.box, mine)
    flags = _done(changes) if with_flags else {}
    if with_flags:
        flags["result"] = list(mine[0].flags or [])
    return FlagsUpdated(flags=flags, labels=_labels_done(labels))


async def move_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, path: str
) -> Moved:
    loc = await store.locate(ctx, principal, account_id, message_id)
    target = await folders.resolve(ctx, loc.account, path)
    if target.id == loc.box.id:
        async with imap(ctx, loc.account) as conn:
            await store.select_box(conn, loc.box)
            await store.require(ctx, conn, loc)
        return Moved(path=target.path, id=message_id, uid=loc.row.uid)
    new_id, new_uid, _ = await store.move(ctx, loc.account, loc.box, [loc.row.uid], target, strict=True)
    return Moved(path=target.path, id=new_id.get(loc.row.uid), uid=new_uid.get(loc.row.uid))


async def delete_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, force: bool
) -> Deleted:
    loc = await store.locate(ctx, principal, account_id, message_id)
    trash = await store.trash(ctx, account_id)
    if not force and trash is not None and trash.id != loc.box.id:
        new_ids, _, _ = await store.move(ctx, loc.account, loc.box, [loc.row.uid], trash, strict=True)
        return Deleted(deleted=False, moved={"destination": trash.path, "message": new_ids.get(loc.row.uid)})
    await store.expunge(ctx, loc.account, loc.box, [loc.row.uid], strict=True)
    return Deleted(deleted=True)


def _id_map(box: Mailbox, new_ids: dict[int, str], moved: list[int]) -> list[list[str]]:
    assert box.id is not None and box.uid_validity is not None
    return [[ids.message_id(box.id, box.uid_validity, uid), new_ids[uid]] for uid in moved if uid in new_ids]


async def bulk_update(
    ctx: Context,
    principal: Principal,
    account_id: str,
    path: str,
    criteria: SearchCriteria,
    changes: FlagChanges | None,
    labels: LabelChanges | None = None,
) -> BulkUpdated:
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, path, indexed=True)
    uids = await store.resolve_uids(ctx, account, box, criteria)
    changes, with_flags, with_labels = _wanted(changes, labels)
    if uids and (with_flags or with_labels):
        async with imap(ctx, account) as conn:
            await store.select_box(conn, box, writable=True)
            uids = await store.present(ctx, conn, account, box, uids)
            if uids:
                if with_labels:
                    assert labels is not None
                    await store.apply_labels(conn, uids, labels.add or [], labels.delete or [])
                current = await store.apply_flags(conn, uids, changes)
        if uids:
            await Index(ctx.db, account_id, ctx.index_changed).update_flags(box, current)
    return BulkUpdated(
        path=box.path,
        matched=len(uids),
        updated=len(uids) if with_flags or with_labels else 0,
        flags=_done(changes) if with_flags else None,
        labels=_labels_done(labels),
        emailIds=await store.email_ids(ctx, box, uids) or None,
    )


async def bulk_move(
    ctx: Context, principal: Principal, account_id: str, path: str, criteria: SearchCriteria, destination: str
) -> BulkMoved:
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, path, indexed=True)
    target = await folders.resolve(ctx, account, destination)
    uids = await store.resolve_uids(ctx, account, box, criteria)
    emails = await store.email_ids(ctx, box, uids)
    new_ids: dict[int, str] = {}
    moved: list[int] = []
    if uids and target.id != box.id:
        new_ids, _, moved = await store.move(ctx, account, box, uids, target)
    return BulkMoved(
        path=target.path,
        source=box.path,
        matched=len(uids),
        moved=len(moved),
        idMap=_id_map(box, new_ids, moved),
        emailIds=emails if moved and emails else None,
    )


async def bulk_delete(
    ctx: Context, principal: Principal, account_id: str, path: str, criteria: SearchCriteria, force: bool
) -> BulkDeleted:
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, path, indexed=True)
    uids = await store.resolve_uids(ctx, account, box, criteria)
    emails = await store.email_ids(ctx, box, uids)
    trash = await store.trash(ctx, account_id)
    if not force and trash is not None and trash.id != box.id:
        new_ids: dict[int, str] = {}
        moved: list[int] = []
        if uids:
            new_ids, _, moved = await store.move(ctx, account, box, uids, trash)
        away = MovedAway(destination=trash.path, idMap=_id_map(box, new_ids, moved), emailIds=emails or None)
        return BulkDeleted(path=box.path, matched=len(moved), deleted=False, moved=away)
    removed = await store.expunge(ctx, account, box, uids) if uids else []
    return BulkDeleted(
        path=box.path,
        matched=len(removed),
        deleted=bool(removed),
        deletedMessages=DeletedMessages(emailIds=emails or None) if removed else None,
    )


async def append(
    ctx: Context,
    account: Account,
    box: Mailbox,
    raw: bytes,
    flags: list[str],
    internal_date: datetime | None = None,
) -> Uploaded:
    """APPEND and index at once, so the new message's id works before the next sync pass."""
    message_id = mime.parse(raw).message_id
    async with imap(ctx, account) as conn:
        appended = await conn.append(box.path, raw, flags, internal_date)
        if appended is not None and box.uid_validity == appended[0]:
            await store.index_new(ctx, account, box, [appended[1]], conn)
    if appended is None or box.id is None:
        return Uploaded(id=None, path=box.path, uid=None, messageId=message_id)
    validity, uid = appended
    return Uploaded(
        id=ids.message_id(box.id, validity, uid),
        path=box.path,
        uid=uid,
        uidValidity=str(validity),
        messageId=message_id,
    )
