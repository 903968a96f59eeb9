"""Messages on the server: finding one, reading its source and changing it, with the IMAP server
as the authority. The index says where a message should be; a change first makes sure the server
still has it, and a message the server no longer has is dropped from the index (with its
messageDeleted event) and answered with 404."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from app.index.store import Index
from app.mail import ids, mime
from app.mail.session import MailSession
from app.mail.types import FetchedMessage
from app.models import Account, Mailbox, Message
from app.schemas.messages import FlagChanges, SearchCriteria
from app.services import search
from app.services.context import Context
from app.services.errors import InvalidRequest, NotFound
from app.services.folder_sync import generation_changed
from app.services.mailaccess import MessageNotFound, find_mailbox, imap, usable_account
from app.services.principal import Principal

MAX_SEARCH_RESULTS = 100_000
RESET = "The folder was reset on the server; list it again"
GONE = "The message is no longer on the server"


class AttachmentNotFound(NotFound):
    code, message = "AttachmentNotFound", "Attachment was not found"


@dataclass
class Located:
    account: Account
    box: Mailbox
    row: Message


async def locate(ctx: Context, principal: Principal, account_id: str, message_id: str) -> Located:
    account = await usable_account(ctx, principal, account_id)
    try:
        key = ids.parse_message_id(message_id)
    except ids.BadId:
        raise MessageNotFound() from None
    return await locate_key(ctx, account, key)


async def locate_key(ctx: Context, account: Account, key: ids.MessageKey) -> Located:
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


async def attachment_part(
    ctx: Context, account: Account, attachment_id: str
) -> tuple[bytes, str, str | None]:
    """An attachment's decoded bytes, content type and file name, read from the message source."""
    try:
        key, part = ids.parse_attachment_id(attachment_id)
    except ids.BadId:
        raise AttachmentNotFound() from None
    found = mime.part_bytes(await source(ctx, await locate_key(ctx, account, key)), part)
    if found is None:
        raise AttachmentNotFound()
    return found


async def select_box(conn: MailSession, box: Mailbox, *, writable: bool = False) -> None:
    if generation_changed(box, await conn.ensure_selected(box.path, writable=writable)):
        raise MessageNotFound(RESET)


async def drop(ctx: Context, account: Account, box: Mailbox, uids: list[int]) -> None:
    """The server no longer has these: the index forgets them and says so (messageDeleted)."""
    if uids:
        await Index(ctx.db, account.id, ctx.index_changed).remove(box, uids)


async def present(
    ctx: Context, conn: MailSession, account: Account, box: Mailbox, uids: list[int]
) -> list[int]:
    """Those of ``uids`` the selected folder still has; the rest are dropped from the index."""
    if not uids:
        return []
    found = set(await conn.existing(uids))
    await drop(ctx, account, box, [u for u in uids if u not in found])
    return [u for u in uids if u in found]


async def require(ctx: Context, conn: MailSession, loc: Located) -> None:
    if not await present(ctx, conn, loc.account, loc.box, [loc.row.uid]):
        raise MessageNotFound(GONE)


def source_key(loc: Located) -> tuple[object, ...]:
    """What a message's content is cached under: it never changes for one UID of one UIDVALIDITY
    of one folder of one account (a re-created account starts afresh)."""
    return (loc.account.id, loc.account.created, loc.box.path, loc.box.uid_validity, loc.row.uid)


def parsed(ctx: Context, loc: Located, raw: bytes) -> mime.ParsedMessage:
    """``raw`` parsed, once per message while it stays in the cache."""
    key = source_key(loc)
    found = ctx.parsed.get(key)
    if found is None:
        found = mime.parse(raw)
        ctx.parsed.put(key, found, len(raw))
    return found


async def source(ctx: Context, loc: Located) -> bytes:
    return (await source_and_labels(ctx, loc, labels=False))[0]


async def source_and_labels(
    ctx: Context, loc: Located, *, labels: bool = True
) -> tuple[bytes, list[str] | None]:
    """The raw source and, on servers that have them, the Gmail labels (None elsewhere)."""
    key = source_key(loc)
    cached = ctx.sources.get(key)
    if cached is not None and not (labels and ctx.sources.labels.get(loc.account.id, True)):
        return cached, None
    found: list[str] | None = None
    async with imap(ctx, loc.account) as conn:
        await select_box(conn, loc.box)
        fetched = await conn.fetch_source(loc.row.uid) if cached is None else None
        has_labels = "X-GM-EXT-1" in conn.capabilities
        ctx.sources.labels[loc.account.id] = has_labels
        if labels and has_labels:
            found = (await conn.labels([loc.row.uid])).get(loc.row.uid, [])
    if cached is not None:
        return cached, found
    if fetched is not None:
        ctx.sources.put(key, fetched)
        return fetched, found
    await drop(ctx, loc.account, loc.box, [loc.row.uid])
    raise MessageNotFound(GONE)


