"""The outbox as users see it: list, inspect and cancel queued and scheduled messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from app.models import OutboxItem, Progress
from app.models.base import utcnow
from app.models.outbox import PENDING
from app.schemas.common import iso, page_count
from app.schemas.submit import OutboxDeleted, OutboxEntry, OutboxList, OutboxQuery
from app.services.context import Context
from app.services.errors import NotFound, ServiceError
from app.services.principal import Principal


class QueueItemNotFound(NotFound):
    code, message = "MessageNotFound", "No queued message with this queue id"


class AlreadySending(ServiceError):
    status, code = 409, "MessageInFlight"
    message = "The message is being sent right now and can no longer be cancelled"


def entry(item: OutboxItem) -> OutboxEntry:
    progress: dict[str, Any] = {"status": item.state}
    if item.response:
        progress["response"] = item.response
    if item.last_error:
        progress["error"] = item.last_error
    pending = item.state in PENDING
    return OutboxEntry(
        queueId=item.id,
        account=item.account,
        messageId=item.message_id,
        idempotencyKey=item.idempotency_key,
        envelope=item.envelope,
        subject=item.subject,
        created=iso(item.created),
        scheduled=iso(item.send_at),
        nextAttempt=iso(item.next_attempt) if pending else None,
        attemptsMade=item.attempts_made,
        attempts=item.attempts,
        progress=progress,
        gateway=(item.options or {}).get("gateway"),
        localAddress=(item.options or {}).get("localAddress"),
        listId=(item.options or {}).get("listId"),
    )


async def list_outbox(ctx: Context, principal: Principal, query: OutboxQuery) -> OutboxList:
    o = OutboxItem
    account = query.account
    if principal.account is not None:
        principal.require_account(account or principal.account)
        account = principal.account
    conditions: list[Any] = []
    if account is not None:
        conditions.append(col(o.account) == account)
    if query.state == "pending":
        conditions.append(col(o.state).in_(PENDING))
    elif query.state != "all":
        conditions.append(col(o.state) == query.state)
    async with ctx.db.core() as s:
        total = int((await s.execute(select(func.count()).select_from(o).where(*conditions))).scalar_one())
        rows = (
            await s.execute(
                select(o)
                .where(*conditions)
                .order_by(col(o.send_at), col(o.created))
                .offset(query.page * query.pageSize)
                .limit(query.pageSize)
            )
        ).scalars()
        messages = [entry(r) for r in rows]
    return OutboxList(
        total=total, page=query.page, pages=page_count(total, query.pageSize), messages=messages
    )


async def _load(ctx: Context, principal: Principal, queue_id: str) -> OutboxItem:
    async with ctx.db.core() as s:
        item = await s.get(OutboxItem, queue_id)
    if item is None or (principal.account is not None and item.account != principal.account):
        raise QueueItemNotFound()  # another account's item does not exist, as far as this token knows
    return item


async def get_item(ctx: Context, principal: Principal, queue_id: str) -> OutboxEntry:
    """Like EmailEngine, an entry that has left the queue (sent, failed, cancelled) is not found
    here, which is what clients poll for; its history stays listed under ``?state=``."""
    item = await _load(ctx, principal, queue_id)
    if item.state not in PENDING:
        raise QueueItemNotFound()
    return entry(item)


async def cancel(ctx: Context, principal: Principal, queue_id: str) -> OutboxDeleted:
    """Cancel a queued or scheduled message; one already in an SMTP transaction is past stopping."""
    item = await _load(ctx, principal, queue_id)
    if item.state in (Progress.sent, Progress.failed, Progress.cancelled):
        return OutboxDeleted(deleted=False)
    o = OutboxItem
    async with ctx.db.core() as s:
        result = await s.execute(
            update(o)
            .where(col(o.id) == queue_id, col(o.state) == Progress.queued)
            .values(state=Progress.cancelled, raw=None, claim=None, claimed_until=None, updated=utcnow())
        )
        await s.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        raise AlreadySending()
    return OutboxDeleted(deleted=True)


async def counts(ctx: Context) -> dict[str, int]:
    """Outbox entries by progress state (for stats and metrics)."""
    o = OutboxItem
    async with ctx.db.core() as s:
        rows = (await s.execute(select(col(o.state), func.count()).group_by(col(o.state)))).all()
    found = {state.value: 0 for state in Progress}
    found.update({str(state): int(n) for state, n in rows})
    return found
