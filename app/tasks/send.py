"""The send attempt as a taskiq task: in-process by default, on `mailgate worker`s with Redis."""

from __future__ import annotations

import logging

from app.sending import delivery
from app.services.context import Context
from app.tasks.broker import broker

log = logging.getLogger(__name__)


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
