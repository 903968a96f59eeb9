"""Message shapes: list entries, details, updates, search criteria."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from app.schemas.common import Output, PageQuery, QueryInput, StrictInput

FolderPath = Annotated[str, Field(min_length=1, max_length=1024)]
Flag = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\\?[^\s()\x00-\x1f\"\\{%*\]]+$")]
MAX_BYTES = 50 * 1024 * 1024


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    return value


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


class TextInfo(Output):
    id: str
    encodedSize: dict[str, int]


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
    encodedSize: dict[str, int] = Field(default_factory=dict)
    plain: str | None = None
    html: str | None = None
    hasMore: bool = False


class MessageDetails(MessageEntry):
    headers: dict[str, list[str]]
    references: list[str]
    text: MessageText | None = None  # type: ignore[assignment]


TextType = Literal["plain", "html", "*"]


class MessageGetQuery(QueryInput):
    textType: TextType | None = Field(default=None, description="Include text content: plain, html or *")
    maxBytes: int = Field(default=5 * 1024 * 1024, ge=1, le=MAX_BYTES)
    markAsSeen: bool = False


class TextQuery(QueryInput):
    textType: TextType = "*"
    maxBytes: int = Field(default=5 * 1024 * 1024, ge=1, le=MAX_BYTES)


class TextContent(Output):
    plain: str | None
    html: str | None
    hasMore: bool


class FlagChanges(StrictInput):
    add: list[Flag] | None = None
    delete: list[Flag] | None = None
    set: list[Flag] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FlagChanges:
        if self.set is not None and (self.add or self.delete):
            raise ValueError("use either set, or add/delete")
        return self


class MessageUpdate(StrictInput):
    flags: FlagChanges | None = None


class FlagsUpdated(Output):
    flags: dict[str, bool]


class MoveInput(StrictInput):
    path: FolderPath


class Moved(Output):
    path: str
    id: str | None
    uid: int | None


class DeleteQuery(QueryInput):
    force: bool = False


class Deleted(Output):
    deleted: bool
    moved: dict[str, Any] | None = None


class SearchCriteria(StrictInput):
    seen: bool | None = None
    unseen: bool | None = None
    flagged: bool | None = None
    unflagged: bool | None = None
    answered: bool | None = None
    unanswered: bool | None = None
    draft: bool | None = None
    deleted: bool | None = None
    from_: str | None = Field(default=None, alias="from", max_length=512)
    to: str | None = Field(default=None, max_length=512)
    cc: str | None = Field(default=None, max_length=512)
    bcc: str | None = Field(default=None, max_length=512)
    subject: str | None = Field(default=None, max_length=1024)
    body: str | None = Field(default=None, max_length=1024)
    text: str | None = Field(default=None, max_length=1024, description="Headers or body")
    since: datetime | None = Field(default=None, description="Received on or after")
    before: datetime | None = Field(default=None, description="Received before")
    sentSince: datetime | None = None
    sentBefore: datetime | None = None
    larger: int | None = Field(default=None, ge=0)
    smaller: int | None = Field(default=None, ge=1)
    uid: str | None = Field(
        default=None, max_length=4096, pattern=r"^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$"
    )
    header: (
        dict[Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-9;-~]+$")], str | bool] | None
    ) = None
    keyword: Flag | None = None
    unKeyword: Flag | None = None
    messageId: str | None = Field(default=None, max_length=998)
    emailId: str | None = Field(default=None, max_length=128)
    threadId: str | None = Field(default=None, max_length=128)


class SearchInput(StrictInput):
    search: SearchCriteria


class SearchQuery(PageQuery):
    path: FolderPath = "INBOX"


class BulkUpdate(StrictInput):
    search: SearchCriteria
    update: MessageUpdate


class BulkMove(StrictInput):
    search: SearchCriteria
    path: FolderPath = Field(description="Destination folder")


class BulkDelete(StrictInput):
    search: SearchCriteria


class BulkResult(Output):
    path: str
    matched: int
    updated: int | None = None
    moved: int | None = None
    deleted: int | None = None
    destination: str | None = None


class UploadInput(StrictInput):
    path: FolderPath
    flags: list[Flag] = Field(default_factory=list)
    internalDate: datetime | None = None
    raw: Annotated[str, AfterValidator(_base64)] | None = Field(
        default=None, max_length=MAX_BYTES, description="Base64 encoded RFC 822 message"
    )
    from_: AddressOut | None = Field(default=None, alias="from")
    to: list[AddressOut] | None = None
    cc: list[AddressOut] | None = None
    subject: str | None = Field(default=None, max_length=4096)
    text: str | None = None
    html: str | None = None
    messageId: str | None = Field(default=None, max_length=998)
    headers: dict[str, str] | None = None

    @model_validator(mode="after")
    def _content(self) -> UploadInput:
        if self.raw is None and self.text is None and self.html is None and self.subject is None:
            raise ValueError("give raw, or some of subject/text/html")
        return self


class Uploaded(Output):
    id: str | None
    path: str
    uid: int | None
    messageId: str | None
