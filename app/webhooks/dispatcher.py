"""Turns new events into durable deliveries and hands due ones to the workers.

One dispatcher runs per installation (a lease in the database elects it). Deliveries of one
account to one URL form a lane that is sent in event order: only a lane's oldest pending delivery
is ever in flight."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events, tasking
from app.models import Account, Event, Setting, WebhookDelivery
from app.models.base import utcnow
from app.services import leases
from app.services import settings as settings_service
from app.services.context import Context
from app.services.settings import CURSOR, current_event_id, store_cursor
from app.webhooks import sender

log = logging.getLogger(__name__)
LEASE = "webhooks"
BATCH = 500
MIN_PASS_INTERVAL = 0.005
HANDOVER_RETRY = timedelta(seconds=1)  # a delivery the broker could not take is offered again after this

Send = Callable[[int, str], Awaitable[None]]


class Dispatcher(leases.Singleton):
    name = LEASE

    def __init__(self, ctx: Context, send: Send, owner: str | None = None, tick: float = 1.0) -> None:
        # Events commit in bursts (a sync pass, a stream of sends): passes at least
        # MIN_PASS_INTERVAL apart take them in a few database rounds, not one per commit.
        super().__init__(
            ctx,
            owner,
            tick,
            settle=MIN_PASS_INTERVAL,
            wakes=[ctx.webhook_wake],
            signals=[events.signal],
        )
        self.send = send

    async def lead_pass(self, takeover: bool) -> float:
        # Webhooks off: events are not read at all (enabling them moves the cursor to the newest
        # event), so a busy installation without webhooks spends no write turn here per event.
        if (await settings_service.cached(self.ctx)).enabled:
            created = await self.fan_out()
            if created:
                log.debug("%s new webhook deliveries", created)
        return await self.schedule()

    @tasking.completes
    async def fan_out(self) -> int:
        """New events → deliveries, with the cursor moved in the same transaction."""
        created = 0
        while True:
            async with self.ctx.db.writer() as s:
                cursor_row = await s.get(Setting, CURSOR)
                cursor = int(cursor_row.value) if cursor_row and cursor_row.value is not None else None
                if cursor is None:  # never enabled: start from now, not from the beginning of history
                    cursor = await current_event_id(s)
                rows = list(
                    (
                        await s.execute(
                            select(Event).where(col(Event.id) > cursor).order_by(col(Event.id)).limit(BATCH)
                        )
                    ).scalars()
                )
                last = rows[-1].id if rows else cursor
                # Read after the events: settings changed before an event are then always seen with it.
                settings = await settings_service.load(self.ctx, s)
                if rows and settings.enabled:
                    urls = await self._account_urls(s, {e.account for e in rows if e.account})
                    values = []
                    for event in rows:
                        url = urls.get(event.account or "") or settings.url
                        if not url or url in settings.disabled_urls or not settings.wants(event.type):
                            continue
                        if settings.inbox_new_only and event.type == "messageNew" and event.path != "INBOX":
                            continue
                        values.append(
                            {
                                "event_id": event.id,
                                "event_type": event.type,
                                "account": event.account,
                                "url": url,
                                "state": "pending",
                                "attempts": 0,
                                "max_attempts": len(self.ctx.settings.webhook_backoff) + 1,
                                "next_attempt": utcnow(),
                                "created": utcnow(),
                            }
                        )
                    if values:
                        await s.execute(insert(WebhookDelivery), values)
                        created += len(values)
                if cursor_row is None:
                    dialect = self.ctx.db.engine.dialect.name
                    await s.execute(store_cursor(dialect, int(last or 0), replace=True))
                else:
                    cursor_row.value = last
                await s.commit()
            if len(rows) < BATCH:
                return created

    @staticmethod
    async def _account_urls(s: AsyncSession, accounts: set[str]) -> dict[str, str]:
        if not accounts:
            return {}
        result = await s.execute(
            select(col(Account.id), col(Account.webhooks)).where(
                col(Account.id).in_(accounts), col(Account.webhooks).is_not(None)
            )
        )
        return {a: u for a, u in result.all() if u}

    @tasking.completes
    async def schedule(self) -> float:
        """Send every due lane head; returns how long until the next one is due."""
        now = utcnow()
        d = WebhookDelivery
        heads = (
            select(func.min(col(d.id))).where(col(d.state) == "pending").group_by(col(d.account), col(d.url))
        )
        async with self.ctx.db.core() as s:
            rows = list(
                (
                    await s.execute(
                        select(d).where(col(d.id).in_(heads.scalar_subquery()), col(d.state) == "pending")
                    )
                ).scalars()
            )
            due = [
                r.id
                for r in rows
                if r.id is not None
                and r.next_attempt <= now
                and (r.claimed_until is None or r.claimed_until < now)
            ]
        claims = await sender.claim_many(self.ctx, due)  # lane runners may have taken some already
        for n, (delivery_id, token) in enumerate(claims.items()):
            try:
                await self.send(delivery_id, token)
            except Exception as exc:  # the broker is away: these go out on a later pass
                log.warning(
                    "webhooks: hand-over failed (%s); retrying in %.0f s", exc, HANDOVER_RETRY.seconds
                )
                await sender.hand_back(self.ctx, dict(list(claims.items())[n:]), HANDOVER_RETRY)
                return self.tick
        later = [r.next_attempt for r in rows if r.next_attempt > now]
        return max(0.0, min((t - now).total_seconds() for t in later)) if later else self.tick
