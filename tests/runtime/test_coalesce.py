"""Requests that come together are written together, each caller gets its own answer, and a
failure or a cancelled caller is handled as if each had written alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.runtime.coalesce import Coalesced


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    async with database.core() as s:
        await s.execute(text("CREATE TABLE t (v INTEGER)"))
        await s.commit()
    yield database
    await database.dispose()


async def _stored(db: Database) -> list[int]:
    async with db.core() as s:
        return [int(v) for v in (await s.execute(text("SELECT v FROM t ORDER BY v"))).scalars()]


async def test_requests_that_come_together_are_one_transaction(db: Database) -> None:
    batches: list[list[int]] = []

    async def write(s: AsyncSession, items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        await s.execute(text("INSERT INTO t VALUES (:v)"), [{"v": v} for v in items])
        return [v * 10 for v in items]

    coalesced = Coalesced(db, write)
    async with db.writer():  # the turn is busy: every request waits for the same next one
        calls = [asyncio.create_task(coalesced(v)) for v in range(5)]
        for _ in range(3):
            await asyncio.sleep(0)
    assert await asyncio.gather(*calls) == [0, 10, 20, 30, 40]
    assert batches == [[0, 1, 2, 3, 4]]
    assert await _stored(db) == [0, 1, 2, 3, 4]


async def test_a_failed_batch_fails_each_caller_and_the_next_one_goes_on(db: Database) -> None:
    async def write(s: AsyncSession, items: Sequence[int]) -> list[int]:
        await s.execute(text("INSERT INTO t VALUES (:v)"), [{"v": v} for v in items])
        if 13 in items:
            raise RuntimeError("unlucky")
        return list(items)

    coalesced = Coalesced(db, write)
    async with db.writer():
        calls = [asyncio.create_task(coalesced(v)) for v in (12, 13)]
        for _ in range(3):
            await asyncio.sleep(0)
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await coalesced(14) == 14
    assert await _stored(db) == [14]  # the failed batch was rolled back as a whole


async def test_a_cancelled_caller_is_still_written(db: Database) -> None:
    async def write(s: AsyncSession, items: Sequence[int]) -> list[int]:
        await s.execute(text("INSERT INTO t VALUES (:v)"), [{"v": v} for v in items])
        return list(items)

    coalesced = Coalesced(db, write)
    async with db.writer():
        gone = asyncio.create_task(coalesced(1))
        stays = asyncio.create_task(coalesced(2))
        for _ in range(3):
            await asyncio.sleep(0)
        gone.cancel()
    assert await stays == 2 and gone.cancelled()
    assert await _stored(db) == [1, 2]
