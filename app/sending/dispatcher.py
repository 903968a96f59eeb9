"""Hands due outbox messages to the workers, and picks up after processes that died mid-send.

One dispatcher runs per installation (a database lease elects it), in the API process or in a
``mailgate worker``. Retries and scheduled sends wait in the database, not in the broker, so they
survive restarts and fire on time on either broker (taskiq does not honour delays itself)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import tasking
from app.mail.smtp import SmtpFailure
from app.models import OutboxItem, Progress
from app.models.base import utcnow
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
        super().__init__(ctx, owner, tick)
        self.send = send
        self.max_in_flight = max_in_flight
        self._last_purge = self._last_recover = float("-inf")
        self._leading = False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delay = self.tick
            try:
                leading, self._leading = self._leading, await self._lead()
                if self._leading:
                    if not leading or loop.time() - self._last_recover > RECOVER_EVERY:
                        self._last_recover = loop.time()
                        await self.recover(takeover=not leading)
                    delay = min(delay, await self.schedule())
                    if loop.time() - self._last_purge > 600:
                        self._last_purge = loop.time()
                        await self.purge()
            except Exception:  # keep going after a transient database error
                log.exception("outbox dispatcher pass failed")
            self.ctx.outbox_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ctx.outbox_wake.wait(), delay)
            # Many completions wake it in a burst; one pass a little later serves them all.
            await asyncio.sleep(MIN_PASS_INTERVAL)

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
                        await s.execute(
                            update(o)
                            .where(col(o.id) == queue_id, col(o.claim) == claim, col(o.sender) == sender)
                            .values(claim=None, claimed_until=None)
                        )
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
            await s.execute(
                update(o)
                .where(
                    col(o.id).in_(ids),
                    col(o.claim) == token,
                    col(o.state).in_([Progress.queued, Progress.smtp_completed]),  # not started
                )
                .values(claimed_until=utcnow() + HANDOVER_RETRY)
            )
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
    free = or_(col(o.claimed_until).is_(None), col(o.claimed_until) < now)
    ready = or_(
        (col(o.state) == Progress.queued) & (col(o.next_attempt) <= now),
        col(o.state) == Progress.smtp_completed,  # sent, follow-up interrupted
    )
    candidates = select(col(o.id)).where(ready, free).order_by(col(o.next_attempt)).limit(limit)
    ids = list((await s.execute(candidates)).scalars())
    if not ids:
        return []
    await s.execute(
        update(o)
        .where(col(o.id).in_(ids), ready, free)
        .values(claim=token, claimed_until=now + PICKUP, sender=leases.process_id())
    )
    return list(
        (await s.execute(select(col(o.id)).where(col(o.id).in_(ids), col(o.claim) == token))).scalars()
    )
