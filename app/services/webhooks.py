"""Webhook deliveries as the API sees them: listed, inspected, sent again."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from app.models import WebhookDelivery
from app.models.base import utcnow
from app.schemas.common import page_count
from app.schemas.webhooks import Delivery, DeliveryList, DeliveryQuery
from app.services.context import Context
from app.services.errors import NotFound
from app.services.principal import Principal


class DeliveryNotFound(NotFound):
    code, message = "DeliveryNotFound", "Webhook delivery was not found"


def _out(d: WebhookDelivery) -> Delivery:
    return Delivery(
        id=d.id or 0,
        eventId=d.event_id,
        event=d.event_type,
        account=d.account,
        url=d.url,
        status=d.state,
        attempts=d.attempts,
        maxAttempts=d.max_attempts,
        nextAttempt=d.next_attempt if d.state == "pending" else None,
        lastStatus=d.last_status,
        lastResponse=d.last_response,
        lastError=d.last_error,
        created=d.created,
        deliveredAt=d.delivered_at,
    )


async def list_deliveries(ctx: Context, principal: Principal, q: DeliveryQuery) -> DeliveryList:
    where: list[Any] = []
    account = q.account
    if principal.account is not None:  # an account token sees its own account only
        principal.require_account(account or principal.account)
        account = principal.account
    if account is not None:
        where.append(col(WebhookDelivery.account) == account)
    if q.status is not None:
        where.append(col(WebhookDelivery.state) == q.status)
    if q.event is not None:
        where.append(col(WebhookDelivery.event_type) == q.event)
    async with ctx.db.core() as s:
        total = (
            await s.execute(select(func.count()).select_from(WebhookDelivery).where(*where))
        ).scalar_one()
        rows = (
            await s.execute(
                select(WebhookDelivery)
                .where(*where)
                .order_by(col(WebhookDelivery.id).desc())
                .offset(q.page * q.pageSize)
                .limit(q.pageSize)
            )
        ).scalars()
        deliveries = [_out(r) for r in rows]
    return DeliveryList(total=total, page=q.page, pages=page_count(total, q.pageSize), deliveries=deliveries)


async def redeliver(ctx: Context, principal: Principal, delivery_id: int) -> Delivery:
    """Send a delivery again now, whatever became of it; the event id stays the same."""
    async with ctx.db.core() as s:
        row = await s.get(WebhookDelivery, delivery_id)
        if row is None or (principal.account is not None and row.account != principal.account):
            raise DeliveryNotFound()
        await s.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id)
            .values(
                state="pending",
                next_attempt=utcnow(),
                claimed_until=None,
                max_attempts=max(row.max_attempts, row.attempts + 1),
            )
        )
        await s.commit()
        await s.refresh(row)
    ctx.webhook_wake.set()
    return _out(row)
