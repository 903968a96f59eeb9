"""The webhook attempt as a taskiq task: in-process by default, on `mailgate worker`s with Redis."""

from __future__ import annotations

import logging

from app.services.context import Context
from app.tasks.broker import broker
from app.webhooks import sender

log = logging.getLogger(__name__)


@broker.task(task_name="webhooks.deliver")
async def deliver(delivery_id: int, claim: str) -> None:
    ctx: Context = broker.state.ctx
    try:
        await sender.run_lane(ctx, delivery_id, claim)
    except Exception:
        log.exception("webhook lane starting at delivery %s failed unexpectedly", delivery_id)
        raise


async def kick(delivery_id: int, claim: str) -> None:
    """The dispatcher's way to hand over a due delivery."""
    await deliver.kiq(delivery_id, claim)
