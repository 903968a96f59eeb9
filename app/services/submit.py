"""Accepting a message for sending: build it, store it durably, answer with its queue id.
Messages to addresses that unsubscribed from the message's list are skipped and reported."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from app.models import OutboxItem
from app.models.base import utcnow
from app.schemas.common import iso
from app.schemas.submit import DryRun, Idempotency, Skipped, StoredSubmitInput, SubmitInput, Submitted
from app.services import accounts, blocklists, gateways, merge, messages, personalize
from app.services.building import build, from_raw, outbox_row, sendable, with_stored_attachments
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.principal import Principal

IDEMPOTENCY_WINDOW = timedelta(hours=24)
INSERT = insert(OutboxItem.__table__)  # type: ignore[attr-defined]  # Core: no unit-of-work overhead


async def submit(
    ctx: Context, principal: Principal, account_id: str, data: SubmitInput, idempotency_key: str | None = None
) -> Submitted | DryRun:
    idempotency_key = _checked_key(idempotency_key)
    account = await accounts.load(ctx, principal, account_id, cached=True)
    sendable(account, data.dryRun, data.gateway)
    if data.gateway is not None:
        await gateways.exists(ctx, data.gateway)
    if data.mailMerge is not None:
        if idempotency_key:
            raise InvalidRequest(
                "Idempotency-Key cannot be used with mailMerge: give each entry its own messageId",
                details={"Idempotency-Key": "not with mailMerge"},
            )
        data = await with_stored_attachments(ctx, principal, account, data)
        return await merge.submit_merge(ctx, principal, account, data)
    if idempotency_key and not data.dryRun:
        earlier = await _earlier(ctx, account_id, idempotency_key)
        if earlier is not None:
            return earlier
    extras = await personalize.prepare(ctx, principal, account, data)
    built = await build(ctx, principal, account, data, extras)
    envelope = {"from": built.sender, "to": built.recipients}
    if data.dryRun:
        raw = base64.b64encode(built.raw).decode("ascii")
        return DryRun(
            messageId=built.message_id, envelope=envelope, raw=raw, preview=raw, reference=built.found
        )
    if data.listId is not None:
        blocked = await blocklists.suppressed(ctx, data.listId, built.recipients)
        built.recipients = [r for r in built.recipients if r.lower() not in blocked]
        if not built.recipients:
            return Submitted(
                response="Skipped: every recipient unsubscribed from this list",
                messageId=built.message_id,
                skipped=Skipped(reason="unsubscribe", listId=data.listId),
                reference=built.found,
            )
        envelope["to"] = built.recipients
    item = await outbox_row(ctx, account, data, built, idempotency_key=idempotency_key)
    answer = await _store(ctx, account_id, item, idempotency_key)
    if answer.queueId == item.id:  # not an earlier request's answer
        answer.reference = built.found
    return answer


def _checked_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 256 or not key.isprintable():
        raise InvalidRequest(
            "Idempotency-Key must be 1-256 printable characters", details={"Idempotency-Key": "invalid"}
        )
    return key


async def _store(ctx: Context, account_id: str, item: OutboxItem, idempotency_key: str | None) -> Submitted:
    now = item.created
    try:
        async with ctx.db.writer(express=True) as s:  # before the deliveries it started
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
    return Submitted(
        messageId=item.message_id,
        queueId=item.id,
        sendAt=iso(item.send_at),
        idempotency=Idempotency(key=idempotency_key, status="MISS") if idempotency_key else None,
    )


async def submit_stored(
    ctx: Context,
    principal: Principal,
    account_id: str,
    message: str,
    data: StoredSubmitInput,
    idempotency_key: str | None = None,
) -> Submitted:
    """Send a message already stored in a folder (a draft) as it is, through the same outbox:
    its Bcc header becomes envelope recipients only, and it gets a Sent copy like any other."""
    idempotency_key = _checked_key(idempotency_key)
    account = await accounts.load(ctx, principal, account_id, cached=True)
    sendable(account, False, data.gateway)
    if data.gateway is not None:
        await gateways.exists(ctx, data.gateway)
    if idempotency_key and (earlier := await _earlier(ctx, account_id, idempotency_key)) is not None:
        return earlier
    source = await messages.get_source(ctx, principal, account_id, message)
    built = from_raw(source, data, account)
    item = await outbox_row(ctx, account, data, built, idempotency_key=idempotency_key)
    return await _store(ctx, account_id, item, idempotency_key)


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
    return Submitted(
        messageId=row.message_id,
        queueId=row.id,
        sendAt=iso(row.send_at),
        idempotency=Idempotency(key=key, status="HIT"),
    )
