"""Message shapes as read: list entries, details and text, and the queries that ask for them.

Changes, searches and uploads are in app.schemas.messages, which re-exports these names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from app.schemas.common import Output, PageQuery, QueryInput, absent

FolderPath = Annotated[str, Field(min_length=1, max_length=1024)]
Flag = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\\?[^\s()\x00-\x1f\"\\{%*\]]+$")]
MAX_BYTES = 50 * 1024 * 1024


def keys(properties: dict[str, Any], *, each: bool = False) -> Callable[[dict[str, Any]], None]:
    """Name the keys of a free-form object in the OpenAPI schema (``each``: of an array's items).

    These stay plain dicts in the models, so GraphQL keeps them as JSON values, while the REST
    document still promises every key a client may read."""

    def extra(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            target = branch.get("items", {}) if each else branch
            if target.get("type") == "object":
                target["properties"] = properties

    return extra


SIZES = keys({"plain": {"type": "integer"}, "html": {"type": "integer"}})
TEXT = {"type": "string"}
BOUNCE = keys(
    {"message": TEXT, "recipient": TEXT, "action": TEXT, "date": TEXT,
     "response": {"type": "object", "properties": {"message": TEXT, "status": TEXT}}},
    each=True,
)  # fmt: skip


class AddressOut(Output):
    name: str | None = None
    address: str


class AttachmentOut(Output):
    id: str
    contentType: str
    encodedSize: int | None
    filename: str | None
    embedded: bool
    inline: bool
    contentId: str | None
    method: str | None = None
    encodedInMessage: bool | None = Field(
        default=None,
        exclude_if=absent,
        description="Not provided: content is always fetched from the message source",
    )


class TextInfo(Output):
    id: str
    encodedSize: dict[str, int] = Field(json_schema_extra=SIZES)


class MessageEntry(Output):
    id: str
    uid: int
    path: str
    specialUse: str | None = None
    emailId: str | None
    threadId: str | None
    date: str | None
    internalDate: str | None
    flags: list[str]
    unseen: bool
    flagged: bool
    answered: bool
    draft: bool
    size: int | None
    subject: str | None
    from_: AddressOut | None = Field(alias="from")
    replyTo: list[AddressOut]
    to: list[AddressOut]
    cc: list[AddressOut]
    bcc: list[AddressOut]
    messageId: str | None
    inReplyTo: str | None
    attachments: list[AttachmentOut]
    text: TextInfo | None = None
    preview: str | None
    messageSpecialUse: str | None = Field(
        default=None,
        exclude_if=absent,
        description="The special folder the message belongs to (\\Inbox, \\Sent, \\Drafts, \\Trash, "
        "\\Junk): its folder's use; in message details from an all-mail folder, what its Gmail labels say",
    )
    labels: list[str] | None = Field(
        default=None,
        exclude_if=absent,
        description="Gmail labels (X-GM-LABELS), in message details only; absent on other servers",
    )
    isAutoReply: bool | None = Field(
        default=None,
        exclude_if=absent,
        description="An automatic answer (Auto-Submitted, X-Autoreply, Precedence: auto_reply); "
        "in message details only, absent in listings",
    )
    category: str | None = Field(
        default=None,
        exclude_if=absent,
        description="Not provided: Gmail inbox categories need the Gmail API; always absent",
    )
    bounces: list[dict[str, Any]] | None = Field(
        default=None,
        json_schema_extra=BOUNCE,
        exclude_if=absent,
        description="Not provided: there is no bounce detection; always absent",
    )


class MessageList(Output):
    total: int
    page: int
    pages: int
    nextPageCursor: str | None
    prevPageCursor: str | None
    messages: list[MessageEntry]


class MessageListQuery(PageQuery):
    path: FolderPath = Field(default="INBOX", description="Folder path or a special use such as \\Sent")
    cursor: str | None = Field(default=None, max_length=512)


class MessageText(Output):
    id: str | None = None
    encodedSize: dict[str, int] = Field(default_factory=dict, json_schema_extra=SIZES)
    plain: str | None = None
    html: str | None = None
    hasMore: bool = False
    webSafe: bool | None = Field(
        default=None, exclude_if=absent, description="True when html was sanitised (webSafeHtml)"
    )


class MessageDetails(MessageEntry):
    sender: AddressOut | None = Field(default=None, description="The Sender header, when present")
    headers: dict[str, list[str]]
    references: list[str]
    text: MessageText | None = None  # type: ignore[assignment]


TextType = Literal["plain", "html", "*"]


class MessageGetQuery(QueryInput):
    textType: TextType | None = Field(default=None, description="Include text content: plain, html or *")
    maxBytes: int = Field(default=5 * 1024 * 1024, ge=1, le=MAX_BYTES)
    markAsSeen: bool = False
    webSafeHtml: bool = Field(
        default=False, description="Sanitise text.html: no scripts, event handlers, forms or frames"
    )
    embedAttachedImages: bool = Field(
        default=False, description="Replace cid: image links in text.html with data: URLs"
    )
    preProcessHtml: bool = Field(
        default=False, description="Accepted and ignored: the HTML is returned as the message has it"
    )


class TextQuery(QueryInput):
    textType: TextType = "*"
    maxBytes: int = Field(default=5 * 1024 * 1024, ge=1, le=MAX_BYTES)
    webSafeHtml: bool = Field(default=False, description="Sanitise html: no scripts, event handlers or forms")


class TextContent(Output):
    plain: str | None
    html: str | None
    hasMore: bool
    webSafe: bool | None = Field(
        default=None, exclude_if=absent, description="True when html was sanitised (webSafeHtml)"
    )
