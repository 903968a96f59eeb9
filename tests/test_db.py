"""SQLite connections go back to the pool without the pool's own rollback (one round trip to
the driver's thread less per transaction): sessions and connections end their transactions
themselves, and these tests hold them to it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from app.db import Database


async def _rows(db: Database) -> list[str]:
    async with db.core() as s:
        return [str(v) for v in (await s.execute(text("SELECT v FROM t ORDER BY v"))).scalars()]


async def test_what_a_session_left_uncommitted_is_gone_and_unlocked(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    try:
        async with db.core() as s:
            await s.execute(text("CREATE TABLE t (v TEXT)"))
            await s.commit()
        async with db.writer() as s:  # a write, then an error before commit
            await s.execute(text("INSERT INTO t VALUES ('lost')"))
        async with db.engine.connect() as conn:  # the same with a plain connection
            await conn.execute(text("INSERT INTO t VALUES ('lost too')"))
        for _ in range(3):  # every pooled connection can write at once: nothing holds the lock
            async with asyncio.timeout(10), db.writer() as s:
                await s.execute(text("INSERT INTO t VALUES ('kept')"))
                await s.commit()
        assert await _rows(db) == ["kept", "kept", "kept"]
    finally:
        await db.dispose()


async def test_a_read_does_not_keep_a_snapshot_open(tmp_path: Path) -> None:
    """A connection that only read must not carry its read transaction back into the pool,
    or later reads through it would see the database as it was then."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    try:
        async with db.core() as s:
            await s.execute(text("CREATE TABLE t (v TEXT)"))
            await s.commit()
        assert await _rows(db) == []
        async with db.writer() as s:
            await s.execute(text("INSERT INTO t VALUES ('new')"))
            await s.commit()
        assert await _rows(db) == ["new"]
    finally:
        await db.dispose()
