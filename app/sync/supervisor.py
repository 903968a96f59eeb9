"""Which accounts this process owns, via renewable leases in the database, and one worker each.

A lease is (owner, expiry) on the account row. The supervisor renews its own leases and claims
expired or unowned ones, so an account is never connected twice and a dead process's accounts are
taken over once its leases run out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import col

from app import tasking
from app.models import Account, AccountState
from app.models.base import utcnow
from app.services.context import Context
from app.services.control import AccountCommand
from app.sync.worker import AccountWorker

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(self, ctx: Context, owner: str | None = None) -> None:
        self.ctx = ctx
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.workers: dict[str, AccountWorker] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="supervisor")
        await self._ready.wait()

    async def stop(self) -> None:
        await tasking.stop(self._task)
        await asyncio.gather(*(w.stop() for w in self.workers.values()), return_exceptions=True)
        self.workers.clear()
        async with self.ctx.db.core() as s:
            await s.execute(
                update(Account).where(col(Account.owner) == self.owner).values(owner=None, lease_expires=None)
            )
            await s.commit()

    async def _run(self) -> None:
        renew_every = self.ctx.settings.lease_seconds / 3
        async with self.ctx.control.listen() as commands:
            self._ready.set()
            while True:
                try:
                    await self.reconcile()
                except Exception:  # the database may be briefly away; keep owning what we have
                    log.exception("lease renewal failed")
                with contextlib.suppress(TimeoutError):
                    command = await asyncio.wait_for(commands.get(), renew_every)
                    await self._handle(command)
                    while not commands.empty():
                        await self._handle(commands.get_nowait())

    @tasking.completes
    async def claim(self) -> set[str]:
        now = utcnow()
        expires = now + timedelta(seconds=self.ctx.settings.lease_seconds)
        async with self.ctx.db.core() as s:
            result = await s.execute(
                update(Account)
                .where(
                    col(Account.state) != AccountState.unset.value,
                    or_(
                        col(Account.owner).is_(None),
                        col(Account.owner) == self.owner,
                        col(Account.lease_expires) < now,
                    ),
                )
                .values(owner=self.owner, lease_expires=expires)
                .returning(col(Account.id))
            )
            owned = {str(i) for i in result.scalars()}
            await s.commit()
        return owned

    async def reconcile(self) -> None:
        owned = await self.claim()
        for account in owned - set(self.workers):
            self._start(account)
        for account in set(self.workers) - owned:
            await self.workers.pop(account).stop()
        for account, worker in list(self.workers.items()):
            if not worker.running:  # finished (e.g. IMAP switched off): let reconcile start it again
                self.workers.pop(account)

    def _start(self, account: str) -> None:
        worker = AccountWorker(self.ctx, account)
        self.workers[account] = worker
        worker.start()

    async def _handle(self, command: AccountCommand) -> None:
        worker = self.workers.get(command.account)
        if command.command == "stop":
            if worker is not None:
                await self.workers.pop(command.account).stop()
            return
        if worker is None or not worker.running:
            if worker is not None:
                self.workers.pop(command.account)
            await self.reconcile()
            return
        if command.command in ("reconnect", "changed"):
            worker.reconnect()
        elif command.command == "sync":
            worker.sync_now()
