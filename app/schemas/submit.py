"""Sending shapes: the submit request, its answer, and outbox entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from app.schemas.common import Output, PageQuery, StrictInput
from app.schemas.messages import MAX_BYTES, FolderPath, _base64

NO_NEWLINES = r"^[^\r\n\x00]*$"
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^\s@<>,;\x00]+@[^\s@<>,;\x00]+$")]
HeaderValue = Annotated[str, Field(max_length=8192, pattern=NO_NEWLINES)]
MAX_RECIPIENTS = 1000


Base64 = Annotated[str, AfterValidator(_base64)]


class Address(StrictInput):
    name: Annotated[str, Field(max_length=256, pattern=NO_NEWLINES)] | None = None
    address: Email


class AttachmentIn(StrictInput):
    filename: Annotated[str, Field(max_length=1024, pattern=NO_NEWLINES)] | None = None
    contentType: Annotated[str, Field(max_length=256, pattern=r"^[\w.+-]+/[\w.+-]+$")] | None = None
    content: Base64 = Field(max_length=MAX_BYTES, description="Base64 encoded file content")
    encoding: Literal["base64"] = "base64"
    cid: Annotated[str, Field(max_length=256, pattern=r"^[^\s<>\x00]+$")] | None = Field(
        default=None, description="Content-ID for inline images referenced as cid: in the HTML"
    )
    contentDisposition: Literal["attachment", "inline"] | None = None


class Reference(StrictInput):
    message: str = Field(
        min_length=1, max_length=256, description="Id of the message replied to or forwarded"
    )
    action: Literal["reply", "reply-all", "forward"] = "reply"
    inline: bool = Field(default=False, description="Quote (reply) or include (forward) the original")


class Envelope(StrictInput):
    from_: Email | Literal[""] | None = Field(default=None, alias="from")
    to: list[Email] = Field(default_factory=list, max_length=MAX_RECIPIENTS)


STRUCTURED = ("from_", "to", "cc", "bcc", "replyTo", "subject", "text", "html", "attachments", "headers")


class SubmitInput(StrictInput):
    from_: Address | None = Field(default=None, alias="from")
    to: list[Address] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    cc: list[Address] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    bcc: list[Address] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    replyTo: list[Address] | None = Field(default=None, max_length=50)
    subject: Annotated[str, Field(max_length=4096, pattern=NO_NEWLINES)] | None = None
    text: str | None = None
    html: str | None = None
    attachments: list[AttachmentIn] | None = Field(default=None, max_length=500)
    headers: dict[Annotated[str, Field(pattern=r"^[!-9;-~]{1,76}$")], HeaderValue] | None = None
    messageId: Annotated[str, Field(max_length=998, pattern=r"^<?[^\s<>]+@[^\s<>]+>?$")] | None = None
    raw: Base64 | None = Field(
        default=None, max_length=MAX_BYTES, description="Base64 encoded RFC 822 message, sent as is"
    )
    reference: Reference | None = None
    sendAt: datetime | None = Field(default=None, description="Send at this time instead of now")
    deliveryAttempts: int = Field(default=10, ge=1, le=100, description="Attempts before giving up")
    copy_: bool | None = Field(
        default=None,
        alias="copy",
        description="Store a copy in the Sent folder (default: yes, when the account has IMAP)",
    )
    sentMailPath: FolderPath | None = Field(default=None, description="Folder for the copy (default: \\Sent)")
    envelope: Envelope | None = None
    dryRun: bool = Field(default=False, description="Build and return the message without queueing it")

    @model_validator(mode="after")
    def _one_source(self) -> SubmitInput:
        if self.raw is not None:
            clashing = [n.rstrip("_") for n in (*STRUCTURED, "reference", "messageId") if getattr(self, n)]
            if clashing:
                raise ValueError(f"raw cannot be combined with {', '.join(clashing)}")
        if self.sendAt is not None and self.sendAt.tzinfo is None:
            raise ValueError("sendAt needs a time zone (e.g. 2026-01-01T10:00:00Z)")
        return self


class Submitted(Output):
    response: str = "Queued for delivery"
    messageId: str
    queueId: str
    sendAt: str


class DryRun(Output):
    response: str = "Dry run"
    messageId: str
    envelope: dict[str, Any]
    raw: str = Field(description="The built message, base64 encoded")


class OutboxQuery(PageQuery):
    account: str | None = Field(default=None, max_length=256)
    state: Literal[
        "pending", "queued", "processing", "smtp-completed", "sent", "failed", "cancelled", "all"
    ] = "pending"


class OutboxEntry(Output):
    queueId: str
    account: str
    messageId: str
    envelope: dict[str, Any]
    subject: str | None
    created: str
    scheduled: str
    nextAttempt: str | None
    attemptsMade: int
    attempts: int
    progress: dict[str, Any] = Field(description="{status, response?, error?}")


class OutboxList(Output):
    total: int
    page: int
    pages: int
    messages: list[OutboxEntry]


class OutboxDeleted(Output):
    deleted: bool


class SubmitAnswer(Output):
    """One shape for both answers, for transports without unions of plain objects (GraphQL)."""

    response: str
    messageId: str
    queueId: str | None = None
    sendAt: str | None = None
    envelope: dict[str, Any] | None = Field(default=None, description="Dry run only")
    raw: str | None = Field(default=None, description="Dry run only: the built message, base64 encoded")
