"""Engine and session factory for SQLite (WAL, busy timeout) and PostgreSQL, plus migrations."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pydantic_core import from_json
from sqlalchemy import event, text
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as CoreSession
from sqlmodel.ext.asyncio.session import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = ROOT / "alembic"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    """JSON columns (addresses, flags, attachments) are decoded for every row a listing reads:
    pydantic-core's parser, already a dependency, does it 3-10 times faster than the stdlib's.

    On SQLite every call into the driver is a round trip to its thread and back through the event
    loop. Sessions and connections end their own transactions (commit, or rollback on close), so
    the pool's rollback on return was one more of those per transaction, for nothing."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time, but readers are many: a roomy pool keeps bursts of
        # background work (webhook attempts, syncs) from queueing API reads behind them.
        engine = create_async_engine(
            url,
            pool_size=60,
            max_overflow=20,
            pool_timeout=60,
            pool_reset_on_return=None,
            json_deserializer=from_json,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=20, pool_pre_ping=True, json_deserializer=from_json
    )


class _Turns:
    """A lock handed over first come, first served, except that express waiters go first."""

    def __init__(self) -> None:
        self._held = False
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())

    @asynccontextmanager
    async def turn(self, express: bool) -> AsyncIterator[None]:
        if self._held:
            queue = self._waiting[0 if express else 1]
            waiter = asyncio.get_running_loop().create_future()
            queue.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._pass()  # cancelled just after being handed the turn: hand it on
                with contextlib.suppress(ValueError):
                    queue.remove(waiter)
                raise
        self._held = True
        try:
            yield
        finally:
            self._pass()

    @property
    def waiting(self) -> int:
        return sum(1 for queue in self._waiting for waiter in queue if not waiter.done())

    def _pass(self) -> None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays held: handed over
                    return
        self._held = False


class Database:
    """One engine and its session factory; every service call gets a session from here."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._core = async_sessionmaker(self.engine, class_=CoreSession, expire_on_commit=False)
        self._serialize_writes = url.startswith("sqlite")
        self._turns = _Turns()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def core(self) -> AsyncIterator[CoreSession]:
        """A plain SQLAlchemy session, for bulk statements (sqlmodel's ``execute`` warns on every call)."""
        async with self._core() as session:
            yield session

    @asynccontextmanager
    async def writer(self, express: bool = False) -> AsyncIterator[CoreSession]:
        """A session for a short write transaction on a hot path. On SQLite these take turns in
        the process instead of in SQLite's busy handler, which is unfair under load: with dozens
        of writers polling for the lock, one could starve past the busy timeout. ``express``
        writers go before every waiting one: a request is waiting on them (a burst of
        submissions is accepted at the pace of its own writes, not behind the deliveries it
        started), or the record must land before the process may die (an SMTP server's
        acceptance of a message). Never nest."""
        if not self._serialize_writes:
            async with self._core() as session:
                yield session
            return
        async with self._turns.turn(express), self._core() as session:
            yield session

    @property
    def writers_waiting(self) -> int:
        """Writers in line for the write turn (always 0 where writes do not take turns)."""
        return self._turns.waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold this process's write turn (on SQLite) around an ORM transaction of
        :meth:`session`, so it queues with the :meth:`writer` sessions instead of racing them in
        SQLite's busy handler. A request is waiting on it, so it goes before background writers
        (as ``express`` ones do). Never nest, and never open a :meth:`writer` inside."""
        if not self._serialize_writes:
            yield
            return
        async with self._turns.turn(True):
            yield

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def migrate_sync(url: str, revision: str = "head") -> None:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


async def migrate(url: str, revision: str = "head") -> None:
    """Alembic's async env.py runs its own event loop, so it needs a thread of its own."""
    await asyncio.to_thread(migrate_sync, url, revision)
