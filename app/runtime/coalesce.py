"""Writes that arrive together go to the database together.

On SQLite a write transaction holds the process's write turn (see ``Database.writer``) for
several round trips to the driver's thread, and each round trip waits its turn in a busy event
loop: a thousand accounts starting at once each moving their state three times spent most of
their time queueing for that turn. Requests that arrive while one batch is being written are
written in the next one, as one transaction with a statement per kind of change rather than per
row, so the turn is taken once for all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database

T = TypeVar("T")
R = TypeVar("R")

#: Writes a batch in the caller's transaction (committed afterwards); one result per item.
Write = Callable[[AsyncSession, Sequence[T]], Awaitable[Sequence[R]]]


class Coalesced(Generic[T, R]):
    """``await coalesced(item)`` writes ``item`` with whatever else is waiting and returns its
    result. A failed batch fails every request in it. A request whose caller is cancelled
    meanwhile is still written (as a single write cut off could leave SQLite's lock behind, see
    :func:`app.tasking.completes`); only its answer is dropped."""

    def __init__(self, db: Database, write: Write[T, R], limit: int = 500) -> None:
        self.db = db
        self.write = write
        self.limit = limit
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="coalesced-writes")
        return await answer

    async def _write_all(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = []
                try:
                    async with self.db.writer() as s:  # what came while waiting for it goes too
                        batch, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
                        results = await self.write(s, [item for item, _ in batch])
                        await s.commit()
                except Exception as exc:  # every caller hears of it, as each would have alone
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), result in zip(batch, results, strict=True):
                    if not answer.done():
                        answer.set_result(result)
        except asyncio.CancelledError:  # the process is stopping: nobody waits forever
            for _, answer in [*batch, *self._waiting]:
                answer.cancel()
            self._waiting.clear()
            raise
