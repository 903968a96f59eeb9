"""One send attempt for one queued message, with its progress recorded around the SMTP
transaction so that a crash never leads to a silent resend.

    queued ──claim──▶ processing ──250──▶ smtp-completed ──copy, flag──▶ sent
                         │ 4xx / network ──▶ queued (later)     5xx / last attempt ──▶ failed

``processing`` is committed before the first byte goes to the server, naming the process that
sends, and ``smtp-completed`` (with the ``messageSent`` event) as soon as the server's final reply
is in: before QUIT, in an express write that goes before every other waiting one. The one window
left is between the server's 250 and that commit (milliseconds, see the README): a process
dying exactly there leaves ``processing`` behind, and the dispatcher resends it, recording a
``messageDeliveryError`` with ``errorCode: EINTERRUPTED`` first. Resending rather than holding
such a message keeps everything that was certainly not accepted (a crash during connect, the
envelope or the upload) going out without anyone's help."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events, metrics
from app.mail import smtp
from app.mail.smtp import SmtpFailure, SmtpResult
from app.models import Account, Message, OutboxItem, Progress
from app.models.base import utcnow
from app.runtime import backoff as retry
from app.schemas.common import iso
from app.schemas.messages import FlagChanges
from app.services import accounts, gateways, leases, mail_settings, messages, protocol_logs
from app.services.context import Context
from app.services.errors import AccountNotFound, ServiceError
from app.services.mail_settings import TokenUnavailable
from app.services.mailaccess import find_mailbox
from app.services.principal import OPERATOR

log = logging.getLogger(__name__)
FLAG_AFTER = {"reply": "\\Answered", "reply-all": "\\Answered", "forward": "$Forwarded"}


OUTBOX = OutboxItem.__table__  # type: ignore[attr-defined]  # Core statements: no ORM cost per message
C = OUTBOX.c


@dataclass(frozen=True)
class Job:
    """What one attempt needs of an outbox row."""

    id: str
    account: str
    state: str
    message_id: str
    envelope: dict[str, Any]
    raw: bytes | None
    attempts_made: int
    attempts: int
    sent_copy: dict[str, Any] | None
    reference: dict[str, Any] | None
    options: dict[str, Any] | None  # gateway, dsn, localAddress

    @classmethod
    def of(cls, row: Any) -> Job:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def attempt_span(ctx: Context) -> timedelta:
    """How long an attempt may hold its message; SMTP is cut off well before that."""
    return timedelta(seconds=ctx.settings.smtp_timeout * 3 + 60)


async def run(ctx: Context, queue_id: str, claim: str) -> str:
    """Carry the message as far as it goes now; returns its state afterwards (or ``stale``
    when this hand-over is no longer the current one)."""
    item = await _start(ctx, queue_id, claim)
    if item is None:
        return "stale"
    if item.state == Progress.smtp_completed:  # sent before an interruption: only the follow-up is left
        return await _finish(ctx, item, claim)
    account = await _account(ctx, item.account)
    follow_up = item.sent_copy is not None or item.reference is not None
    outcome: list[bool] = []  # once the server accepted: whether that was recorded

    try:
        async with asyncio.timeout(attempt_span(ctx).total_seconds() - 30) as deadline:

            async def accepted(result: SmtpResult) -> None:
                deadline.reschedule(None)  # the server has it: recording that must not be cut off
                outcome.append(False)
                outcome[0] = await _completed(ctx, item, claim, result, final=not follow_up)

            cfg = await _smtp_settings(ctx, account, item.options or {})
            assert item.raw is not None
            wire = await protocol_logs.wire(ctx, account.id, "smtp", account) if account else None
            send = functools.partial(
                smtp.send,
                sender=item.envelope.get("from") or "",
                recipients=item.envelope.get("to") or [],
                message=item.raw,
                timeout=ctx.settings.smtp_timeout,
                accepted=accepted,
                wire=wire,
                pool=ctx.smtp,
            )
            try:
                with metrics.timed(metrics.SMTP_SEND_SECONDS):
                    await send(cfg)
            except SmtpFailure as exc:
                token = mail_settings.token_of(cfg)
                if exc.code != "EAUTH" or not token or (item.options or {}).get("gateway"):
                    raise
                # The OAuth2 token was refused before the message went out: refresh once, retry.
                retry = await _smtp_settings(ctx, account, item.options or {}, rejected=token)
                with metrics.timed(metrics.SMTP_SEND_SECONDS):
                    await send(retry)
    except SmtpFailure as exc:
        await _gateway_used(ctx, item, exc)
        return await _failed(ctx, item, claim, exc)
    except TimeoutError:
        if outcome:  # raised while recording an accepted message: not an SMTP failure
            raise
        return await _failed(
            ctx, item, claim, SmtpFailure("SMTP transaction timed out", "ETIMEDOUT", None, False)
        )
    await _gateway_used(ctx, item, None)
    if not outcome or not outcome[0]:
        return "stale"
    return await _finish(ctx, item, claim) if follow_up else Progress.sent.value


async def _smtp_settings(
    ctx: Context, account: Account | None, options: dict[str, Any], rejected: str | None = None
) -> dict[str, Any]:
    """The account's SMTP server or the gateway the message names, with its DSN parameters and
    local address for :mod:`app.mail.smtp`."""
    if options.get("gateway"):
        cfg = await gateways.smtp_settings(ctx, options["gateway"])
        if cfg is None:
            raise SmtpFailure(f"The gateway {options['gateway']} no longer exists", "EGATEWAY", None, True)
    elif account is None or not account.has_smtp:
        raise SmtpFailure("The account has no SMTP settings", "ENOSMTP", None, True)
    else:
        try:
            cfg = await mail_settings.smtp(ctx, account, rejected=rejected)
        except TokenUnavailable as exc:
            raise SmtpFailure(str(exc), "EAUTH", None, exc.permanent) from None
    return {**cfg, **{key: options[key] for key in ("dsn", "localAddress") if options.get(key)}}


async def _gateway_used(ctx: Context, item: Job, failure: SmtpFailure | None) -> None:
    """A gateway's delivery count, or its last error."""
    gateway = (item.options or {}).get("gateway")
    if not gateway:
        return
    error = None
    if failure is not None:
        error = {"response": failure.message, "responseCode": failure.response_code, "code": failure.code}
    try:
        await gateways.record_use(ctx, gateway, error)
    except Exception:  # statistics only: never the reason a send is retried
        log.exception("outbox %s: gateway statistics not updated", item.id)


