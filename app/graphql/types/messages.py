"""Message shapes: entries and details generated from the REST schemas, plus the Relay-style
connection over a folder page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import strawberry

from app.graphql.types.generate import input_type, output_type, register
from app.mail import ids
from app.schemas import messages as s
from app.services.messages import Page

if TYPE_CHECKING:
    Message = s.MessageEntry
    MessageDetails = s.MessageDetails
    TextContent = s.TextContent
    FlagsUpdated = s.FlagsUpdated
    Moved = s.Moved
    Deleted = s.Deleted
    Uploaded = s.Uploaded
    SearchInput = Any
    FlagsInput = Any
    UploadInput = Any
else:
    register(s.AddressOut, "Address")
    register(s.AttachmentOut, "Attachment")
    register(s.MessageEntry, "Message")
    Message = output_type(s.MessageEntry)
    MessageDetails = output_type(s.MessageDetails)
    TextContent = output_type(s.TextContent)
    FlagsUpdated = output_type(s.FlagsUpdated)
    Moved = output_type(s.Moved)
    Deleted = output_type(s.Deleted)
    Uploaded = output_type(s.Uploaded)
    SearchInput = input_type(s.SearchCriteria, "MessageSearchInput")
    FlagsInput = input_type(s.FlagChanges, "FlagChangesInput")
    UploadInput = input_type(s.UploadInput, "MessageUploadInput")


@strawberry.type(description="Relay page information")
class PageInfo:
    hasNextPage: bool
    hasPreviousPage: bool
    startCursor: str | None
    endCursor: str | None


@strawberry.type
class MessageEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this message")
    node: Message


@strawberry.type(description="A folder listing, newest first")
class MessageConnection:
    totalCount: int
    page: int = strawberry.field(description="The REST page number this slice corresponds to")
    pages: int
    pageInfo: PageInfo
    edges: list[MessageEdge]
    nodes: list[Message]


def connection(page: Page) -> MessageConnection:
    """The connection for a page, built once per cached page: it holds only the page's data,
    which is the same for every caller allowed to read it, and is completed per request."""
    found = page.renderings.get("graphql")
    if found is None:
        edges = []
        for entry in page.entries:
            key = ids.parse_message_id(entry["id"])
            position = ids.Cursor(key.mailbox_id, key.uid_validity, "next", key.uid, page.page + 1)
            edges.append(MessageEdge(cursor=ids.encode_cursor(position), node=cast(Any, entry)))
        info = PageInfo(
            hasNextPage=page.next_cursor is not None,
            hasPreviousPage=page.page > 0,
            startCursor=edges[0].cursor if edges else None,
            endCursor=edges[-1].cursor if edges else None,
        )
        found = page.renderings["graphql"] = MessageConnection(
            totalCount=page.total,
            page=page.page,
            pages=page.pages,
            pageInfo=info,
            edges=edges,
            nodes=cast(Any, page.entries),
        )
    return cast(MessageConnection, found)
