"""Accepting a message for sending: build it, store it durably, answer with its queue id."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app.mail import compose, mime, reference, smtp
from app.mail.compose import Attachment
from app.models import Account, AccountState, OutboxItem
from app.models.base import utcnow
from app.schemas.common import iso
from app.schemas.submit import DryRun, SubmitInput, Submitted
from app.services import accounts, messages
from app.services.context import Context
from app.services.errors import InvalidRequest, ServiceError
from app.services.mailaccess import AccountUnavailable
from app.services.principal import Principal

IDEMPOTENCY_WINDOW = timedelta(hours=24)
INSERT = insert(OutboxItem.__table__)  # type: ignore[attr-defined]  # Core: no unit-of-work overhead
INITIAL_SYNC = (AccountState.init, AccountState.connecting, AccountState.syncing)


class NoSmtp(ServiceError):
    status, code = 400, "SmtpNotConfigured"
    message = "This account has no SMTP settings, so it cannot send"


@dataclass
class Built:
    raw: bytes
    message_id: str
    subject: str | None
    sender: str
    recipients: list[str]
    bcc: list[str] = field(default_factory=list)
    reference: dict[str, Any] | None = None


def sendable(account: Account, dry_run: bool) -> None:
    """Refuse early what could never be delivered, with a code the caller can act on."""
    if not dry_run and not account.has_smtp:
        raise NoSmtp()
    if account.has_imap and account.sync_time is None and AccountState(account.state) in INITIAL_SYNC:
        raise AccountUnavailable(
            "The account is still running its initial sync; submit again once its state is connected",
            code="InitialSyncInProgress",
        )


async def submit(
    ctx: Context, principal: Principal, account_id: str, data: SubmitInput, idempotency_key: str | None = None
) -> Submitted | DryRun:
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not idempotency_key or len(idempotency_key) > 256 or not idempotency_key.isprintable():
            raise InvalidRequest(
                "Idempotency-Key must be 1-256 printable characters", details={"Idempotency-Key": "invalid"}
            )
    account = await accounts.load(ctx, principal, account_id, cached=True)
    sendable(account, data.dryRun)
    if idempotency_key and not data.dryRun:
        earlier = await _earlier(ctx, account_id, idempotency_key)
        if earlier is not None:
            return earlier
    built = await build(ctx, principal, account, data)
    envelope = {"from": built.sender, "to": built.recipients}
    if data.dryRun:
        return DryRun(
            messageId=built.message_id, envelope=envelope, raw=base64.b64encode(built.raw).decode("ascii")
        )
    now = utcnow()
    send_at = max(data.sendAt, now) if data.sendAt is not None else now
    item = OutboxItem(
        id=secrets.token_hex(8),
        account=account_id,
        message_id=built.message_id,
        subject=(built.subject or "")[:998] or None,
        raw=built.raw,
        envelope=envelope,
        send_at=send_at,
        next_attempt=send_at,
        attempts=data.deliveryAttempts,
        sent_copy=_copy_plan(account, data, built),
        reference=built.reference,
        idempotency_key=idempotency_key,
        created=now,
        updated=now,
    )
    try:
        async with ctx.db.writer() as s:
            if idempotency_key:  # an expired use of the key gives it up
                await s.execute(
                    update(OutboxItem)
                    .where(
                        col(OutboxItem.account) == account_id,
                        col(OutboxItem.idempotency_key) == idempotency_key,
                        col(OutboxItem.created) < now - IDEMPOTENCY_WINDOW,
                    )
                    .values(idempotency_key=None)
                )
            await s.execute(INSERT, item.model_dump())
            await s.commit()
    except IntegrityError:  # the same key raced in from another request: answer as it was answered
        if idempotency_key and (earlier := await _earlier(ctx, account_id, idempotency_key)) is not None:
            return earlier
        raise
    ctx.outbox_wake.set()
    return Submitted(messageId=item.message_id, queueId=item.id, sendAt=iso(send_at))


async def _earlier(ctx: Context, account_id: str, key: str) -> Submitted | None:
    async with ctx.db.core() as s:
        row = (
            await s.execute(
                select(OutboxItem).where(
                    col(OutboxItem.account) == account_id,
                    col(OutboxItem.idempotency_key) == key,
                    col(OutboxItem.created) >= utcnow() - IDEMPOTENCY_WINDOW,
                )
            )
        ).scalar_one_or_none()
    if row is None:
        return None
    return Submitted(messageId=row.message_id, queueId=row.id, sendAt=iso(row.send_at))


def _copy_plan(account: Account, data: SubmitInput, built: Built) -> dict[str, Any] | None:
    wanted = data.copy_ if data.copy_ is not None else (account.copy_sent is not False)
    if not (wanted and account.has_imap):
        return None
    return {"path": data.sentMailPath, "bcc": built.bcc}


async def build(ctx: Context, principal: Principal, account: Account, data: SubmitInput) -> Built:
    """The message as it will be sent, its envelope, and what to do with the original afterwards."""
    if data.raw is not None:
        return _from_raw(base64.b64decode(data.raw), data, account)
    own = {"name": account.name, "address": account.email or ""}
    sender = data.from_.model_dump() if data.from_ else own
    if not sender.get("address"):
        raise InvalidRequest(
            "No sender address: give from, or set the account's email", details={"from": "required"}
        )
    to = [a.model_dump() for a in data.to or []]
    cc = [a.model_dump() for a in data.cc or []]
    subject, text, html = data.subject, data.text, data.html
    in_reply_to = references = None
    attachments = [_attachment(a.model_dump()) for a in data.attachments or []]
    ref: dict[str, Any] | None = None
    if data.reference is not None:
        original = await messages.get_source(ctx, principal, account.id, data.reference.message)
        prepared = reference.prepare(
            original,
            data.reference.action,
            inline=data.reference.inline,
            own_addresses={a.lower() for a in (account.email, sender["address"]) if a},
        )
        to = to or prepared.to
        cc = cc or prepared.cc
        subject = subject if subject is not None else prepared.subject
        in_reply_to, references = prepared.in_reply_to, prepared.references
        if prepared.text_suffix and (text is not None or html is None):
            text = f"{text or ''}\n\n{prepared.text_suffix}" if text else prepared.text_suffix
        if prepared.html_suffix and html is not None:
            html = f"{html}\n{prepared.html_suffix}"
        attachments += prepared.attachments
        ref = {"message": data.reference.message, "action": data.reference.action}
    domain = str(sender["address"]).rpartition("@")[2] or "mailgate.local"
    try:
        message_id = compose.new_message_id(data.messageId, domain)
        raw = compose.build(
            from_=sender,
            to=to,
            cc=cc,
            reply_to=[a.model_dump() for a in data.replyTo or []],
            subject=subject,
            text=text,
            html=html,
            attachments=attachments,
            headers=data.headers,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            domain=domain,
        )
    except ValueError as exc:
        raise InvalidRequest(f"The message cannot be built: {exc}") from None
    bcc = [a.address for a in data.bcc or []]
    if data.envelope is not None and data.envelope.to:
        recipients = list(data.envelope.to)
    else:
        recipients = smtp.unique([a["address"] for a in (*to, *cc)] + bcc)
    envelope_from = data.envelope.from_ if data.envelope and data.envelope.from_ is not None else None
    if not recipients:
        raise InvalidRequest(
            "The message has no recipients", details={"to": "give to, cc, bcc or envelope.to"}
        )
    return Built(
        raw=raw,
        message_id=message_id,
        subject=subject,
        sender=envelope_from if envelope_from is not None else str(sender["address"]),
        recipients=recipients,
        bcc=bcc,
        reference=ref,
    )


def _from_raw(raw: bytes, data: SubmitInput, account: Account) -> Built:
    if not raw.strip():
        raise InvalidRequest("raw is empty", details={"raw": "empty message"})
    sent, bcc = compose.strip_bcc(raw)
    header_from, header_rcpts = compose.envelope_of(raw)
    message_id = _header(sent, "Message-ID")
    if not message_id:  # every queued message needs one: it is how the outbox and events name it
        domain = (account.email or "mailgate.local").rpartition("@")[2]
        message_id = compose.new_message_id(None, domain)
        sent = f"Message-ID: {message_id}\r\n".encode() + sent
    envelope = data.envelope
    recipients = list(envelope.to) if envelope and envelope.to else header_rcpts
    sender = envelope.from_ if envelope and envelope.from_ is not None else (header_from or account.email)
    if not recipients:
        raise InvalidRequest("The message has no recipients", details={"raw": "no To, Cc or Bcc header"})
    if sender is None:
        raise InvalidRequest("No sender address", details={"raw": "no From header and no account email"})
    return Built(
        raw=sent,
        message_id=message_id,
        subject=_header(sent, "Subject"),
        sender=sender,
        recipients=recipients,
        bcc=bcc,
    )


def _header(raw: bytes, name: str) -> str | None:
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
    value = headers.get(name)
    if value is None:
        return None
    return mime.decode_words(str(value)).strip() or None


def _attachment(spec: dict[str, Any]) -> Attachment:
    return Attachment(
        content=base64.b64decode(spec["content"]),
        filename=spec.get("filename"),
        content_type=spec.get("contentType"),
        cid=spec.get("cid"),
        disposition=spec.get("contentDisposition"),
    )
