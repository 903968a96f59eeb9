"""Named leases in the database: how one process among many is elected to run a singleton
(the webhook dispatcher, the outbox dispatcher).

Holders are named after their process (host, pid and the pid's start time), so a successor on the
same host can tell a holder that died (``kill -9``, OOM) from one that is merely slow, and take
over at once instead of waiting for the lease to run out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterable
from pathlib import Path

from sqlmodel import col

from app import tasking
from app.models import Lease
from app.runtime.claims import Claimable
from app.runtime.loop import Loop, Signal
from app.services.context import Context

log = logging.getLogger(__name__)


_identity: tuple[int, str] | None = None


def _started(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot), which tells a reused pid from the original;
    None where there is no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name before it may hold spaces


def process_id() -> str:
    """``host:pid:start`` of this process, worked out again after a fork."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()}:{pid}:{_started(pid) or '-'}")
    return _identity[1]


def gone(holder: str) -> bool:
    """Whether the process named at the start of ``holder`` (see :func:`process_id`) provably no
    longer runs: only a process on this host can be checked; anything else counts as alive."""
    host, pid_text, start = ([*holder.split(":", 3), "", ""])[:3]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if [host, pid_text, start] == process_id().split(":"):
        return False  # this very process
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        pass
    now_started = _started(pid)
    return start != "-" and now_started is not None and now_started != start  # the pid was reused


LEASES = Claimable(Lease, col(Lease.name), col(Lease.owner), col(Lease.expires))


@tasking.completes
async def hold(ctx: Context, name: str, owner: str) -> bool:
    """Take or renew the lease; False while another live owner holds it."""
    async with ctx.db.core() as s:
        lease = await s.get(Lease, name)
        if lease is None:
            s.add(Lease(name=name))
            with contextlib.suppress(Exception):  # another process created it first
                await s.commit()
        holder = lease.owner if lease is not None else None
    dead = holder is not None and holder != owner and gone(holder)
    async with ctx.db.core() as s:
        taken = await LEASES.claim(
            s,
            owner,
            ctx.settings.lease_seconds,
            col(Lease.name) == name,
            renewing=True,
            orphans=[holder] if dead and holder is not None else [],
        )
        await s.commit()
    if taken and dead:
        log.warning("lease %s taken over from %s, which is no longer running", name, holder)
    return bool(taken)


@tasking.completes
async def release(ctx: Context, name: str, owner: str) -> None:
    """Give the lease up at once, so another process need not wait for it to expire."""
    async with ctx.db.core() as s:
        await LEASES.release(s, owner, col(Lease.name) == name)
        await s.commit()


class Singleton(Loop):
    """A background loop that runs in one process of the installation at a time, elected by
    the lease ``name``: every pass first makes sure this process still leads, and only the
    leader does the work (:meth:`lead_pass`)."""

    name = ""

    def __init__(
        self,
        ctx: Context,
        owner: str | None = None,
        tick: float = 1.0,
        *,
        settle: float = 0.0,
        wakes: Iterable[asyncio.Event] = (),
        signals: Iterable[Signal] = (),
    ) -> None:
        super().__init__(f"{self.name}-dispatcher", idle=tick, settle=settle, wakes=wakes, signals=signals)
        self.ctx = ctx
        self.owner = owner or f"{process_id()}:{secrets.token_hex(3)}"
        self.tick = tick
        self.leading = False
        self._held_until = 0.0  # loop time until which the lease needs no renewing

    async def teardown(self) -> None:
        await release(self.ctx, self.name, self.owner)

    async def run_pass(self) -> float | None:
        was_leading = self.leading
        self.leading = await self._lead()
        if not self.leading:
            return None
        return await self.lead_pass(takeover=not was_leading)

    async def lead_pass(self, takeover: bool) -> float | None:
        """The work of one pass while leading; ``takeover``: this process has just become the
        leader. Returns seconds until it wants to run again (None: the tick)."""
        raise NotImplementedError

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
