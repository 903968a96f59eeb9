"""Sending shapes: the submit request, its answer, and outbox entries."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, RootModel, WithJsonSchema, model_validator

from app.schemas import documented
from app.schemas.common import Output, PageQuery, QueryInput, StrictInput
from app.schemas.messages import (
    MAX_BYTES,
    FolderPath,
    UploadAttachment,
    UploadReference,
    UploadReferenceResult,
    _base64,
    absent,
)

NO_NEWLINES = r"^[^\r\n\x00]*$"
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^\s@<>,;\x00]+@[^\s@<>,;\x00]+$")]
HeaderValue = Annotated[str, Field(max_length=8192, pattern=NO_NEWLINES)]
MAX_RECIPIENTS = 1000
MAX_MERGE = 10_000


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))  # ValueError: "... does not appear to be an IP address"


IpAddress = Annotated[str, Field(max_length=64), AfterValidator(_ip)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"not an IANA time zone: {value!r}") from None
    return value


TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_zone)]
IGNORED = "Accepted, ignored: "
GatewayId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s/\x00]+$")]
ListId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s<>\x00]+$")]


Base64 = Annotated[str, AfterValidator(_base64)]


class Address(StrictInput):
    name: Annotated[str, Field(max_length=256, pattern=NO_NEWLINES)] | None = None
    address: Email


class AttachmentIn(UploadAttachment):
    """Given as base64 `content`, or copied from a stored message by its attachment id (`reference`)."""


class Reference(UploadReference):
    """The message replied to or forwarded; the same options as when storing a reply or forward."""

    ignoreMissing: bool = Field(
        default=False, description="Send without the reference when the referenced message is gone"
    )


class Envelope(StrictInput):
    from_: Email | Literal[""] | None = Field(default=None, alias="from")
    to: list[Email] = Field(default_factory=list, max_length=MAX_RECIPIENTS)


class Render(StrictInput):
    format: Literal["html", "markdown"] | None = Field(
        default=None, description="How html is written (default: the template's format, else html)"
    )
    params: dict[str, Any] | None = Field(default=None, description="Values for the Handlebars placeholders")


class Dsn(StrictInput):
    """SMTP delivery status notification parameters (RFC 3461), used when the server offers DSN."""

    id: Annotated[str, Field(max_length=100, pattern=r"^[!-~]+$")] | None = Field(
        default=None, description="ENVID: the sender's id for this transaction"
    )
    return_: Literal["headers", "full"] | None = Field(
        default=None, alias="return", description="RET: what a bounce includes"
    )
    notify: list[Literal["never", "success", "failure", "delay"]] | None = Field(
        default=None, max_length=4, description="NOTIFY: when to report"
    )
    recipient: Email | None = Field(default=None, description="ORCPT: the original recipient")

    @model_validator(mode="after")
    def _never_alone(self) -> Dsn:
        if self.notify and "never" in self.notify and len(set(self.notify)) > 1:
            raise ValueError("notify 'never' cannot be combined with other values")
        return self


class MergeEntry(StrictInput):
    """One mail merge recipient; checked one by one so that a bad entry fails alone."""

    to: Address
    params: dict[str, Any] | None = None
    messageId: Annotated[str, Field(max_length=998, pattern=r"^<?[^\s<>]+@[^\s<>]+>?$")] | None = None
    sendAt: datetime | None = None


# Entries are checked one by one (MergeEntry), so that a bad one fails alone; this is their shape.
MERGE_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["to"],
        "properties": {
            "to": {
                "type": "object",
                "required": ["address"],
                "properties": {"name": {"type": "string"}, "address": {"type": "string", "format": "email"}},
            },
            "params": {"type": "object", "description": "Values for this recipient's placeholders"},
            "messageId": {"type": "string"},
            "sendAt": {"type": "string", "format": "date-time"},
        },
    },
}


class SendOptions(StrictInput):
    """Delivery options shared by both submit routes."""

    sendAt: datetime | None = Field(default=None, description="Send at this time instead of now")
    deliveryAttempts: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Attempts before giving up (default: the deliveryAttempts setting)",
    )
    copy_: bool | None = Field(
        default=None,
        alias="copy",
        description="Store a copy in the Sent folder (default: yes, when the account has IMAP)",
    )
    sentMailPath: FolderPath | None = Field(default=None, description="Folder for the copy (default: \\Sent)")
    envelope: Envelope | None = None
    gateway: GatewayId | None = Field(default=None, description="Send through this SMTP gateway")
    dsn: Dsn | None = None
    localAddress: IpAddress | None = Field(
        default=None, description="Local IP address to connect to the SMTP server from"
    )
    proxy: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Accepted, ignored: this instance connects to SMTP servers directly."
    )

    @model_validator(mode="after")
    def _aware(self) -> SendOptions:
        if self.sendAt is not None and self.sendAt.tzinfo is None:
            raise ValueError("sendAt needs a time zone (e.g. 2026-01-01T10:00:00Z)")
        return self


class StoredSubmitInput(SendOptions):
    """Sending a message that is already stored in a folder (a draft), as it is."""


STRUCTURED = ("from_", "to", "cc", "bcc", "replyTo", "subject", "text", "html", "attachments", "headers")


class SubmitInput(SendOptions):
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
    previewText: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Hidden preheader text shown next to the subject in inbox lists"
    )
    template: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Stored template for subject, text, html and previewText"
    )
    render: Render | None = Field(
        default=None, description="Render subject, text and html as Handlebars templates with params"
    )
    mailMerge: Annotated[list[dict[str, Any]], WithJsonSchema(MERGE_SCHEMA)] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_MERGE,
        description="One personalised message per entry {to, params, messageId, sendAt}",
    )
    trackOpens: bool | None = Field(default=None, description="Add an open tracking pixel (needs serviceUrl)")
    trackClicks: bool | None = Field(default=None, description="Route links through Mailgate to count clicks")
    listId: ListId | None = Field(
        default=None,
        description="Mailing list id: adds one-click unsubscribe and honours its suppression list",
    )
    baseUrl: Annotated[str, Field(max_length=1024, pattern=r"^https?://[^\s]+$")] | None = Field(
        default=None, description="Public URL for tracking and unsubscribe links (default: serviceUrl)"
    )
    dryRun: bool = Field(default=False, description="Build and return the message without queueing it")
    tz: TimeZone | None = Field(
        default=None,
        description="IANA time zone (e.g. Europe/Tallinn) the Date header is written in; default UTC",
    )
    locale: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description=IGNORED + "quoted reply and forward headers are written in English"
    )

    @model_validator(mode="after")
    def _one_source(self) -> SubmitInput:
        if self.raw is not None:
            others = (*STRUCTURED, "reference", "messageId", "template", "render", "mailMerge", "previewText")
            clashing = [n.rstrip("_") for n in others if getattr(self, n)]
            if clashing:
                raise ValueError(f"raw cannot be combined with {', '.join(clashing)}")
        if self.mailMerge is not None:
            clashing = [n for n in ("to", "cc", "bcc", "messageId", "dryRun") if getattr(self, n)]
            if self.envelope is not None and self.envelope.to:
                clashing.append("envelope.to")
            if clashing:
                raise ValueError(f"mailMerge cannot be combined with {', '.join(clashing)}")
        return self


class Skipped(Output):
    reason: str = Field(description="unsubscribed: every recipient is on the list's suppression list")
    listId: str


class MergeAddress(Output):
    name: str | None = None
    address: str | None = None


class MergeResult(Output):
    success: bool
    to: MergeAddress | None = None
    messageId: str | None = None
    queueId: str | None = None
    sendAt: str | None = None
    skipped: Skipped | None = None
    error: str | None = None
    code: str | None = None
    statusCode: int | None = None
    details: dict[str, Any] | None = None


class Idempotency(Output):
    key: str
    status: Literal["MISS", "HIT"] = Field(description="HIT: answered as the earlier request with this key")


class Submitted(Output):
    response: str = "Queued for delivery"
    messageId: str | None = None
    queueId: str | None = None
    sendAt: str | None = None
    skipped: Skipped | None = Field(default=None, description="Not queued: see reason")
    mailMerge: list[MergeResult] | None = Field(default=None, description="Mail merge: one answer per entry")
    idempotency: Idempotency | None = Field(default=None, description="With an Idempotency-Key header")
    reference: UploadReferenceResult | None = Field(
        default=None, exclude_if=absent, description="With reference: whether the message was found"
    )


class DryRun(Output):
    response: str = "Dry run"
    messageId: str
    envelope: dict[str, Any]
    raw: str = Field(description="The built message, base64 encoded")
    preview: str = Field(description="The same as raw (the name EmailEngine answers with)")
    reference: UploadReferenceResult | None = Field(
        default=None, exclude_if=absent, description="With reference: whether the message was found"
    )


class SubmitResult(RootModel[Submitted | DryRun]):
    """What a submit answers: queued (Submitted), or with `dryRun` the built message (DryRun)."""


class SubmitQuery(QueryInput):
    documentStore: bool | None = Field(default=None, description=IGNORED + "there is no document store")
    useStructuredFormat: bool | None = Field(
        default=None, description=IGNORED + "messages are always sent as built"
    )


class OutboxQuery(PageQuery):
    account: str | None = Field(default=None, max_length=256)
    state: Literal[
        "pending", "queued", "processing", "smtp-completed", "sent", "failed", "cancelled", "all"
    ] = "pending"


class OutboxEntry(Output):
    queueId: str
    account: str
    messageId: str
    proxy: str | None = Field(default=None, description="Accepted, ignored: always null (no proxies)")
    useStructuredFormat: bool | None = Field(default=None, description="Accepted, ignored: always null")
    envelope: documented.Envelope
    subject: str | None
    created: str
    scheduled: str
    nextAttempt: str | None
    attemptsMade: int
    attempts: int
    progress: documented.Progress = Field(description="{status, response?, error?}")
    source: str = "api"
    gateway: str | None = None
    localAddress: str | None = None
    listId: str | None = None
    idempotencyKey: str | None = None


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
    messageId: str | None = None
    queueId: str | None = None
    sendAt: str | None = None
    skipped: Skipped | None = None
    mailMerge: list[MergeResult] | None = None
    idempotency: Idempotency | None = None
    envelope: dict[str, Any] | None = Field(default=None, description="Dry run only")
    raw: str | None = Field(default=None, description="Dry run only: the built message, base64 encoded")
    preview: str | None = Field(default=None, description="Dry run only: the same as raw")
    reference: UploadReferenceResult | None = Field(
        default=None, description="With reference: whether the message was found"
    )
