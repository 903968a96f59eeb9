"""Per-account protocol logs (``logs: true``): scrubbed IMAP/SMTP lines in a bounded ring.

Lines land in the ``protocol_log`` table, which every process (API, sync, send workers) shares
without needing Redis. Connections only append to a buffer in memory; a flusher writes the
buffer about once a second in one INSERT and trims each touched account to its newest ``cap``
lines, so a busy connection costs one small transaction per second, not one per line. An
account without ``logs`` gets no sink at all, so its connections are not tapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from datetime import UTC
from functools import partial
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import col

from app.db import Database
from app.mail.wirelog import Sink
from app.models.account import Account
from app.models.base import utcnow
from app.models.protocol_log import ProtocolLog
from app.services.context import Context
from app.services.errors import AccountNotFound
from app.services.principal import Principal

log = logging.getLogger(__name__)

DEFAULT_CAP = 10_000  # lines kept per account
FLUSH_EVERY = 1.0  # seconds between buffer flushes


class LogStore:
    """One process's buffer for one database."""

    def __init__(self, db: Database, cap: int = DEFAULT_CAP) -> None:
        self.db = db
        self.cap = cap
        self._pending: list[dict[str, Any]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def sink(self, account: str, connection: str) -> Sink:
        return partial(self.add, account, connection)

    def add(self, account: str, connection: str, direction: str, line: str) -> None:
        self._pending.append(
            {
                "account": account,
                "connection": connection,
                "direction": direction,
                "line": line,
                "created": utcnow(),
            }
        )
        if self._flusher is None or self._flusher.done():
            with contextlib.suppress(RuntimeError):  # no running loop: the next line starts it
                self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        while self._pending:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                await self.flush()
            except Exception:  # the log must never take a connection down; the lines are lost
                log.warning("could not write protocol log lines", exc_info=True)

    async def flush(self) -> None:
        """Write what is buffered and trim the accounts it touched."""
        async with self._lock:
            rows, self._pending = self._pending, []
            if not rows:
                return
            rows = self._newest(rows)
            async with self.db.core() as s:
                await s.execute(insert(ProtocolLog), rows)
                for account in {r["account"] for r in rows}:
                    await self._trim(s, account)
                await s.commit()

    def _newest(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """At most ``cap`` rows per account: the older ones would be trimmed straight away."""
        seen: dict[str, int] = {}
        kept = []
        for row in reversed(rows):
            seen[row["account"]] = seen.get(row["account"], 0) + 1
            if seen[row["account"]] <= self.cap:
                kept.append(row)
        kept.reverse()
        return kept

    async def _trim(self, s: Any, account: str) -> None:
        oldest_kept = (
            select(col(ProtocolLog.id))
            .where(col(ProtocolLog.account) == account)
            .order_by(col(ProtocolLog.id).desc())
            .offset(self.cap - 1)
            .limit(1)
            .scalar_subquery()
        )
        await s.execute(
            delete(ProtocolLog).where(col(ProtocolLog.account) == account, col(ProtocolLog.id) < oldest_kept)
        )

    async def read(self, account: str) -> str:
        await self.flush()  # this process's own lines are visible at once
        query = (
            select(
                col(ProtocolLog.created),
                col(ProtocolLog.connection),
                col(ProtocolLog.direction),
                col(ProtocolLog.line),
            )
            .where(col(ProtocolLog.account) == account)
            .order_by(col(ProtocolLog.id))
        )
        async with self.db.core() as s:
            rows = (await s.execute(query)).all()
        return "".join(
            f"{_stamp(created)} {conn} {direction}: {line}\n" for created, conn, direction, line in rows
        )

    async def clear(self, account: str) -> None:
        async with self._lock:
            self._pending = [r for r in self._pending if r["account"] != account]
            async with self.db.core() as s:
                await s.execute(delete(ProtocolLog).where(col(ProtocolLog.account) == account))
                await s.commit()


def _stamp(when: Any) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return str(when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"))


_stores: weakref.WeakKeyDictionary[Database, LogStore] = weakref.WeakKeyDictionary()


def store(ctx: Context) -> LogStore:
    found = _stores.get(ctx.db)
    if found is None:
        found = _stores[ctx.db] = LogStore(ctx.db)
    return found


def enabled(account: Account | None) -> bool:
    return account is not None and bool((account.options or {}).get("logs"))


async def wire(ctx: Context, account_id: str, connection: str, account: Account | None = None) -> Sink | None:
    """The sink for one of the account's connections, or None when the account keeps no log.
    ``account``, when the caller has the row at hand, saves looking it up."""
    if account is None:

        async def fetch() -> Account | None:
            async with ctx.db.session() as session:
                return await session.get(Account, account_id)

        account = await ctx.accounts.get_or_load(account_id, fetch)
    if not enabled(account):
        return None
    return store(ctx).sink(account_id, f"{account_id}/{connection}")


def attach(ctx: Context) -> None:
    """Let this process's command connections log for accounts that keep a protocol log (serve and worker)."""
    ctx.imap.wire = partial(wire, ctx)


async def read_log(ctx: Context, principal: Principal, account_id: str) -> str:
    principal.require_account(account_id)
    async with ctx.db.session() as session:
        if await session.get(Account, account_id) is None:
            raise AccountNotFound()
    return await store(ctx).read(account_id)