async def apply_flags(conn: MailSession, uids: list[int], changes: FlagChanges) -> list[FetchedMessage]:
    """Change the flags, then read back what they are now (for the index and its events)."""
    if changes.set is not None:
        await conn.store_flags(uids, "set", changes.set)
    if changes.add:
        await conn.store_flags(uids, "add", changes.add)
    if changes.delete:
        await conn.store_flags(uids, "remove", changes.delete)
    return (await conn.fetch_flags(uids)).messages


def gmail_labels(conn: MailSession) -> None:
    if "X-GM-EXT-1" not in conn.capabilities:
        raise InvalidRequest(
            "This server has no labels (Gmail's X-GM-EXT-1)", details={"labels": "not supported here"}
        )


async def apply_labels(conn: MailSession, uids: list[int], add: list[str], delete: list[str]) -> None:
    gmail_labels(conn)
    if add:
        await conn.store_labels(uids, "add", add)
    if delete:
        await conn.store_labels(uids, "remove", delete)


async def index_new(ctx: Context, account: Account, box: Mailbox, uids: list[int], conn: MailSession) -> None:
    """Index messages we just put in ``box`` now, so their ids work before the next sync pass."""
    if box.uid_validity is None or not uids:
        return
    if generation_changed(box, await conn.ensure_selected(box.path)):
        return
    fetched = await conn.fetch_summaries(uids)
    await Index(ctx.db, account.id, ctx.index_changed).insert(box, fetched.messages, account.notify_from)


async def move(
    ctx: Context, account: Account, box: Mailbox, uids: list[int], target: Mailbox, *, strict: bool = False
) -> tuple[dict[int, str], dict[int, int], list[int]]:
    """Move what the server still has; answers (new ids, new UIDs, the UIDs really moved).

    ``strict``: a single message the server no longer has is a 404, not an empty result."""
    index = Index(ctx.db, account.id, ctx.index_changed)
    async with imap(ctx, account) as conn:
        await select_box(conn, box, writable=True)
        uids = await present(ctx, conn, account, box, uids)
        if strict and not uids:
            raise MessageNotFound(GONE)
        copied = None
        if uids:
            copied = await conn.move(uids, target.path)
            await index.remove(box, uids)
        mapping: dict[int, int] = {}
        if copied is not None:
            mapping = dict(zip(copied.source, copied.destination, strict=False))
            if target.uid_validity is None:
                target.uid_validity = copied.uid_validity
            await index_new(ctx, account, target, list(mapping.values()), conn)
    assert target.id is not None
    validity = copied.uid_validity if copied is not None else target.uid_validity
    new_ids = (
        {src: ids.message_id(target.id, validity, dst) for src, dst in mapping.items()} if validity else {}
    )
    return new_ids, mapping, uids


async def expunge(
    ctx: Context, account: Account, box: Mailbox, uids: list[int], *, strict: bool = False
) -> list[int]:
    """Delete for good what the server still has; answers the UIDs really deleted."""
    async with imap(ctx, account) as conn:
        await select_box(conn, box, writable=True)
        uids = await present(ctx, conn, account, box, uids)
        if strict and not uids:
            raise MessageNotFound(GONE)
        if uids:
            await conn.store_flags(uids, "add", ["\\Deleted"])
            await conn.expunge(uids)
    await Index(ctx.db, account.id, ctx.index_changed).remove(box, uids)
    return uids


async def trash(ctx: Context, account_id: str) -> Mailbox | None:
    try:
        return await find_mailbox(ctx, account_id, "\\Trash")
    except NotFound:
        return None


async def matching_uids(
    ctx: Context, account: Account, box: Mailbox, criteria: SearchCriteria
) -> list[int] | None:
    """UIDs from IMAP SEARCH when the index cannot answer; None when it can."""
    if not search.needs_server(criteria):
        return None
    async with imap(ctx, account) as conn:
        if search.gmail_only(criteria) and "X-GM-EXT-1" not in conn.capabilities:
            raise InvalidRequest(
                "Gmail search criteria need a Gmail server",
                details={name: "needs a Gmail server (X-GM-EXT-1)" for name in search.gmail_only(criteria)},
            )
        if generation_changed(box, await conn.ensure_selected(box.path)):
            return []
        return (await conn.search(*search.imap_criteria(criteria)))[:MAX_SEARCH_RESULTS]


async def resolve_uids(ctx: Context, account: Account, box: Mailbox, criteria: SearchCriteria) -> list[int]:
    uids = await matching_uids(ctx, account, box, criteria)
    if uids is not None:
        return uids
    async with ctx.db.core() as s:
        result = await s.execute(
            select(col(Message.uid)).where(
                col(Message.mailbox_id) == box.id, *search.index_conditions(criteria)
            )
        )
        return [int(u) for u in result.scalars()]


async def email_ids(ctx: Context, box: Mailbox, uids: list[int]) -> list[str]:
    """emailIds of indexed messages (for bulk answers), read before they move or go."""
    if not uids:
        return []
    async with ctx.db.core() as s:
        result = await s.execute(
            select(col(Message.email_id)).where(
                col(Message.mailbox_id) == box.id,
                col(Message.uid).in_(uids),
                col(Message.email_id).is_not(None),
            )
        )
        return [str(e) for e in result.scalars()]
