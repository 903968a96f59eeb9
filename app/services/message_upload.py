"""Storing a new message in a folder (APPEND): given raw, or built from fields, optionally as a
reply to or forward of a stored message, with attachments given inline or copied from stored ones."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, tzinfo
from email.utils import formataddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.mail import compose, mime, reference
from app.mail.compose import Attachment
from app.models import Account
from app.schemas.messages import (
    AddressOut,
    UploadAttachment,
    Uploaded,
    UploadInput,
    UploadReference,
    UploadReferenceResult,
)
from app.services import folders
from app.services import message_parts as parts
from app.services import message_store as store
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.mailaccess import MessageNotFound, usable_account
from app.services.message_writes import append
from app.services.principal import Principal


async def upload_message(ctx: Context, principal: Principal, account_id: str, data: UploadInput) -> Uploaded:
    account = await usable_account(ctx, principal, account_id)
    box = await folders.resolve(ctx, account, data.path)
    result = None
    if data.raw is not None:
        raw = base64.b64decode(data.raw)
    else:
        raw, result = await _build(ctx, principal, account, data)
    uploaded = await append(ctx, account, box, raw, data.flags, data.internalDate)
    uploaded.reference = result
    return uploaded


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(
            "Unknown time zone", details={"tz": f"not an IANA time zone: {name!r}"}
        ) from None


def _same_id(a: str, b: str) -> bool:
    return a.strip().strip("<>").lower() == b.strip().strip("<>").lower()


async def referenced(
    ctx: Context, principal: Principal, account: Account, ref: UploadReference
) -> tuple[bytes | None, UploadReferenceResult]:
    """The referenced message's source, or None when it is gone and ``ignoreMissing`` allows that."""
    try:
        loc = await store.locate(ctx, principal, account.id, ref.message)
        source = await store.source(ctx, loc)
    except MessageNotFound:
        if not ref.ignoreMissing:
            raise
        return None, UploadReferenceResult(
            message=ref.message, success=False, error="The referenced message was not found"
        )
    if ref.messageId is not None:
        found = mime.parse(source).message_id
        if found is None or not _same_id(found, ref.messageId):
            raise InvalidRequest(
                "The referenced message has another Message-ID",
                code="MessageIdMismatch",
                details={"reference.messageId": f"the message has {found!r}"},
            )
    return source, UploadReferenceResult(message=ref.message, threadId=loc.row.thread_id, success=True)


async def attachment(
    ctx: Context, principal: Principal, account: Account, spec: UploadAttachment
) -> Attachment:
    if spec.content is not None:
        content = base64.b64decode(spec.content)
        return Attachment(content, spec.filename, spec.contentType, spec.cid, spec.contentDisposition)
    assert spec.reference is not None
    content, content_type, filename = await parts.attachment(ctx, account, spec.reference)  # its section only
    return Attachment(
        content,
        spec.filename or filename,
        spec.contentType or content_type.lower(),
        spec.cid,
        spec.contentDisposition,
    )


def _bcc_header(bcc: list[AddressOut]) -> bytes:
    """A draft keeps its blind recipients in a Bcc header (the sender strips it when sending)."""
    for a in bcc:
        if any(c in f"{a.name or ''}{a.address}" for c in "\r\n\x00"):
            raise InvalidRequest("Invalid bcc address", details={"bcc": "no line breaks allowed"})
    value = ", ".join(formataddr((a.name or "", a.address), charset="utf-8") for a in bcc)
    return f"Bcc: {value}\r\n".encode()


async def _build(
    ctx: Context, principal: Principal, account: Account, data: UploadInput
) -> tuple[bytes, UploadReferenceResult | None]:
    zone = _zone(data.tz)
    sender = data.from_.model_dump() if data.from_ else {"name": account.name, "address": account.email or ""}
    to = [a.model_dump() for a in data.to or []]
    cc = [a.model_dump() for a in data.cc or []]
    subject, text, html = data.subject, data.text, data.html
    attachments = [await attachment(ctx, principal, account, a) for a in data.attachments or []]
    in_reply_to = references = None
    result = None
    if data.reference is not None:
        original, result = await referenced(ctx, principal, account, data.reference)
        if original is not None:
            ref = data.reference
            own = {a.lower() for a in (account.email, sender.get("address")) if a}
            prepared = reference.prepare(original, ref.action, inline=ref.inline, own_addresses=own)
            to, cc = to or prepared.to, cc or prepared.cc
            subject = subject if subject is not None else prepared.subject
            in_reply_to, references = prepared.in_reply_to, prepared.references
            if prepared.text_suffix and (text is not None or html is None):
                text = f"{text}\n\n{prepared.text_suffix}" if text else prepared.text_suffix
            if prepared.html_suffix and html is not None:
                html = f"{html}\n{prepared.html_suffix}"
            extra = prepared.attachments
            if ref.action == "forward" and ref.inline and not ref.forwardAttachments:
                extra = [a for a in extra if a.cid]  # the images the quoted HTML shows
            attachments += extra
    domain = str(sender.get("address") or "").rpartition("@")[2] or "mailgate.local"
    try:
        raw = compose.build(
            from_=sender,
            to=to,
            cc=cc,
            subject=subject,
            text=text,
            html=html,
            attachments=attachments,
            headers=data.headers,
            message_id=data.messageId,
            in_reply_to=in_reply_to,
            references=references,
            date=datetime.now(zone),
            domain=domain,
        )
    except ValueError as exc:
        raise InvalidRequest(f"The message cannot be built: {exc}") from None
    if data.bcc:
        raw = _bcc_header(data.bcc) + raw
    return raw, result