async def _start(ctx: Context, queue_id: str, claim: str) -> Job | None:
    now = utcnow()
    async with ctx.db.writer() as s:
        # Committed before the first byte goes to the server: see the module docstring.
        begun = await s.execute(
            update(OUTBOX)
            .where(
                C.id == queue_id,
                C.claim == claim,
                C.state.in_([Progress.queued.value, Progress.smtp_completed.value]),
            )
            .values(
                state=case((C.state == Progress.queued.value, Progress.processing.value), else_=C.state),
                claimed_until=now + attempt_span(ctx),
                sender=leases.process_id(),
                updated=now,
            )
            .returning(*(C[f.name] for f in fields(Job)))
        )
        row = begun.first()
        await s.commit()
    return Job.of(row) if row is not None else None


def _still_ours(queue_id: str, claim: str, state: Progress) -> list[Any]:
    return [C.id == queue_id, C.claim == claim, C.state == state.value]


async def _account(ctx: Context, account_id: str) -> Account | None:
    try:
        return await accounts.load(ctx, OPERATOR, account_id, cached=True)
    except AccountNotFound:  # deleted meanwhile (its outbox goes with it)
        return None


async def _completed(ctx: Context, item: Job, claim: str, result: SmtpResult, final: bool) -> bool:
    """The server took it: say so, durably and with the event, before anything else. ``final``:
    nothing follows (no Sent copy, no original to flag), so this is also the end."""
    now = utcnow()
    values: dict[str, Any] = {
        "state": Progress.smtp_completed,
        "response": result.response[:2048],
        "attempts_made": item.attempts_made + 1,
        "last_error": None,
        "updated": now,
    }
    if final:
        values.update(state=Progress.sent, raw=None, claim=None, claimed_until=None)
    async with ctx.db.writer(express=True) as s:
        done = await s.execute(
            update(OUTBOX).where(*_still_ours(item.id, claim, Progress.processing)).values(**values)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            await s.rollback()
            log.warning("outbox %s: sent, but the attempt had lost its claim", item.id)
            return False
        data: dict[str, Any] = {
            "messageId": item.message_id,
            "queueId": item.id,
            "response": result.response,
            "envelope": item.envelope,
        }
        if result.rejected:
            data["rejected"] = [{"address": a, "response": r} for a, r in result.rejected.items()]
        await events.insert(s, "messageSent", item.account, data)
        await s.commit()
    log.info("outbox %s sent: %s", item.id, result.response)
    return True


async def _failed(ctx: Context, item: Job, claim: str, exc: SmtpFailure) -> str:
    async with ctx.db.writer() as s:
        state = await record_failure(ctx, s, item, exc, claim=claim)
        await s.commit()
    return state


async def record_failure(
    ctx: Context, s: AsyncSession, item: Job, exc: SmtpFailure, *, claim: str | None
) -> str:
    """Count a failed attempt in the caller's transaction: retry later or give up, with events."""
    now = utcnow()
    made = item.attempts_made + 1
    give_up = exc.permanent or made >= item.attempts
    delay = None if give_up else retry.sends(ctx.settings).delay(made)
    next_attempt = now + timedelta(seconds=delay) if delay is not None else None
    error = {"error": exc.message, "errorCode": exc.code, "smtpResponseCode": exc.response_code}
    conditions = [C.id == item.id, C.state == item.state]
    if claim is not None:
        conditions.append(C.claim == claim)
    values: dict[str, Any] = {
        "attempts_made": made,
        "last_error": error,
        "claim": None,
        "claimed_until": None,
        "updated": now,
    }
    if give_up:
        values.update(state=Progress.failed, raw=None)
    else:
        values.update(state=Progress.queued, next_attempt=next_attempt)
    changed = await s.execute(update(OUTBOX).where(*conditions).values(**values))
    if not changed.rowcount:  # type: ignore[attr-defined]
        return "stale"
    base = {"queueId": item.id, "envelope": item.envelope, "messageId": item.message_id}
    await events.insert(
        s,
        "messageDeliveryError",
        item.account,
        {
            **base,
            **error,
            "job": {"attemptsMade": made, "attempts": item.attempts, "nextAttempt": iso(next_attempt)},
        },
    )
    if give_up:
        await events.insert(s, "messageFailed", item.account, {**base, **error})
    log.info("outbox %s attempt %s failed (%s): %s", item.id, made, exc.code, exc.message)
    return str(values["state"])


async def _finish(ctx: Context, item: Job, claim: str) -> str:
    """Sent copy and the original's flag. Best effort: the message is out, it is never resent."""
    problems: list[str] = []
    account = await _account(ctx, item.account)
    if account is not None and item.sent_copy is not None and item.raw is not None:
        try:
            await _store_copy(ctx, account, item)
        except ServiceError as exc:
            problems.append(f"Sent copy not stored: {exc.message}")
        except Exception as exc:  # an IMAP hiccup must not turn a sent message into a resend
            log.exception("outbox %s: storing the Sent copy failed", item.id)
            problems.append(f"Sent copy not stored: {type(exc).__name__}")
    if account is not None and item.reference:
        flag = FLAG_AFTER.get(str(item.reference.get("action")), "\\Answered")
        try:
            await messages.update_message(
                ctx, OPERATOR, account.id, str(item.reference["message"]), FlagChanges(add=[flag])
            )
        except ServiceError as exc:
            problems.append(f"Original not flagged {flag}: {exc.message}")
        except Exception as exc:
            log.exception("outbox %s: flagging the original failed", item.id)
            problems.append(f"Original not flagged {flag}: {type(exc).__name__}")
    note = {"error": "; ".join(problems), "errorCode": "EFOLLOWUP"} if problems else None
    async with ctx.db.writer() as s:
        await s.execute(
            update(OUTBOX)
            .where(*_still_ours(item.id, claim, Progress.smtp_completed))
            .values(
                state=Progress.sent,
                raw=None,
                claim=None,
                claimed_until=None,
                last_error=note,
                updated=utcnow(),
            )
        )
        await s.commit()
    return Progress.sent.value


async def _store_copy(ctx: Context, account: Account, item: Job) -> None:
    assert item.sent_copy is not None and item.raw is not None
    box = await find_mailbox(ctx, account.id, item.sent_copy.get("path") or "\\Sent")
    async with ctx.db.core() as s:  # resumed after a crash: the copy may be there already
        present = await s.execute(
            select(col(Message.id)).where(
                col(Message.mailbox_id) == box.id, col(Message.message_id) == item.message_id
            )
        )
        if present.first() is not None:
            return
    raw = item.raw
    bcc = item.sent_copy.get("bcc") or []
    if bcc:  # the sender's own copy keeps the Bcc line that was never transmitted
        raw = f"Bcc: {', '.join(bcc)}\r\n".encode() + raw
    await messages.append(ctx, account, box, raw, ["\\Seen"])
