"""The instance at a glance: accounts by state and the outbox by progress (stats, metrics)."""

from __future__ import annotations

from app import __version__
from app.schemas.system import Stats
from app.services import accounts, outbox
from app.services.context import Context
from app.services.principal import Principal


async def overview(ctx: Context, principal: Principal) -> Stats:
    """System tokens only."""
    principal.require_system()
    counts = await accounts.stats(ctx)
    queues = {"outbox": await outbox.counts(ctx)}
    return Stats(version=__version__, accounts=sum(counts.values()), connections=counts, queues=queues)
