"""The change log as a stream, for /v1/changes and GraphQL subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from app import events
from app.events import EVENT_TYPES
from app.models import Account, Event
from app.services import accounts
from app.services import settings as settings_service
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.principal import Principal
from app.services.webhook_payload import envelope

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


def event_types(types: list[str] | None) -> frozenset[str] | None:
    """The event types asked for (None = all); unknown names are an error, not an empty stream."""
    if types is None:
        return None
    unknown = sorted(set(types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidRequest(
            "Unknown event type",
            details={"types": f"unknown: {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}"},
        )
    return frozenset(types)


async def stream(
    ctx: Context,
    principal: Principal,
    since: int | None,
    account: str | None = None,
    idle: float = 15.0,
    types: frozenset[str] | None = None,
) -> AsyncIterator[tuple[int, str, dict[str, Any]] | None]:
    """Events after ``since`` (or from now), then live ones, as (id, type, envelope); ``None``
    after ``idle`` seconds without any, so a transport can send a keep-alive.

    Checked and anchored when awaited, not when first iterated: a refusal comes before the
    transport starts its response, and "now" is the moment of the request, so an event written
    while the response headers travel is not skipped."""
    account = scope(principal, account)
    last = since if since is not None else await latest_id(ctx)
    return _follow(ctx, last, account, idle, types)


async def _follow(
    ctx: Context, last: int, account: str | None, idle: float, types: frozenset[str] | None
) -> AsyncIterator[tuple[int, str, dict[str, Any]] | None]:
    quiet = 0.0
    while True:
        armed = events.signal.arm()
        try:
            query = select(Event).where(col(Event.id) > last).order_by(col(Event.id)).limit(500)
            if account is not None:
                query = query.where(col(Event.account) == account)
            if types is not None:
                query = query.where(col(Event.type).in_(sorted(types)))
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
            await events.signal.wait(min(RECHECK, idle), armed)
            quiet += asyncio.get_running_loop().time() - started
        finally:
            events.signal.disarm(armed)


async def account_states(
    ctx: Context, principal: Principal, account_id: str, recheck: float = RECHECK
) -> AsyncIterator[dict[str, Any]]:
    """The account's connection state now, then each time it changes; a last item with state
    None when the account is deleted. State moves wake the event signal (``events.touch``)."""
    await accounts.load(ctx, principal, account_id)  # refuse before streaming anything
    last: tuple[Any, ...] | None = None
    while True:
        armed = events.signal.arm()
        try:
            async with ctx.db.core() as s:
                row = await s.get(Account, account_id)
            if row is None:
                yield {"account": account_id, "state": None, "lastError": None, "syncTime": None}
                return
            current = (row.state, row.last_error, row.sync_time)
            if current != last:
                last = current
                yield {
                    "account": account_id,
                    "state": row.state,
                    "lastError": row.last_error,
                    "syncTime": row.sync_time.timestamp() * 1000 if row.sync_time else None,
                }
            await events.signal.wait(recheck, armed)
        finally:
            events.signal.disarm(armed)
