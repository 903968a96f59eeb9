"""How many accounts each sync process should hold: an even share of the live processes.

Every supervisor announces itself with a heartbeat lease; from the number of live ones and the
number of accounts each works out the same share, claims up to it and gives back what is above
it. Accounts a process gives back are claimed by the others, so a process joining takes work off
the others, and one leaving (or dying) has its accounts picked up."""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select

from app import tasking
from app.models import Account, AccountState, Lease
from app.models.base import utcnow
from app.services import leases
from app.services.context import Context

PREFIX = "worker:"


def share(accounts: int, workers: int) -> int:
    """Accounts one of ``workers`` processes should hold: no process more than one above another."""
    return math.ceil(accounts / max(1, workers))


def _name(owner: str) -> str:
    return PREFIX + hashlib.sha256(owner.encode()).hexdigest()[:40]


def heartbeat_ttl(ctx: Context) -> float:
    """How long a heartbeat lasts: a third of an account lease (10 s by default), renewed every
    second, so a process is missed only after many beats in a row failed."""
    return ctx.settings.lease_seconds / 3


@tasking.completes
async def beat(ctx: Context, owner: str) -> None:
    """Announce (or renew) this process as a live sync process."""
    async with ctx.db.core() as s:
        lease = await s.get(Lease, _name(owner))
        expires = utcnow() + timedelta(seconds=heartbeat_ttl(ctx))
        if lease is None:
            s.add(Lease(name=_name(owner), owner=owner, expires=expires))
        else:
            lease.owner, lease.expires = owner, expires
        await s.commit()


@tasking.completes
async def leave(ctx: Context, owner: str) -> None:
    async with ctx.db.core() as s:
        await s.execute(delete(Lease).where(col(Lease.name) == _name(owner)))
        await s.commit()


async def live_workers(ctx: Context) -> set[str]:
    """Owners of unexpired heartbeats, less those provably dead (``kill -9`` on this host)."""
    async with ctx.db.session() as s:
        rows = (
            await s.exec(
                select(Lease.owner).where(col(Lease.name).startswith(PREFIX), col(Lease.expires) > utcnow())
            )
        ).all()
    return {o for o in rows if o and not leases.gone(o)}


async def account_count(ctx: Context) -> int:
    async with ctx.db.session() as s:
        found = await s.exec(
            select(func.count()).select_from(Account).where(col(Account.state) != AccountState.unset.value)
        )
        return int(found.one())
