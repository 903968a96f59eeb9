"""Messages: listed and searched from the index; bodies and sources come from the server.

Changes live in message_writes and message_upload (re-exported here, so every transport finds
the whole message service in one place)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_json

from app.index import pages
from app.mail import content, ids
from app.models import Mailbox, Message
from app.schemas.common import page_count
from app.schemas.message_entries import EntryData, message_entries, message_entry
from app.schemas.messages import (
    AddressOut,
    FlagChanges,
    MessageDetails,
    MessageGetQuery,
    MessageList,
    MessageText,
    SearchCriteria,
    TextContent,
)
from app.services import first_pass, folders, search
from app.services import message_parts as parts
from app.services import message_store as store
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.mailaccess import MessageNotFound, usable_account
from app.services.message_store import AttachmentNotFound
from app.services.message_upload import upload_message
from app.services.message_writes import (
    append,
    bulk_delete,
    bulk_move,
    bulk_update,
    delete_message,
    move_message,
    update_message,
)
from app.services.principal import Principal

__all__ = [
    "AttachmentNotFound", "Page", "append", "bulk_delete", "bulk_move", "bulk_update", "delete_message",
    "get_attachment", "get_message", "get_source", "get_text", "list_messages", "list_messages_json",
    "move_message", "search_messages", "update_message", "upload_message",
]  # fmt: skip


def _entry(row: Message, box: Mailbox) -> EntryData:
    assert box.uid_validity is not None
    return message_entry(row.model_dump(), box.path, box.special_use, box.uid_validity)


def _entries(rows: Sequence[Mapping[str, Any]], box: Mailbox) -> list[EntryData]:
    if not rows:  # a folder not indexed yet has no UIDVALIDITY, nor rows
        return []
    assert box.uid_validity is not None
    return message_entries(rows, box.path, box.special_use, box.uid_validity)


# -- listing ------------------------------------------------------------------------------------------
@dataclass
class Page:
    """One page of a folder listing, as plain entries (cheap to render, shared by every transport)."""

    total: int
    page: int
    pages: int
    next_cursor: str | None
    prev_cursor: str | None
    entries: list[EntryData]
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
        return to_json((await _page(ctx, box, [], page, page_size, cursor)).as_dict())

    assert box.id is not None
    return await ctx.pages.get_or_load(box.id, box.version, ("json", page, page_size, cursor), render)


async def _listed_box(ctx: Context, principal: Principal, account_id: str, path: str) -> Mailbox:
    """From the folder cache; a folder another client made moments ago is asked of the server."""
    account = await usable_account(ctx, principal, account_id)
    return await folders.resolve(ctx, account, path, cached=True, indexed=True)


async def _cached_page(ctx: Context, box: Mailbox, page: int, page_size: int, cursor: str | None) -> Page:
    """One query per folder page until the folder changes, whichever transport asks."""
    assert box.id is not None

    async def load() -> Page:
        return await _page(ctx, box, [], page, page_size, cursor)

    return await ctx.pages.get_or_load(box.id, box.version, ("page", page, page_size, cursor), load)


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
    assert box.id is not None
    part = pages.Slice(box.id, page_size + 1, offset=page * page_size)
    if cursor:
        try:
            pos = ids.decode_cursor(cursor)
        except ids.BadId:
            raise _bad_cursor("not a cursor") from None
        if pos.mailbox_id != box.id or pos.uid_validity != box.uid_validity:
            raise _bad_cursor("the cursor belongs to another folder or an outdated listing")
        page = pos.page
        if pos.direction == "prev":
            part = pages.Slice(box.id, page_size + 1, above=pos.uid)
        else:
            part = pages.Slice(box.id, page_size + 1, below=pos.uid)
    backwards = part.above is not None
    if where or uids is not None:
        if uids is not None:
            uid = pages.MESSAGES.c.uid
            where = [*where, uid.in_(uids) if uids else uid < 0]
        total, rows = await pages.matching(ctx.db.engine, part, *where)
    else:
        if not box.initialized:
            box = await first_pass.caught_up(ctx, box, page * page_size + page_size + 1)
        total = first_pass.total(box)  # kept exact by every index write
        rows = await pages.read(ctx.db.engine, part)
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
        more = True  # we came back from a later page
    next_cursor = prev_cursor = None
    if rows and box.uid_validity is not None and box.id is not None:
        if more:
            next_cursor = ids.encode_cursor(
                ids.Cursor(box.id, box.uid_validity, "next", rows[-1]["uid"], page + 1)
            )
        if page > 0:
            prev_cursor = ids.encode_cursor(
                ids.Cursor(box.id, box.uid_validity, "prev", rows[0]["uid"], page - 1)
            )
    return Page(
        total=total,
        page=page,
        pages=page_count(total, page_size),
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        entries=_entries(rows, box),
    )


# -- one message ------------------------------------------------------------------------------------
def _cut(text: str | None, limit: int) -> tuple[str | None, bool]:
    if text is None:
        return None, False
    data = text.encode()
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def _html(view: parts.View, web_safe: bool, embed: bool) -> str | None:
    """Images inlined first, so the sanitiser sees (and vets) the data: URLs it would serve."""
    html = view.html
    if html is None:
        return None
    if embed:
        html = content.embed_images(html, view.images)
    return content.web_safe_html(html) if web_safe else html


def _kinds(text_type: str | None) -> tuple[str, ...]:
    return {"plain": ("plain",), "html": ("html",), "*": parts.KINDS}.get(text_type or "", ())


def _text(
    view: parts.View,
    text_type: str,
    limit: int,
    web_safe: bool = False,
    embed: bool = False,
) -> tuple[str | None, str | None, bool]:
    plain, html, more = None, None, False
    if text_type in ("plain", "*"):
        plain, cut = _cut(view.text, limit)
        more |= cut
    if text_type in ("html", "*"):
        html, cut = _cut(_html(view, web_safe, embed), limit)
        more |= cut
    return plain, html, more


def _address(view: parts.View) -> AddressOut | None:
    for a in view.sender:
        if a.address:
            return AddressOut(name=a.name or None, address=a.address)
    return None


async def get_message(
    ctx: Context, principal: Principal, account_id: str, message_id: str, q: MessageGetQuery
) -> MessageDetails:
    loc = await store.locate(ctx, principal, account_id, message_id)
    embed = bool(q.embedAttachedImages)
    view, labels = await parts.read(ctx, loc, _kinds(q.textType), embed=embed)
    if q.markAsSeen and loc.row.seen is False:
        await update_message(ctx, principal, account_id, message_id, FlagChanges(add=["\\Seen"]))
        loc = await store.locate_key(ctx, loc.account, ids.parse_message_id(message_id))
    entry = _entry(loc.row, loc.box)
    text = entry.get("text")
    details: dict[str, Any] = {
        **entry,
        "sender": _address(view),
        "headers": view.headers,
        "references": view.references,
        "isAutoReply": content.is_auto_reply(view.headers),
    }
    if labels is not None:
        details["labels"] = labels
        details["messageSpecialUse"] = content.message_special_use(loc.box.path, loc.box.special_use, labels)
    if text is not None or q.textType:
        plain, html, more = (None, None, False)
        if q.textType:
            plain, html, more = _text(view, q.textType, q.maxBytes, q.webSafeHtml, embed)
        details["text"] = MessageText(
            id=text["id"] if text else None,
            encodedSize=text["encodedSize"] if text else {},
            plain=plain,
            html=html,
            hasMore=more,
            webSafe=True if q.webSafeHtml and html is not None else None,
        )
    return MessageDetails.model_validate(details)


async def get_text(
    ctx: Context,
    principal: Principal,
    account_id: str,
    text_id: str,
    text_type: str,
    limit: int,
    web_safe: bool = False,
) -> TextContent:
    account = await usable_account(ctx, principal, account_id)
    try:
        key = ids.parse_text_id(text_id)
    except ids.BadId:
        raise MessageNotFound("Text was not found") from None
    loc = await store.locate_key(ctx, account, key)
    view, _ = await parts.read(ctx, loc, _kinds(text_type), labels=False)
    plain, html, more = _text(view, text_type, limit, web_safe)
    return TextContent(
        plain=plain, html=html, hasMore=more, webSafe=True if web_safe and html is not None else None
    )


async def get_source(ctx: Context, principal: Principal, account_id: str, message_id: str) -> bytes:
    return await store.source(ctx, await store.locate(ctx, principal, account_id, message_id))


async def get_attachment(
    ctx: Context, principal: Principal, account_id: str, attachment_id: str
) -> tuple[bytes, str, str | None]:
    account = await usable_account(ctx, principal, account_id)
    return await parts.attachment(ctx, account, attachment_id)


# -- search -------------------------------------------------------------------------------------------
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
    """Pages like the listing, cursors included (a cursor stays within its folder)."""
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, path, indexed=True)
    uids = await store.matching_uids(ctx, account, box, criteria)
    where = search.index_conditions(criteria) if uids is None else []
    return await _page(ctx, box, where, page, page_size, cursor, uids)
