"""Message shapes as read: list entries, details and text, and the queries that ask for them;
and the one mapping from an index row to a list entry.

Changes, searches and uploads are in app.schemas.messages, which re-exports these names."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Union, cast, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from app.mail import content, ids
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
    address: str
    name: str | None = Field(default=None, exclude_if=absent)


class AttachmentOut(Output):
    id: str
    contentType: str
    encodedSize: int | None
    filename: str | None
    embedded: bool
    inline: bool
    contentId: str | None
    method: str | None = Field(default=None, exclude_if=absent)
    encodedInMessage: bool | None = Field(
        default=None,
        exclude_if=absent,
        description="Not provided: content is always fetched from the message source",
    )


class TextInfo(Output):
    id: str
    encodedSize: dict[str, int] = Field(json_schema_extra=SIZES)


class MessageEntry(Output):
    # Listings and messageNew payloads serialise this as is: the field order is the JSON's order.
    id: str
    uid: int
    path: str
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
    preview: str | None
    specialUse: str | None = Field(default=None, exclude_if=absent)
    messageSpecialUse: str | None = Field(
        default=None,
        exclude_if=absent,
        description="The special folder the message belongs to (\\Inbox, \\Sent, \\Drafts, \\Trash, "
        "\\Junk): its folder's use; in message details from an all-mail folder, what its Gmail labels say",
    )
    text: TextInfo | None = Field(default=None, exclude_if=absent)
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


#: A message entry as JSON-ready data, keyed as in the JSON (``from``, not ``from_``).
EntryData = dict[str, Any]


def _plain(annotation: Any) -> Any:
    """The annotation with every model in it replaced by its TypedDict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _data_shape(annotation)
    args = get_args(annotation)
    if not args:
        return annotation
    inner = tuple(_plain(a) for a in args)
    origin = get_origin(annotation)
    return cast(Any, Union)[inner] if origin in (Union, types.UnionType) else origin[inner]


@cache
def _data_shape(model: type[BaseModel]) -> Any:
    """The model's fields as a TypedDict: same names (aliases), order and types, nested models
    included; what the model leaves out when empty (``exclude_if``) is not required. Validated
    into plain dicts, entries cost half of what model instances do to build and to render."""
    fields = {}
    for name, info in model.model_fields.items():
        shape = _plain(info.annotation)
        fields[info.alias or name] = NotRequired[shape] if info.exclude_if is not None else shape
    return cast(Any, TypedDict)(f"{model.__name__}Data", fields)


Omitted = tuple[tuple[str, Callable[[Any], bool]], ...]


def _omitted(model: type[BaseModel]) -> Omitted:
    """The keys the model leaves out of its JSON, each with the test (``exclude_if``) it uses."""
    fields = model.model_fields.items()
    return tuple(
        (info.alias or name, info.exclude_if) for name, info in fields if info.exclude_if is not None
    )


def _omit(data: dict[str, Any], omitted: Omitted) -> dict[str, Any]:
    for key, test in omitted:
        if key in data and test(data[key]):
            del data[key]
    return data


_ENTRIES: TypeAdapter[list[EntryData]] = TypeAdapter(cast(Any, list)[_data_shape(MessageEntry)])
_ENTRY_OMITTED = _omitted(MessageEntry)
_ATTACHMENT_OMITTED = _omitted(AttachmentOut)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def message_entries(
    rows: Iterable[Mapping[Any, Any]], path: str, special_use: str | None, uid_validity: int
) -> list[EntryData]:
    """``MessageEntry`` data for index rows of one folder, given as ``Message`` column mappings
    (Core ``.mappings()`` rows: reading those by key costs a third of reading Row attributes).

    Validated a page at a time against the model's shape (one call into pydantic-core), so an
    entry is exactly what ``MessageEntry(...).model_dump(by_alias=True)`` gives, at the cost of
    the plain dicts the listing always served."""
    message_use = content.message_special_use(path, special_use)
    data = []
    for row in rows:
        mailbox_id, uid = row["mailbox_id"], row["uid"]
        key = ids.MessageKey(mailbox_id, uid_validity, uid)
        flags = row["flags"] or []
        text = row["text"] or {}
        entry = {
            "id": ids.message_id(mailbox_id, uid_validity, uid),
            "uid": uid,
            "path": path,
            "emailId": row["email_id"],
            "threadId": row["thread_id"],
            "date": _iso(row["date"]),
            "internalDate": _iso(row["internal_date"]),
            "flags": flags,
            "unseen": "\\Seen" not in flags,
            "flagged": "\\Flagged" in flags,
            "answered": "\\Answered" in flags,
            "draft": "\\Draft" in flags,
            "size": row["size"],
            "subject": row["subject"],
            "from": row["from_"],
            "replyTo": row["reply_to"] or [],
            "to": row["to"] or [],
            "cc": row["cc"] or [],
            "bcc": row["bcc"] or [],
            "messageId": row["message_id"],
            "inReplyTo": row["in_reply_to"],
            "attachments": [_attachment(key, a) for a in row["attachments"] or []],
            "preview": row["preview"],
            "specialUse": special_use or None,
            "messageSpecialUse": message_use or None,
            "text": (
                {"id": ids.text_id(key), "encodedSize": text.get("encodedSize", {})}
                if text.get("plain") or text.get("html")
                else None
            ),
        }
        data.append(_omit(entry, _ENTRY_OMITTED))
    return _ENTRIES.validate_python(data)


def message_entry(row: Mapping[Any, Any], path: str, special_use: str | None, uid_validity: int) -> EntryData:
    return message_entries([row], path, special_use, uid_validity)[0]


def _attachment(key: ids.MessageKey, part: dict[str, Any]) -> dict[str, Any]:
    """An attachment as the index stored it (see ``app.index.entries``), with its public id."""
    found = {
        "id": ids.attachment_id(key, part["part"]),
        "contentType": part["contentType"],
        "encodedSize": part["encodedSize"],
        "filename": part["filename"],
        "embedded": part["embedded"],
        "inline": part["inline"],
        "contentId": part["contentId"],
        "method": part.get("method") or None,
    }
    return _omit(found, _ATTACHMENT_OMITTED)
