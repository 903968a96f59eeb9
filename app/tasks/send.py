"""The send attempt as a taskiq task: in-process by default, on `mailgate worker`s with Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from taskiq import InMemoryBroker

from app.sending import delivery
from app.services.context import Context
from app.tasks.broker import broker

log = logging.getLogger(__name__)
DRAIN = 10.0  # seconds a graceful stop waits for attempts under way (process managers kill at ~10 s)


@broker.task(task_name="outbox.send")
async def send(queue_id: str, claim: str) -> None:
    ctx: Context = broker.state.ctx
    try:
        await delivery.run(ctx, queue_id, claim)
    except Exception:
        log.exception("sending %s failed unexpectedly; its claim lapses and it is retried", queue_id)
        raise
    finally:
        ctx.outbox_wake.set()  # room for the next one


async def kick(queue_id: str, claim: str) -> None:
    """The dispatcher's way to hand over a due message."""
    await send.kiq(queue_id, claim)


async def drain(patience: float = DRAIN) -> None:
    """On a graceful stop, let the attempts under way in this process finish rather than cut them
    off mid-transaction: one cut between the server's acceptance and its record would be resent.
    Called after the dispatcher stopped, so nothing new starts meanwhile."""
    if isinstance(broker, InMemoryBroker):
        log.info("letting attempts under way finish (at most %.0f s)", patience)
        with contextlib.suppress(TimeoutError):
            # shielded: running out of patience must not cancel the attempts themselves
            await asyncio.wait_for(asyncio.shield(broker.wait_all()), patience)
