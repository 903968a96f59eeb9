"""Building the message a submit sends: from structured fields (rendered and decorated by
:mod:`app.services.personalize`), a reply or forward, or a raw source kept byte for byte; and the
outbox row that carries it."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

from app.mail import compose, mime, reference, smtp
from app.models import Account, AccountState, OutboxItem
from app.models.base import utcnow
from app.schemas.messages import UploadReference, UploadReferenceResult
from app.schemas.submit import AttachmentIn, SendOptions, SubmitInput
from app.services import message_upload, personalize, settings
from app.services.context import Context
from app.services.errors import InvalidRequest, ServiceError
from app.services.mailaccess import AccountUnavailable
from app.services.principal import Principal

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
    tracked_recipient: str | None = None  # whom tracking and unsubscribe links name
    spec: dict[str, Any] | None = None  # compose.build's arguments while ``raw`` is not built yet
    found: UploadReferenceResult | None = None  # whether the referenced message was there


class ReferenceOnce:
    """The referenced message of a mail merge, read and prepared once for all its entries (the
    same reference and sender) instead of once per recipient: an IMAP fetch of the whole source
    and a MIME parse each time. A failure is kept too, so that each entry still reports it where
    a submit of its own would."""

    def __init__(self) -> None:
        self._got: tuple[reference.Prepared | None, UploadReferenceResult] | ServiceError | None = None

    async def get(
        self, ctx: Context, principal: Principal, account: Account, ref: UploadReference, own: set[str]
    ) -> tuple[reference.Prepared | None, UploadReferenceResult]:
        """The reply or forward prepared from the original; None when it is gone and may be."""
        if self._got is None:
            try:
                original, found = await message_upload.referenced(ctx, principal, account, ref)
            except ServiceError as exc:
                self._got = exc
            else:
                prepared = None
                if original is not None:
                    prepared = reference.prepare(original, ref.action, inline=ref.inline, own_addresses=own)
                self._got = (prepared, found)
        if isinstance(self._got, ServiceError):
            raise self._got.with_traceback(None)
        return self._got


def sendable(account: Account, dry_run: bool, gateway: str | None = None) -> None:
    """Refuse early what could never be delivered, with a code the caller can act on."""
    if not dry_run and not account.has_smtp and gateway is None:
        raise NoSmtp()
    if account.has_imap and account.sync_time is None and AccountState(account.state) in INITIAL_SYNC:
        raise AccountUnavailable(
            "The account is still running its initial sync; submit again once its state is connected",
            code="InitialSyncInProgress",
        )


async def outbox_row(
    ctx: Context,
    account: Account,
    data: SendOptions,
    built: Built,
    *,
    idempotency_key: str | None = None,
    send_at: Any = None,
    attempts: int | None = None,
) -> OutboxItem:
    now = utcnow()
    wanted = send_at if send_at is not None else data.sendAt
    when = max(wanted, now) if wanted is not None else now
    options = {
        "gateway": data.gateway,
        "dsn": data.dsn.model_dump(by_alias=True, exclude_none=True) if data.dsn else None,
        "localAddress": data.localAddress,
        "listId": getattr(data, "listId", None),
    }
    return OutboxItem(
        id=secrets.token_hex(8),
        account=account.id,
        message_id=built.message_id,
        subject=(built.subject or "")[:998] or None,
        raw=built.raw,
        envelope={"from": built.sender, "to": built.recipients},
        send_at=when,
        next_attempt=when,
        attempts=attempts or data.deliveryAttempts or await settings.delivery_attempts(ctx),
        sent_copy=_copy_plan(account, data, built),
        reference=built.reference,
        idempotency_key=idempotency_key,
        options={k: v for k, v in options.items() if v is not None} or None,
        created=now,
        updated=now,
    )


def _copy_plan(account: Account, data: SendOptions, built: Built) -> dict[str, Any] | None:
    wanted = data.copy_ if data.copy_ is not None else (account.copy_sent is not False)
    if not (wanted and account.has_imap):
        return None
    return {"path": data.sentMailPath, "bcc": built.bcc}


async def build(
    ctx: Context,
    principal: Principal,
    account: Account,
    data: SubmitInput,
    extras: personalize.Extras | None = None,
    params: dict[str, Any] | None = None,
) -> Built:
    """The message as it will be sent, its envelope, and what to do with the original afterwards.
    ``extras`` renders and decorates it (``params``: one mail merge entry's values)."""
    built = await plan(ctx, principal, account, data, extras, params)
    if built.spec is not None:
        built.raw = assemble(built.spec)
        built.spec = None
    return built


def assemble(spec: dict[str, Any]) -> bytes:
    try:
        return compose.build(**spec)
    except ValueError as exc:
        raise InvalidRequest(f"The message cannot be built: {exc}") from None


async def plan(
    ctx: Context,
    principal: Principal,
    account: Account,
    data: SubmitInput,
    extras: personalize.Extras | None = None,
    params: dict[str, Any] | None = None,
    referenced: ReferenceOnce | None = None,
) -> Built:
    """:func:`build` up to the MIME assembly, which a mail merge does for all entries at once:
    ``spec`` holds its arguments (a raw source is complete already)."""
    if data.raw is not None:
        return from_raw(base64.b64decode(data.raw), data, account)
    own = {"name": account.name, "address": account.email or ""}
    sender = data.from_.model_dump() if data.from_ else own
    if not sender.get("address"):
        raise InvalidRequest(
            "No sender address: give from, or set the account's email", details={"from": "required"}
        )
    to = [a.model_dump() for a in data.to or []]
    cc = [a.model_dump() for a in data.cc or []]
    extras = extras or personalize.Extras()
    content = extras.content(data, params)
    subject, text, html = content.subject, content.text, content.html
    in_reply_to = references = None
    attachments = [
        await message_upload.attachment(ctx, principal, account, a) for a in data.attachments or []
    ]
    ref: dict[str, Any] | None = None
    found: UploadReferenceResult | None = None
    prepared = None
    if data.reference is not None:
        own_addresses = {a.lower() for a in (account.email, sender["address"]) if a}
        once = referenced or ReferenceOnce()
        prepared, found = await once.get(ctx, principal, account, data.reference, own_addresses)
    if data.reference is not None and prepared is not None:
        to = to or prepared.to
        cc = cc or prepared.cc
        subject = subject if subject is not None else prepared.subject
        in_reply_to, references = prepared.in_reply_to, prepared.references
        if prepared.text_suffix and (text is not None or html is None):
            text = f"{text or ''}\n\n{prepared.text_suffix}" if text else prepared.text_suffix
        if prepared.html_suffix and html is not None:
            html = f"{html}\n{prepared.html_suffix}"
        if (
            data.reference.action == "forward"
            and data.reference.inline
            and not data.reference.forwardAttachments
        ):
            attachments += [a for a in prepared.attachments if a.cid]  # what the quote shows
        else:
            attachments += prepared.attachments
        ref = {"message": data.reference.message, "action": data.reference.action}
    domain = str(sender["address"]).rpartition("@")[2] or "mailgate.local"
    try:
        message_id = compose.new_message_id(data.messageId, domain)
        tracked = (to or cc or [{}])[0].get("address") or next(
            iter(data.envelope.to if data.envelope else []), None
        )
        if text is None and html is not None:  # the text part shows the links as written
            text = mime.html_to_text(html)
        html, added = extras.decorate(ctx, account.id, message_id, tracked, html, content.preview_text)
        spec = dict(
            from_=sender,
            to=to,
            cc=cc,
            reply_to=[a.model_dump() for a in data.replyTo or []],
            subject=subject,
            text=text,
            html=html,
            attachments=attachments,
            headers={**(data.headers or {}), **added},
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            date=datetime.now(ZoneInfo(data.tz)) if data.tz else None,
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
        raw=b"",
        message_id=message_id,
        subject=subject,
        sender=envelope_from if envelope_from is not None else str(sender["address"]),
        recipients=recipients,
        bcc=bcc,
        reference=ref,
        tracked_recipient=tracked,
        spec=spec,
        found=found,
    )


def from_raw(raw: bytes, data: SendOptions, account: Account) -> Built:
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


async def with_stored_attachments(
    ctx: Context, principal: Principal, account: Account, data: SubmitInput
) -> SubmitInput:
    """``data`` with attachments given by reference copied in as content, so that a mail merge
    reads each stored attachment once, not once per recipient."""
    if not any(a.reference is not None for a in data.attachments or []):
        return data
    given: list[AttachmentIn] = []
    for spec in data.attachments or []:
        if spec.reference is None:
            given.append(spec)
            continue
        got = await message_upload.attachment(ctx, principal, account, spec)
        given.append(
            AttachmentIn.model_construct(  # values read from a stored message, already valid
                content=base64.b64encode(got.content).decode("ascii"),
                filename=got.filename,
                contentType=got.content_type,
                cid=spec.cid,
                contentDisposition=spec.contentDisposition,
            )
        )
    return data.model_copy(update={"attachments": given})
