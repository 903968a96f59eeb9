"""The change log as a stream, for /v1/changes (and later GraphQL subscriptions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from app import events
from app.models import Event
from app.services import settings as settings_service
from app.services.context import Context
from app.services.principal import Principal
from app.webhooks.payload import envelope

RECHECK = 1.0  # seconds: catches events written by other processes


async def latest_id(ctx: Context) -> int:
    async with ctx.db.core() as s:
        return int((await s.execute(select(func.max(col(Event.id))))).scalar() or 0)


def scope(principal: Principal, account: str | None) -> str | None:
    """Which account's events the caller may read (None = all); raises Forbidden otherwise."""
    if principal.account is not None:
        principal.require_account(account or principal.account)
        return principal.account
    return account


async def stream(
    ctx: Context, principal: Principal, since: int | None, account: str | None = None, idle: float = 15.0
) -> AsyncIterator[tuple[int, str, dict[str, Any]] | None]:
    """Events after ``since`` (or from now), then live ones, as (id, type, envelope); ``None``
    after ``idle`` seconds without any, so a transport can send a keep-alive."""
    account = scope(principal, account)
    last = since if since is not None else await latest_id(ctx)
    quiet = 0.0
    while True:
        query = select(Event).where(col(Event.id) > last).order_by(col(Event.id)).limit(500)
        if account is not None:
            query = query.where(col(Event.account) == account)
        async with ctx.db.core() as s:
            rows = list((await s.execute(query)).scalars())
        if rows:
            service_url = (await settings_service.cached(ctx)).service_url
            for event in rows:
                assert event.id is not None
                last = event.id
                yield event.id, event.type, envelope(event, service_url)
            quiet = 0.0
            continue
        if quiet >= idle:
            quiet = 0.0
            yield None
        started = asyncio.get_running_loop().time()
        await events.signal.wait(min(RECHECK, idle))
        quiet += asyncio.get_running_loop().time() - started
