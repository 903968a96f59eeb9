"""Messages: listed and searched from the index; bodies, sources and changes go to the server."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy import func, select
from sqlmodel import col

from app.mail import compose, ids, imapparse, mime
from app.mail.imap import ImapConnection
from app.mail.types import FetchedMessage
from app.models import Account, Mailbox, Message
from app.schemas.messages import (
    BulkResult,
    Deleted,
    FlagChanges,
    FlagsUpdated,
    MessageDetails,
    MessageGetQuery,
    MessageList,
    MessageText,
    Moved,
    SearchCriteria,
    TextContent,
    Uploaded,
    UploadInput,
)
from app.services import search
from app.services.context import Context
from app.services.errors import InvalidRequest, NotFound
from app.services.mailaccess import MessageNotFound, find_mailbox, imap, usable_account
from app.services.principal import Principal
from app.sync.entries import list_entry
from app.sync.folder import summary_items
from app.sync.index import Index

MAX_SEARCH_RESULTS = 100_000
MESSAGES = Message.__table__  # type: ignore[attr-defined]


class AttachmentNotFound(NotFound):
    code, message = "AttachmentNotFound", "Attachment was not found"


@dataclass
class Located:
    account: Account
    box: Mailbox
    row: Message

    @property
    def uid_validity(self) -> int:
        assert self.box.uid_validity is not None
        return self.box.uid_validity


def _entry(row: Any, box: Mailbox) -> dict[str, Any]:
    assert box.uid_validity is not None
    return list_entry(row, box.path, box.special_use, box.uid_validity)


# -- listing ------------------------------------------------------------------------------------------
@dataclass
class Page:
    """One page of a folder listing, as plain entries (cheap to render, shared by every transport)."""

    total: int
    page: int
    pages: int
    next_cursor: str | None
    prev_cursor: str | None
    entries: list[dict[str, Any]]
    #: What a transport derived from this page, kept (and dropped) with it.
    renderings: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "nextPageCursor": self.next_cursor,
            "prevPageCursor": self.prev_cursor,
            "messages": self.entries,
        }

    def model(self) -> MessageList:
        return MessageList.model_validate(self.as_dict())


async def list_messages(
    ctx: Context,
    principal: Principal,
    account_id: str,
    path: str,
    page: int,
    page_size: int,
    cursor: str | None,
) -> Page:
    """A folder page, shared through the page cache (same consistency as ``list_messages_json``)."""
    box = await _listed_box(ctx, principal, account_id, path)
    return await _cached_page(ctx, box, page, page_size, cursor)


async def list_messages_json(
    ctx: Context,
    principal: Principal,
    account_id: str,
    path: str,
    page: int,
    page_size: int,
    cursor: str | None,
) -> bytes:
    """The rendered listing, from the page cache when the folder has not changed since."""
    box = await _listed_box(ctx, principal, account_id, path)

    async def render() -> bytes:
        return to_json((await _cached_page(ctx, box, page, page_size, cursor)).as_dict())

    assert box.id is not None
    return await ctx.pages.get_or_load(box.id, ("json", page, page_size, cursor), render)


async def _listed_box(ctx: Context, principal: Principal, account_id: str, path: str) -> Mailbox:
    await usable_account(ctx, principal, account_id)
    return await find_mailbox(ctx, account_id, path, cached=True)


async def _cached_page(ctx: Context, box: Mailbox, page: int, page_size: int, cursor: str | None) -> Page:
    """One query per folder page until the folder changes, whichever transport asks."""
    assert box.id is not None

    async def load() -> Page:
        return await _page(ctx, box, [], page, page_size, cursor)

    return await ctx.pages.get_or_load(box.id, ("page", page, page_size, cursor), load)


def _bad_cursor(reason: str) -> InvalidRequest:
    return InvalidRequest("Invalid cursor", code="InvalidCursor", details={"cursor": reason})


async def _page(
    ctx: Context,
    box: Mailbox,
    where: list[Any],
    page: int,
    page_size: int,
    cursor: str | None,
    uids: list[int] | None = None,
) -> Page:
    base = [MESSAGES.c.mailbox_id == box.id, *where]
    if uids is not None:
        base.append(MESSAGES.c.uid.in_(uids) if uids else MESSAGES.c.uid < 0)
    # Core rows: building ORM objects costs more than the query itself here.
    query = select(MESSAGES).where(*base)
    backwards = False
    if cursor:
        try:
            pos = ids.decode_cursor(cursor)
        except ids.BadId:
            raise _bad_cursor("not a cursor") from None
        if pos.mailbox_id != box.id or pos.uid_validity != box.uid_validity:
            raise _bad_cursor("the cursor belongs to another folder or an outdated listing")
        page, backwards = pos.page, pos.direction == "prev"
        if backwards:
            query = query.where(MESSAGES.c.uid > pos.uid).order_by(MESSAGES.c.uid.asc())
        else:
            query = query.where(MESSAGES.c.uid < pos.uid).order_by(MESSAGES.c.uid.desc())
        query = query.limit(page_size + 1)
    else:
        query = query.order_by(MESSAGES.c.uid.desc()).offset(page * page_size).limit(page_size + 1)
    async with ctx.db.engine.connect() as conn:
        if where or uids is not None:
            total = (await conn.execute(select(func.count()).select_from(MESSAGES).where(*base))).scalar_one()
        else:
            total = box.messages  # kept exact by every index write
        rows = list((await conn.execute(query)).all())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
        more = True  # we came back from a later page
    next_cursor = prev_cursor = None
    if rows and box.uid_validity is not None and box.id is not None:
        if more:
            next_cursor = ids.encode_cursor(
                ids.Cursor(box.id, box.uid_validity, "next", rows[-1].uid, page + 1)
            )
        if page > 0:
            prev_cursor = ids.encode_cursor(
                ids.Cursor(box.id, box.uid_validity, "prev", rows[0].uid, page - 1)
            )
    return Page(
        total=total,
        page=page,
        pages=-(-total // page_size),
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        entries=[_entry(r, box) for r in rows],
    )


# -- one message ------------------------------------------------------------------------------------
async def locate(ctx: Context, principal: Principal, account_id: str, message_id: str) -> Located:
    account = await usable_account(ctx, principal, account_id)
    try:
        key = ids.parse_message_id(message_id)
    except ids.BadId:
        raise MessageNotFound() from None
    return await _locate_key(ctx, account, key)


async def _locate_key(ctx: Context, account: Account, key: ids.MessageKey) -> Located:
    async with ctx.db.core() as s:
        box = await s.get(Mailbox, key.mailbox_id)
        if box is None or box.account != account.id or box.uid_validity != key.uid_validity:
            raise MessageNotFound()
        row = (
            await s.execute(
                select(Message).where(col(Message.mailbox_id) == box.id, col(Message.uid) == key.uid)
            )
        ).scalar_one_or_none()
    if row is None:
        raise MessageNotFound()
    return Located(account, box, row)


async def _select(conn: ImapConnection, loc: Located, *, writable: bool = False) -> None:
    info = await conn.ensure_selected(loc.box.path, writable=writable)
    if info.uid_validity != loc.box.uid_validity:
        raise MessageNotFound("The folder was reset on the server; list it again")


async def _source(ctx: Context, loc: Located) -> bytes:
    async with imap(ctx, loc.account) as conn:
        await _select(conn, loc)
        fetched = await conn.fetch(str(loc.row.uid), "UID BODY.PEEK[]")
    for fm in fetched.messages:
        if fm.uid == loc.row.uid and "" in fm.sections:
            return fm.sections[""]
    raise MessageNotFound("The message is no longer on the server")


def _cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None:
        return None, False
    data = text.encode()
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def _text(parsed: mime.ParsedMessage, text_type: str, limit: int) -> tuple[str | None, str | None, bool]:
    plain, html, more = None, None, False
    if text_type in ("plain", "*"):
        plain, cut = _cut(parsed.text, limit)
        more |= cut
    if text_type in ("html", "*"):
        html, cut = _cut(parsed.html, limit)
        more |= cut
    return plain, html, more


async def get_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, q: MessageGetQuery
) -> MessageDetails:
    loc = await locate(ctx, principal, account_id, message_id)
    raw = await _source(ctx, loc)
    parsed = mime.parse(raw)
    if q.markAsSeen and loc.row.seen is False:
        await _store_flags(ctx, loc, FlagChanges(add=["\\Seen"]))
        loc = await _locate_key(ctx, loc.account, ids.parse_message_id(message_id))
    entry = _entry(loc.row, loc.box)
    text = entry.get("text")
    details: dict[str, Any] = {**entry, "headers": parsed.headers, "references": parsed.references}
    if text is not None or q.textType:
        plain, html, more = _text(parsed, q.textType, q.maxBytes) if q.textType else (None, None, False)
        details["text"] = MessageText(
            id=text["id"] if text else None,
            encodedSize=text["encodedSize"] if text else {},
            plain=plain,
            html=html,
            hasMore=more,
        )
    return MessageDetails.model_validate(details)


async def get_text(
    ctx: Context, principal: Principal, account_id: str, text_id: str, text_type: str, limit: int
) -> TextContent:
    account = await usable_account(ctx, principal, account_id)
    try:
        key = ids.parse_text_id(text_id)
    except ids.BadId:
        raise MessageNotFound("Text was not found") from None
    loc = await _locate_key(ctx, account, key)
    plain, html, more = _text(mime.parse(await _source(ctx, loc)), text_type, limit)
    return TextContent(plain=plain, html=html, hasMore=more)


async def get_source(ctx: Context, principal: Principal, account_id: str, message_id: str) -> bytes:
    return await _source(ctx, await locate(ctx, principal, account_id, message_id))


async def get_attachment(
    ctx: Context, principal: Principal, account_id: str, attachment_id: str
) -> tuple[bytes, str, str | None]:
    account = await usable_account(ctx, principal, account_id)
    try:
        key, part = ids.parse_attachment_id(attachment_id)
    except ids.BadId:
        raise AttachmentNotFound() from None
    loc = await _locate_key(ctx, account, key)
    found = mime.part_bytes(await _source(ctx, loc), part)
    if found is None:
        raise AttachmentNotFound()
    return found


# -- changes ------------------------------------------------------------------------------------------
async def _apply_flags(conn: ImapConnection, uid_set: str, changes: FlagChanges) -> list[FetchedMessage]:
    """STORE the changes, then read back what the flags are now (for the index and its events)."""
    if changes.set is not None:
        await conn.store(uid_set, "FLAGS.SILENT", changes.set)
    if changes.add:
        await conn.store(uid_set, "+FLAGS.SILENT", changes.add)
    if changes.delete:
        await conn.store(uid_set, "-FLAGS.SILENT", changes.delete)
    items = "UID FLAGS MODSEQ" if "CONDSTORE" in conn.capabilities else "UID FLAGS"
    return (await conn.fetch(uid_set, items)).messages


async def _store_flags(ctx: Context, loc: Located, changes: FlagChanges) -> dict[str, bool]:
    async with imap(ctx, loc.account) as conn:
        await _select(conn, loc, writable=True)
        current = await _apply_flags(conn, str(loc.row.uid), changes)
    await Index(ctx.db, loc.account.id, ctx.index_changed).update_flags(loc.box, current)
    done = {"set": changes.set is not None, "add": bool(changes.add), "delete": bool(changes.delete)}
    return {k: True for k, v in done.items() if v}


async def update_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, changes: FlagChanges | None
) -> FlagsUpdated:
    loc = await locate(ctx, principal, account_id, message_id)
    if changes is None or (changes.set is None and not changes.add and not changes.delete):
        return FlagsUpdated(flags={})
    return FlagsUpdated(flags=await _store_flags(ctx, loc, changes))


async def _index_new(
    ctx: Context, account: Account, box: Mailbox, uids: list[int], conn: ImapConnection
) -> None:
    """Index messages we just put in ``box`` now, so their ids work before the next sync pass."""
    if box.uid_validity is None or not uids:
        return
    info = await conn.ensure_selected(box.path)
    if info.uid_validity != box.uid_validity:
        return
    fetched = await conn.fetch(imapparse.compact_uid_set(uids), summary_items(conn))
    await Index(ctx.db, account.id, ctx.index_changed).insert(box, fetched.messages, account.notify_from)


async def move_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, path: str
) -> Moved:
    loc = await locate(ctx, principal, account_id, message_id)
    target = await find_mailbox(ctx, account_id, path)
    if target.id == loc.box.id:
        return Moved(path=target.path, id=message_id, uid=loc.row.uid)
    new_id, new_uid = await _move(ctx, loc.account, loc.box, [loc.row.uid], target)
    return Moved(path=target.path, id=new_id.get(loc.row.uid), uid=new_uid.get(loc.row.uid))


async def _move(
    ctx: Context, account: Account, box: Mailbox, uids: list[int], target: Mailbox
) -> tuple[dict[int, str], dict[int, int]]:
    index = Index(ctx.db, account.id, ctx.index_changed)
    async with imap(ctx, account) as conn:
        info = await conn.ensure_selected(box.path, writable=True)
        if info.uid_validity != box.uid_validity:
            raise MessageNotFound("The folder was reset on the server; list it again")
        copied = await conn.move(imapparse.compact_uid_set(uids), target.path)
        await index.remove(box, uids)
        mapping: dict[int, int] = {}
        if copied is not None:
            mapping = dict(zip(copied.source, copied.destination, strict=False))
            if target.uid_validity is None:
                target.uid_validity = copied.uid_validity
            await _index_new(ctx, account, target, list(mapping.values()), conn)
    assert target.id is not None
    validity = copied.uid_validity if copied is not None else target.uid_validity
    new_ids = (
        {src: ids.message_id(target.id, validity, dst) for src, dst in mapping.items()} if validity else {}
    )
    return new_ids, mapping


async def _trash(ctx: Context, account_id: str) -> Mailbox | None:
    try:
        return await find_mailbox(ctx, account_id, "\\Trash")
    except NotFound:
        return None


async def delete_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, force: bool
) -> Deleted:
    loc = await locate(ctx, principal, account_id, message_id)
    trash = await _trash(ctx, account_id)
    if not force and trash is not None and trash.id != loc.box.id:
        new_ids, _ = await _move(ctx, loc.account, loc.box, [loc.row.uid], trash)
        return Deleted(deleted=False, moved={"destination": trash.path, "message": new_ids.get(loc.row.uid)})
    await _expunge(ctx, loc.account, loc.box, [loc.row.uid])
    return Deleted(deleted=True)


async def _expunge(ctx: Context, account: Account, box: Mailbox, uids: list[int]) -> None:
    async with imap(ctx, account) as conn:
        info = await conn.ensure_selected(box.path, writable=True)
        if info.uid_validity != box.uid_validity:
            raise MessageNotFound("The folder was reset on the server; list it again")
        uid_set = imapparse.compact_uid_set(uids)
        await conn.store(uid_set, "+FLAGS.SILENT", ["\\Deleted"])
        await conn.expunge(uid_set)
    await Index(ctx.db, account.id, ctx.index_changed).remove(box, uids)


async def upload_message(ctx: Context, principal: Principal, account_id: str, data: UploadInput) -> Uploaded:
    account = await usable_account(ctx, principal, account_id)
    box = await find_mailbox(ctx, account_id, data.path)
    if data.raw is not None:
        raw = base64.b64decode(data.raw)
    else:
        raw = compose.build(
            from_=data.from_.model_dump()
            if data.from_
            else {"name": account.name, "address": account.email or ""},
            to=[a.model_dump() for a in data.to or []],
            cc=[a.model_dump() for a in data.cc or []],
            subject=data.subject,
            text=data.text,
            html=data.html,
            message_id=data.messageId,
            headers=data.headers,
            domain=(account.email or "mailgate.local").rpartition("@")[2],
        )
    return await append(ctx, account, box, raw, data.flags, data.internalDate)


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
            await _index_new(ctx, account, box, [appended[1]], conn)
    if appended is None or box.id is None:
        return Uploaded(id=None, path=box.path, uid=None, messageId=message_id)
    validity, uid = appended
    return Uploaded(id=ids.message_id(box.id, validity, uid), path=box.path, uid=uid, messageId=message_id)


# -- search -------------------------------------------------------------------------------------------
async def _matching_uids(
    ctx: Context, account: Account, box: Mailbox, criteria: SearchCriteria
) -> list[int] | None:
    """UIDs from IMAP SEARCH when the index cannot answer; None when it can."""
    if not search.needs_server(criteria):
        return None
    async with imap(ctx, account) as conn:
        info = await conn.ensure_selected(box.path)
        if info.uid_validity != box.uid_validity:
            return []
        return (await conn.search(*search.imap_criteria(criteria)))[:MAX_SEARCH_RESULTS]


async def search_messages(
    ctx: Context,
    principal: Principal,
    account_id: str,
    path: str,
    criteria: SearchCriteria,
    page: int,
    page_size: int,
    cursor: str | None = None,
) -> Page:
    account = await usable_account(ctx, principal, account_id)
    box = await find_mailbox(ctx, account_id, path)
    uids = await _matching_uids(ctx, account, box, criteria)
    where = search.index_conditions(criteria) if uids is None else []
    return await _page(ctx, box, where, page, page_size, cursor, uids)


async def _resolve(ctx: Context, account: Account, box: Mailbox, criteria: SearchCriteria) -> list[int]:
    uids = await _matching_uids(ctx, account, box, criteria)
    if uids is not None:
        return uids
    async with ctx.db.core() as s:
        result = await s.execute(
            select(col(Message.uid)).where(
                col(Message.mailbox_id) == box.id, *search.index_conditions(criteria)
            )
        )
        return [int(u) for u in result.scalars()]


async def bulk_update(
    ctx: Context,
    principal: Principal,
    account_id: str,
    path: str,
    criteria: SearchCriteria,
    changes: FlagChanges | None,
) -> BulkResult:
    account = await usable_account(ctx, principal, account_id)
    box = await find_mailbox(ctx, account_id, path)
    uids = await _resolve(ctx, account, box, criteria)
    changes = changes or FlagChanges()
    if uids and (changes.set is not None or changes.add or changes.delete):
        async with imap(ctx, account) as conn:
            info = await conn.ensure_selected(box.path, writable=True)
            if info.uid_validity != box.uid_validity:
                raise MessageNotFound("The folder was reset on the server; list it again")
            current = await _apply_flags(conn, imapparse.compact_uid_set(uids), changes)
        await Index(ctx.db, account_id, ctx.index_changed).update_flags(box, current)
    return BulkResult(path=box.path, matched=len(uids), updated=len(uids))


async def bulk_move(
    ctx: Context, principal: Principal, account_id: str, path: str, criteria: SearchCriteria, destination: str
) -> BulkResult:
    account = await usable_account(ctx, principal, account_id)
    box = await find_mailbox(ctx, account_id, path)
    target = await find_mailbox(ctx, account_id, destination)
    uids = await _resolve(ctx, account, box, criteria)
    if uids and target.id != box.id:
        await _move(ctx, account, box, uids, target)
    return BulkResult(path=box.path, matched=len(uids), moved=len(uids), destination=target.path)


async def bulk_delete(
    ctx: Context, principal: Principal, account_id: str, path: str, criteria: SearchCriteria, force: bool
) -> BulkResult:
    account = await usable_account(ctx, principal, account_id)
    box = await find_mailbox(ctx, account_id, path)
    uids = await _resolve(ctx, account, box, criteria)
    trash = await _trash(ctx, account_id)
    if uids and not force and trash is not None and trash.id != box.id:
        await _move(ctx, account, box, uids, trash)
        return BulkResult(path=box.path, matched=len(uids), moved=len(uids), destination=trash.path)
    if uids:
        await _expunge(ctx, account, box, uids)
    return BulkResult(path=box.path, matched=len(uids), deleted=len(uids))
