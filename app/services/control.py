"""Commands to whichever process holds an account's connections: reconnect, sync now, settings
changed, stop, and ``rebalance`` for every process.

A command is a row in the database, so it reaches the owner whichever process sent it: an API
process, a worker, the command line. Writing it wakes readers at once (in this process, and in
every other one over Redis when configured); without Redis other processes find it on their next
look, within a second. Readers go by id and remember what they handled, so a command is applied
at least once, in order, and commands are harmless to repeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import events
from app.models import AccountCommandRow
from app.models.base import utcnow
from app.services.context import Context

Command = Literal["reconnect", "sync", "changed", "stop", "rebalance"]
#: The account of commands meant for every process.
EVERYONE = "*"
#: How far back a reader looks: transactions can commit out of id order (PostgreSQL), so a
#: reader keeps looking at recent rows rather than only after the highest id it has seen.
WINDOW = timedelta(seconds=120)
#: How many ids below the newest seen are read again (commits in flight at the same moment).
LOOKBACK = 100
KEEP = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AccountCommand:
    account: str
    command: Command
    created: datetime | None = None


async def send(ctx: Context, account: str, command: Command) -> None:
    async with ctx.db.session() as s:
        record(s, account, command)
        await s.commit()


def record(session: AsyncSession, account: str, command: Command) -> None:
    """Add the command to the caller's transaction: it is sent if (and when) the change commits,
    which wakes readers in this process and, over Redis, in the others."""
    session.add(AccountCommandRow(account=account, command=command, created=utcnow()))
    events.touch(session)


class Inbox:
    """The commands one reader has not handled yet."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Commands sent just before this reader started concern accounts it is about to load
        # afresh anyway; a small margin covers clocks that disagree slightly.
        self._since = utcnow() - timedelta(seconds=2)
        self._seen: set[int] = set()
        self._top = 0

    async def fetch(self) -> list[AccountCommand]:
        """Commands not handed out yet, oldest first. Only recent rows are read: those newer than
        :data:`WINDOW` and not more than :data:`LOOKBACK` ids below the newest seen, which is
        where a transaction that committed late can have put one."""
        start = max(self._since, utcnow() - WINDOW)
        async with self.ctx.db.session() as s:
            rows = (
                await s.exec(
                    select(AccountCommandRow)
                    .where(
                        col(AccountCommandRow.created) >= start,
                        col(AccountCommandRow.id) > self._top - LOOKBACK,
                    )
                    .order_by(col(AccountCommandRow.id))
                )
            ).all()
        fresh = [r for r in rows if r.id is not None and r.id not in self._seen]
        self._seen = {r.id for r in rows if r.id is not None}
        self._top = max([self._top, *self._seen])
        return [AccountCommand(r.account, r.command, r.created) for r in fresh]  # type: ignore[arg-type]


async def prune(ctx: Context) -> None:
    """Forget commands long since handled."""
    async with ctx.db.core() as s:
        await s.execute(delete(AccountCommandRow).where(col(AccountCommandRow.created) < utcnow() - KEEP))
        await s.commit()
