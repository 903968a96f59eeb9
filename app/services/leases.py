"""Named leases in the database: how one process among many is elected to run a singleton
(the webhook dispatcher, the outbox dispatcher)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import col

from app import tasking
from app.models import Lease
from app.models.base import utcnow
from app.services.context import Context


async def hold(ctx: Context, name: str, owner: str) -> bool:
    """Take or renew the lease; False while another live owner holds it."""
    now = utcnow()
    expires = now + timedelta(seconds=ctx.settings.lease_seconds)
    async with ctx.db.core() as s:
        if await s.get(Lease, name) is None:
            s.add(Lease(name=name))
            with contextlib.suppress(Exception):  # another process created it first
                await s.commit()
    async with ctx.db.core() as s:
        result = await s.execute(
            update(Lease)
            .where(
                col(Lease.name) == name,
                or_(col(Lease.owner).is_(None), col(Lease.owner) == owner, col(Lease.expires) < now),
            )
            .values(owner=owner, expires=expires)
        )
        await s.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(ctx: Context, name: str, owner: str) -> None:
    """Give the lease up at once, so another process need not wait for it to expire."""
    async with ctx.db.core() as s:
        await s.execute(
            update(Lease)
            .where(col(Lease.name) == name, col(Lease.owner) == owner)
            .values(owner=None, expires=None)
        )
        await s.commit()


class Singleton:
    """A background loop that runs in one process of the installation at a time, elected by
    the lease ``name``."""

    name = ""

    def __init__(self, ctx: Context, owner: str | None = None, tick: float = 1.0) -> None:
        self.ctx = ctx
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.tick = tick
        self._task: asyncio.Task[None] | None = None
        self._held_until = 0.0  # loop time until which the lease needs no renewing

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-dispatcher")

    async def stop(self) -> None:
        await tasking.stop(self._task)
        await release(self.ctx, self.name, self.owner)

    async def _lead(self) -> bool:
        """Whether this process leads now. The lease is renewed once a third of it has passed,
        not on every pass: nobody else can take it before it expires."""
        now = asyncio.get_running_loop().time()
        if now < self._held_until:
            return True
        if await hold(self.ctx, self.name, self.owner):
            self._held_until = now + self.ctx.settings.lease_seconds / 3
            return True
        self._held_until = 0.0
        return False

    async def _run(self) -> None:
        raise NotImplementedError
