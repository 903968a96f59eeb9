"""Message shapes for changes: flags and labels, moves, deletes, searches (one message or many)
and uploads. The read shapes live in app.schemas.message_entries and are re-exported here, so
callers import every message shape from this module."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from app.schemas.common import Output, PageQuery, QueryInput, StrictInput, absent
from app.schemas.message_entries import (
    MAX_BYTES,
    TEXT,
    AddressOut,
    AttachmentOut,
    Flag,
    FolderPath,
    MessageDetails,
    MessageEntry,
    MessageGetQuery,
    MessageList,
    MessageListQuery,
    MessageText,
    TextContent,
    TextInfo,
    TextQuery,
    TextType,
    keys,
)

# The read shapes (and absent), re-exported: callers import every message shape from here.
__all__ = [
    "MAX_BYTES",
    "TEXT",
    "AddressOut",
    "AttachmentOut",
    "Flag",
    "FolderPath",
    "MessageDetails",
    "MessageEntry",
    "MessageGetQuery",
    "MessageList",
    "MessageListQuery",
    "MessageText",
    "TextContent",
    "TextInfo",
    "TextQuery",
    "TextType",
    "absent",
    "keys",
]

STRINGS = {"type": "array", "items": {"type": "string"}}
CHANGE = {"anyOf": [{"type": "boolean"}, STRINGS]}
CHANGES = keys({"add": CHANGE, "delete": CHANGE, "set": CHANGE, "result": STRINGS})


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    return value


class FlagChanges(StrictInput):
    add: list[Flag] | None = None
    delete: list[Flag] | None = None
    set: list[Flag] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> FlagChanges:
        if self.set is not None and (self.add or self.delete):
            raise ValueError("use either set, or add/delete")
        return self


Label = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\r\n\x00]+$")]


class LabelChanges(StrictInput):
    add: list[Label] | None = None
    delete: list[Label] | None = None


class MessageUpdate(StrictInput):
    flags: FlagChanges | None = None
    labels: LabelChanges | None = Field(
        default=None, description="Gmail labels (X-GM-LABELS); refused on servers without them"
    )


class FlagsUpdated(Output):
    flags: dict[str, bool | list[str]] = Field(
        json_schema_extra=CHANGES,
        description="Which changes were applied, and result: the message's flags afterwards",
    )
    labels: dict[str, bool | list[str]] | None = Field(
        default=None, exclude_if=absent, json_schema_extra=CHANGES
    )


class MoveInput(StrictInput):
    path: FolderPath
    source: FolderPath | None = Field(
        default=None, description="Accepted and ignored: the message id already names its folder"
    )


class Moved(Output):
    path: str
    id: str | None
    uid: int | None


class DeleteQuery(QueryInput):
    force: bool = False


class Deleted(Output):
    deleted: bool
    moved: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra=keys({"destination": TEXT, "message": {"anyOf": [TEXT, {"type": "null"}]}}),
    )


class LabelSearch(StrictInput):
    has: list[Label] | None = None
    not_: list[Label] | None = Field(default=None, alias="not")


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
    emailIds: list[Annotated[str, Field(min_length=1, max_length=128)]] | None = Field(
        default=None, min_length=1, max_length=1000, description="Any of these emailIds"
    )
    seq: str | None = Field(
        default=None,
        max_length=4096,
        pattern=r"^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$",
        description="Sequence number range (searched on the server)",
    )
    modseq: int | None = Field(default=None, ge=0, description="Changed at or after this MODSEQ")
    gmailRaw: str | None = Field(
        default=None, max_length=1024, description="Gmail search syntax (X-GM-RAW); Gmail servers only"
    )
    labels: LabelSearch | None = Field(default=None, description="Gmail labels; Gmail servers only")

    @model_validator(mode="after")
    def _one_line(self) -> SearchCriteria:
        """Criteria travel inside IMAP SEARCH commands, where a line break ends the command."""
        fields = type(self).model_fields
        texts = [(fields[name].alias or name, v) for name, v in self if isinstance(v, str)]
        texts += [(f"header {k}", v) for k, v in (self.header or {}).items() if isinstance(v, str)]
        for name, value in texts:
            if any(c in value for c in "\r\n\x00"):
                raise ValueError(f"{name} must not contain line breaks or NUL characters")
        return self


class SearchInput(StrictInput):
    search: SearchCriteria


class SearchQuery(PageQuery):
    path: FolderPath = "INBOX"
    cursor: str | None = Field(default=None, max_length=512, description="nextPageCursor/prevPageCursor")
    useOutlookSearch: bool = Field(
        default=False, description="Accepted and ignored: applies to Microsoft Graph accounts only"
    )


class BulkUpdate(StrictInput):
    search: SearchCriteria
    update: MessageUpdate


class BulkMove(StrictInput):
    search: SearchCriteria
    path: FolderPath = Field(description="Destination folder")


class BulkDelete(StrictInput):
    search: SearchCriteria


IDMAP = "[old id, new id] for every moved message"


class BulkUpdated(Output):
    path: str
    matched: int
    updated: int
    flags: dict[str, bool | list[str]] | None = Field(
        default=None, exclude_if=absent, json_schema_extra=CHANGES
    )
    labels: dict[str, bool | list[str]] | None = Field(
        default=None, exclude_if=absent, json_schema_extra=CHANGES
    )
    emailIds: list[str] | None = Field(
        default=None, exclude_if=absent, description="emailId of every changed message"
    )


class BulkMoved(Output):
    path: str = Field(description="The destination folder")
    matched: int
    moved: int
    source: str
    idMap: list[list[str]] = Field(default_factory=list, description=IDMAP)
    emailIds: list[str] | None = Field(
        default=None, exclude_if=absent, description="emailId of every moved message"
    )


class MovedAway(Output):
    destination: str
    idMap: list[list[str]] = Field(default_factory=list, description=IDMAP)
    emailIds: list[str] | None = None


class DeletedMessages(Output):
    emailIds: list[str] | None = None


class BulkDeleted(Output):
    path: str
    matched: int
    deleted: bool = Field(description="True when the messages were expunged, False when moved to Trash")
    moved: MovedAway | None = None
    deletedMessages: DeletedMessages | None = None


class UploadAttachment(StrictInput):
    filename: Annotated[str, Field(max_length=1024, pattern=r"^[^\r\n\x00]*$")] | None = None
    contentType: Annotated[str, Field(max_length=256, pattern=r"^[\w.+-]+/[\w.+-]+$")] | None = None
    content: Annotated[str, AfterValidator(_base64)] | None = Field(
        default=None, max_length=MAX_BYTES, description="Base64 encoded file content"
    )
    encoding: Literal["base64"] = "base64"
    cid: Annotated[str, Field(max_length=256, pattern=r"^[^\s<>\x00]+$")] | None = Field(
        default=None, description="Content-ID for an inline image referenced as cid: in the HTML"
    )
    contentDisposition: Literal["attachment", "inline"] | None = None
    reference: str | None = Field(
        default=None,
        max_length=256,
        description="Attachment id of a stored attachment to copy, instead of content",
    )

    @model_validator(mode="after")
    def _one_source(self) -> UploadAttachment:
        if (self.content is None) == (self.reference is None):
            raise ValueError("give either content or reference")
        return self


class UploadReference(StrictInput):
    message: str = Field(
        min_length=1, max_length=256, description="Id of the message replied to or forwarded"
    )
    action: Literal["reply", "reply-all", "forward"] = "reply"
    inline: bool = Field(default=False, description="Quote (reply) or include (forward) the original")
    forwardAttachments: bool = Field(default=False, description="Forwarding inline: copy the attachments too")
    ignoreMissing: bool = Field(
        default=False, description="Store the message anyway when the referenced one is gone"
    )
    messageId: str | None = Field(
        default=None, max_length=998, description="Refuse unless the referenced message has this Message-ID"
    )
    threadId: str | None = Field(
        default=None, max_length=128, description="Accepted and ignored: the thread follows from message"
    )


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
    bcc: list[AddressOut] | None = Field(default=None, description="Kept as a Bcc header (a draft's)")
    subject: str | None = Field(default=None, max_length=4096)
    text: str | None = None
    html: str | None = None
    attachments: list[UploadAttachment] | None = Field(default=None, max_length=500)
    messageId: str | None = Field(default=None, max_length=998)
    headers: dict[str, str] | None = None
    reference: UploadReference | None = Field(
        default=None, description="Build a reply to, or a forward of, a stored message"
    )
    locale: str | None = Field(
        default=None,
        max_length=64,
        description="Accepted and ignored: quoted reply/forward headers are written in English",
    )
    tz: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone (e.g. Europe/Tallinn) the Date header is written in; default UTC",
    )

    @model_validator(mode="after")
    def _content(self) -> UploadInput:
        if (
            self.raw is None
            and self.text is None
            and self.html is None
            and self.subject is None
            and self.reference is None
            and not self.attachments
        ):
            raise ValueError("give raw, a reference, or some of subject/text/html/attachments")
        return self


class UploadReferenceResult(Output):
    message: str
    threadId: str | None = None
    success: bool
    error: str | None = None


class Uploaded(Output):
    id: str | None
    path: str
    uid: int | None
    uidValidity: str | None = None
    seq: int | None = Field(
        default=None, exclude_if=absent, description="Not provided (it changes with every expunge); absent"
    )
    messageId: str | None
    reference: UploadReferenceResult | None = None
