"""/v1/account/{account}/message… routes."""

from __future__ import annotations

from urllib.parse import quote

from pydantic_core import to_json
from starlette.responses import Response

from app.api.routing import Call, Router
from app.schemas.common import QueryInput
from app.schemas.messages import (
    BulkDelete,
    BulkDeleted,
    BulkMove,
    BulkMoved,
    BulkUpdate,
    BulkUpdated,
    Deleted,
    DeleteQuery,
    FlagsUpdated,
    MessageDetails,
    MessageGetQuery,
    MessageList,
    MessageListQuery,
    MessageUpdate,
    Moved,
    MoveInput,
    SearchInput,
    SearchQuery,
    TextContent,
    TextQuery,
    Uploaded,
    UploadInput,
)
from app.services import messages

router = Router()
TAG = "Messages"
ERRORS = (400, 403, 404, 503)


class PathQuery(QueryInput):
    path: str = "INBOX"


@router.get(
    "/v1/account/{account}/messages", query=MessageListQuery, response=MessageList, tag=TAG, errors=ERRORS
)
async def list_messages(call: Call) -> Response:
    """List a folder newest first, from the index (page or cursor)."""
    q: MessageListQuery = call.query
    body = await messages.list_messages_json(
        call.ctx, call.principal, call.path("account"), q.path, q.page, q.pageSize, q.cursor
    )
    return Response(body, media_type="application/json")


@router.get(
    "/v1/account/{account}/message/{message}",
    query=MessageGetQuery,
    response=MessageDetails,
    tag=TAG,
    errors=ERRORS,
)
async def get_message(call: Call) -> MessageDetails:
    """One message with headers; text content when ``textType`` is given."""
    return await messages.get_message(
        call.ctx, call.principal, call.path("account"), call.path("message"), call.query
    )


@router.get(
    "/v1/account/{account}/text/{text}", query=TextQuery, response=TextContent, tag=TAG, errors=ERRORS
)
async def get_text(call: Call) -> TextContent:
    """The text of a message by its text id."""
    q: TextQuery = call.query
    return await messages.get_text(
        call.ctx,
        call.principal,
        call.path("account"),
        call.path("text"),
        q.textType,
        q.maxBytes,
        q.webSafeHtml,
    )


@router.get(
    "/v1/account/{account}/message/{message}/source", tag=TAG, media_type="message/rfc822", errors=ERRORS
)
async def get_source(call: Call) -> Response:
    """The raw RFC 822 source."""
    raw = await messages.get_source(call.ctx, call.principal, call.path("account"), call.path("message"))
    return Response(raw, media_type="message/rfc822")


@router.get(
    "/v1/account/{account}/attachment/{attachment}",
    tag=TAG,
    media_type="application/octet-stream",
    errors=ERRORS,
)
async def get_attachment(call: Call) -> Response:
    """An attachment's decoded content, with its content type and filename."""
    content, content_type, filename = await messages.get_attachment(
        call.ctx, call.principal, call.path("account"), call.path("attachment")
    )
    headers = {}
    if filename:
        headers["Content-Disposition"] = f"attachment; filename*=utf-8''{quote(filename, safe='')}"
    return Response(content, media_type=content_type, headers=headers)


@router.put(
    "/v1/account/{account}/message/{message}",
    body=MessageUpdate,
    response=FlagsUpdated,
    tag=TAG,
    errors=ERRORS,
)
async def update_message(call: Call) -> FlagsUpdated:
    """Add, remove or set flags (and Gmail labels); 404 when the server no longer has the message."""
    body: MessageUpdate = call.body
    return await messages.update_message(
        call.ctx, call.principal, call.path("account"), call.path("message"), body.flags, body.labels
    )


@router.put(
    "/v1/account/{account}/message/{message}/move", body=MoveInput, response=Moved, tag=TAG, errors=ERRORS
)
async def move_message(call: Call) -> Moved:
    """Move to another folder; answers the message's new id there."""
    return await messages.move_message(
        call.ctx, call.principal, call.path("account"), call.path("message"), call.body.path
    )


@router.delete(
    "/v1/account/{account}/message/{message}", query=DeleteQuery, response=Deleted, tag=TAG, errors=ERRORS
)
async def delete_message(call: Call) -> Deleted:
    """Move to Trash, or delete for good with ``force=true`` (or when already in Trash)."""
    return await messages.delete_message(
        call.ctx, call.principal, call.path("account"), call.path("message"), call.query.force
    )


@router.post("/v1/account/{account}/message", body=UploadInput, response=Uploaded, tag=TAG, errors=ERRORS)
async def upload_message(call: Call) -> Uploaded:
    """Store a message in a folder (APPEND), e.g. a draft."""
    return await messages.upload_message(call.ctx, call.principal, call.path("account"), call.body)


@router.post(
    "/v1/account/{account}/search",
    query=SearchQuery,
    body=SearchInput,
    response=MessageList,
    tag=TAG,
    errors=ERRORS,
)
async def search_messages(call: Call) -> Response:
    """Search a folder; index-backed where possible, IMAP SEARCH for body and header criteria."""
    q: SearchQuery = call.query
    page = await messages.search_messages(
        call.ctx, call.principal, call.path("account"), q.path, call.body.search, q.page, q.pageSize, q.cursor
    )
    return Response(to_json(page.as_dict()), media_type="application/json")


@router.put(
    "/v1/account/{account}/messages",
    query=PathQuery,
    body=BulkUpdate,
    response=BulkUpdated,
    tag=TAG,
    errors=ERRORS,
)
async def bulk_update(call: Call) -> BulkUpdated:
    """Change flags (and Gmail labels) of every message matching a search."""
    body: BulkUpdate = call.body
    return await messages.bulk_update(
        call.ctx,
        call.principal,
        call.path("account"),
        call.query.path,
        body.search,
        body.update.flags,
        body.update.labels,
    )


@router.put(
    "/v1/account/{account}/messages/move",
    query=PathQuery,
    body=BulkMove,
    response=BulkMoved,
    tag=TAG,
    errors=ERRORS,
)
async def bulk_move(call: Call) -> BulkMoved:
    """Move every message matching a search."""
    body: BulkMove = call.body
    return await messages.bulk_move(
        call.ctx, call.principal, call.path("account"), call.query.path, body.search, body.path
    )


class BulkDeleteQuery(PathQuery):
    force: bool = False


@router.put(
    "/v1/account/{account}/messages/delete",
    query=BulkDeleteQuery,
    body=BulkDelete,
    response=BulkDeleted,
    tag=TAG,
    errors=ERRORS,
)
async def bulk_delete(call: Call) -> BulkDeleted:
    """Delete (to Trash, or for good with ``force=true``) every message matching a search."""
    q: BulkDeleteQuery = call.query
    return await messages.bulk_delete(
        call.ctx, call.principal, call.path("account"), q.path, call.body.search, q.force
    )
