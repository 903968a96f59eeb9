"""Claims with expiry, on SQLite and PostgreSQL: racing claimers, expiry, renewal, release."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import col

from app.models import Lease
from app.models.base import utcnow
from app.runtime.claims import Claimable
from app.services.context import Context

ROWS = Claimable(Lease, col(Lease.name), col(Lease.owner), col(Lease.expires))
SPAN = timedelta(seconds=60)
PATIENCE = 30.0


async def _rows(ctx: Context, count: int) -> list[str]:
    names = [f"row-{n:02d}" for n in range(count)]
    async with ctx.db.core() as s:
        await s.execute(insert(Lease), [{"name": name} for name in names])
        await s.commit()
    return names


async def _claim(ctx: Context, holder: str, *where: Any, **options: Any) -> list[str]:
    async with ctx.db.core() as s:
        taken = await ROWS.claim(s, holder, SPAN, *where, **options)
        await s.commit()
    return sorted(taken)


async def _blocked_on_a_row_lock(ctx: Context) -> bool:
    async with ctx.db.core() as s:
        waiting = await s.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND query LIKE 'UPDATE lease %'"
            )
        )
        return bool(waiting.scalar_one())


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_two_claimers_racing_for_the_same_rows_never_both_get_one(ctx: Context) -> None:
    """On PostgreSQL the second claimer waits on the first one's row locks, then finds the rows
    taken; SQLite lets one writer in at a time, so the second simply comes after the first."""
    names = await _rows(ctx, 10)
    mine = col(Lease.name).in_(names)
    async with ctx.db.core() as s:
        first = sorted(await ROWS.claim(s, "a", SPAN, mine))
        second = asyncio.ensure_future(_claim(ctx, "b", mine))
        if not ctx.settings.is_sqlite:
            await _until(lambda: _blocked_on_a_row_lock(ctx))
            assert not second.done()
        await s.commit()
    assert first == names
    assert await asyncio.wait_for(second, PATIENCE) == []


async def test_two_claimers_racing_with_a_limit_take_different_rows(ctx: Context) -> None:
    """On PostgreSQL the second claimer skips the rows the first one has locked, without waiting
    for it to commit."""
    names = await _rows(ctx, 10)
    order: dict[str, Any] = {"order_by": [col(Lease.name)], "limit": 4}
    async with ctx.db.core() as s:
        first = sorted(await ROWS.claim(s, "a", SPAN, **order))
        second = asyncio.ensure_future(_claim(ctx, "b", **order))
        if not ctx.settings.is_sqlite:
            assert await asyncio.wait_for(second, PATIENCE) == names[4:8]  # before the first commits
        await s.commit()
    assert first == names[:4]
    assert await asyncio.wait_for(second, PATIENCE) == names[4:8]


async def test_a_claim_holds_until_it_expires(ctx: Context) -> None:
    (name,) = await _rows(ctx, 1)
    start = utcnow()
    assert await _claim(ctx, "a", now=start) == [name]
    assert await _claim(ctx, "b", now=start + timedelta(seconds=59)) == []
    assert await _claim(ctx, "a", now=start + timedelta(seconds=59)) == []  # not even to its holder
    assert await _claim(ctx, "b", now=start + timedelta(seconds=61)) == [name]


async def test_a_holder_renewing_keeps_its_claim(ctx: Context) -> None:
    (name,) = await _rows(ctx, 1)
    start = utcnow()
    assert await _claim(ctx, "a", now=start) == [name]
    async with ctx.db.core() as s:
        assert await ROWS.renew(s, "b", SPAN, now=start + timedelta(seconds=50)) == []  # not b's
        assert await ROWS.renew(s, "a", SPAN, now=start + timedelta(seconds=50)) == [name]
        await s.commit()
    assert await _claim(ctx, "b", now=start + timedelta(seconds=61)) == []
    assert await _claim(ctx, "a", renewing=True, now=start + timedelta(seconds=100)) == [name]
    assert await _claim(ctx, "b", now=start + timedelta(seconds=161)) == [name]


async def test_a_claim_can_be_shortened(ctx: Context) -> None:
    (name,) = await _rows(ctx, 1)
    start = utcnow()
    await _claim(ctx, "a", now=start)
    async with ctx.db.core() as s:
        await ROWS.renew(s, "a", 1.0, now=start)
        await s.commit()
    assert await _claim(ctx, "b", now=start + timedelta(seconds=2)) == [name]


async def test_release_frees_a_claim_at_once_but_only_its_holders(ctx: Context) -> None:
    (name,) = await _rows(ctx, 1)
    start = utcnow()
    await _claim(ctx, "a", now=start)
    async with ctx.db.core() as s:
        assert await ROWS.release(s, "b") == []
        await s.commit()
    assert await _claim(ctx, "b", now=start + timedelta(seconds=1)) == []
    async with ctx.db.core() as s:
        assert await ROWS.release(s, "a") == [name]
        await s.commit()
    assert await _claim(ctx, "b", now=start + timedelta(seconds=1)) == [name]


async def test_a_dead_holders_claim_is_taken_over_before_it_lapses(ctx: Context) -> None:
    names = await _rows(ctx, 2)
    start = utcnow()
    await _claim(ctx, "dead", col(Lease.name) == names[0], now=start)
    await _claim(ctx, "alive", col(Lease.name) == names[1], now=start)
    later = start + timedelta(seconds=1)
    assert await _claim(ctx, "b", orphans={"dead"}, now=later) == [names[0]]


async def test_extra_columns_are_set_with_the_claim_and_a_zero_limit_claims_nothing(ctx: Context) -> None:
    (name,) = await _rows(ctx, 1)
    assert await _claim(ctx, "a", limit=0) == []
    expires = utcnow() + timedelta(days=1)
    assert await _claim(ctx, "a", values={col(Lease.owner): "a"}) == [name]
    async with ctx.db.core() as s:
        row = await s.get(Lease, name)
        assert row is not None and row.owner == "a" and row.expires is not None and row.expires < expires
