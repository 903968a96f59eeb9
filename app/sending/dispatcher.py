"""Hands due outbox messages to the workers, and picks up after processes that died mid-send.

One dispatcher runs per installation (a database lease elects it), in the API process or in a
``mailgate worker``. Retries and scheduled sends wait in the database, not in the broker, so they
survive restarts and fire on time on either broker (taskiq does not honour delays itself)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import tasking
from app.mail.smtp import SmtpFailure
from app.models import OutboxItem, Progress
from app.models.base import utcnow
from app.runtime.claims import Claimable
from app.sending import delivery
from app.services import leases
from app.services.context import Context

log = logging.getLogger(__name__)
LEASE = "outbox"
PICKUP = timedelta(seconds=60)  # a handed-over message not started by then is handed over again
# Claimed or sending at once: enough to hide SMTP latency, few enough not to queue on the database
# (and, with the in-process broker, to leave the API its share of the CPU).
MAX_IN_FLIGHT = 32
BUSY_TICK = 0.05
MIN_PASS_INTERVAL = 0.02
HANDOVER_RETRY = timedelta(seconds=1)  # a message the broker could not take is offered again after this
RECOVER_EVERY = 5.0  # seconds between looks for attempts a dead process left behind
RETENTION = timedelta(days=7)  # finished entries stay visible in GET /v1/outbox/{id} this long
INTERRUPTED = (
    "The previous attempt was interrupted while talking to the SMTP server; "
    "the message may have been delivered by it"
)

MESSAGES = Claimable(OutboxItem, col(OutboxItem.id), col(OutboxItem.claim), col(OutboxItem.claimed_until))

Send = Callable[[str, str], Awaitable[None]]


class OutboxDispatcher(leases.Singleton):
    name = LEASE

    def __init__(
        self,
        ctx: Context,
        send: Send,
        owner: str | None = None,
        tick: float = 1.0,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        # Many completions wake it in a burst; passes at least MIN_PASS_INTERVAL apart serve them all.
        super().__init__(ctx, owner, tick, settle=MIN_PASS_INTERVAL, wakes=[ctx.outbox_wake])
        self.send = send
        self.max_in_flight = max_in_flight
        self._last_purge = self._last_recover = float("-inf")

    async def lead_pass(self, takeover: bool) -> float:
        clock = asyncio.get_running_loop().time
        if takeover or clock() - self._last_recover > RECOVER_EVERY:
            self._last_recover = clock()
            await self.recover(takeover=takeover)
        delay = await self.schedule()
        if clock() - self._last_purge > 600:
            self._last_purge = clock()
            await self.purge()
        return delay

    @tasking.completes
    async def recover(self, takeover: bool = False) -> int:
        """Attempts whose process died while talking to the server: count them as failed attempts,
        with a trace, and let them be retried (at least once beats never). A process on this host
        that is provably dead is not waited for; others are once their claim ran out. On
        ``takeover`` (this process just became the dispatcher) hand-overs claimed by a dead
        process but not started are freed too, so they go out now rather than after PICKUP."""
        o = OutboxItem
        now = utcnow()
        local = col(o.sender).startswith(f"{socket.gethostname()}:", autoescape=True)
        async with self.ctx.db.writer() as s:
            rows = (
                await s.execute(
                    select(o)
                    .where(
                        col(o.state) == Progress.processing,
                        or_(col(o.claimed_until) < now, local),
                    )
                    .limit(500)
                )
            ).scalars()
            dead = [i for i in rows if i.claimed_until is None or i.claimed_until < now or _gone(i.sender)]
            for item in dead[:100]:
                log.warning("outbox %s: attempt interrupted; it will be retried", item.id)
                failure = SmtpFailure(INTERRUPTED, "EINTERRUPTED", None, False)
                await delivery.record_failure(self.ctx, s, delivery.Job.of(item), failure, claim=None)
            if takeover:
                claimed = (
                    await s.execute(
                        select(col(o.id), col(o.claim), col(o.sender)).where(
                            col(o.state).in_([Progress.queued, Progress.smtp_completed]),
                            col(o.claimed_until) >= now,
                            local,
                        )
                    )
                ).all()
                for queue_id, claim, sender in claimed:
                    if _gone(sender):
                        await MESSAGES.release(s, claim, col(o.id) == queue_id, col(o.sender) == sender)
            await s.commit()
        return len(dead[:100])

    @tasking.completes
    async def schedule(self) -> float:
        """Claim and hand over what is due; returns seconds until the next scheduled message."""
        o = OutboxItem
        now = utcnow()
        token = secrets.token_hex(8)  # one hand-over per pass; the id tells the messages apart
        async with self.ctx.db.writer() as s:
            busy = (
                await s.execute(
                    select(func.count()).where(
                        or_(
                            col(o.state) == Progress.processing,
                            col(o.state).in_([Progress.queued, Progress.smtp_completed])
                            & (col(o.claimed_until) >= now),
                        )
                    )
                )
            ).scalar_one()
            room = self.max_in_flight - int(busy)
            due = await _claim(s, now, token, room) if room > 0 else []
            upcoming = (
                await s.execute(
                    select(func.min(col(o.next_attempt))).where(
                        col(o.state) == Progress.queued, col(o.next_attempt) > now
                    )
                )
            ).scalar()
            await s.commit()
        for n, queue_id in enumerate(due):
            try:
                await self.send(queue_id, token)
            except Exception as exc:  # the broker is away: these go out on a later pass
                log.warning("outbox: hand-over failed (%s); retrying in %.0f s", exc, HANDOVER_RETRY.seconds)
                await self._hand_back(due[n:], token)
                return self.tick
        if room < self.max_in_flight or due:
            # Sending now: look again soon, as a worker in another process cannot wake this one.
            return BUSY_TICK
        if upcoming is None:
            return self.tick
        return max(0.0, min(self.tick, (upcoming - utcnow()).total_seconds()))

    async def _hand_back(self, ids: list[str], token: str) -> None:
        """Claims of messages that never reached the broker end soon rather than after PICKUP, so
        a short broker outage delays sending by about as long as it lasts."""
        o = OutboxItem
        async with self.ctx.db.writer() as s:
            not_started = col(o.state).in_([Progress.queued, Progress.smtp_completed])
            await MESSAGES.renew(s, token, HANDOVER_RETRY, col(o.id).in_(ids), not_started)
            await s.commit()

    @tasking.completes
    async def purge(self) -> int:
        o = OutboxItem
        async with self.ctx.db.core() as s:
            result = await s.execute(
                delete(o).where(
                    col(o.state).in_([Progress.sent, Progress.failed, Progress.cancelled]),
                    col(o.updated) < utcnow() - RETENTION,
                )
            )
            await s.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]


def _gone(sender: str | None) -> bool:
    return sender is not None and leases.gone(sender)


async def _claim(s: AsyncSession, now: datetime, token: str, limit: int) -> list[str]:
    """Claim up to ``limit`` due messages (oldest due first) in the caller's transaction."""
    o = OutboxItem
    ready = or_(
        (col(o.state) == Progress.queued) & (col(o.next_attempt) <= now),
        col(o.state) == Progress.smtp_completed,  # sent, follow-up interrupted
    )
    return await MESSAGES.claim(
        s,
        token,
        PICKUP,
        ready,
        limit=limit,
        order_by=[col(o.next_attempt)],
        values={col(o.sender): leases.process_id()},
        now=now,
    )
