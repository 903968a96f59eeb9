"""Which accounts this process holds, via renewable leases in the database, and one worker each.

A lease is (owner, expiry) on the account row. The supervisor renews its own leases, claims
unowned, expired or orphaned ones up to its share (see :mod:`app.sync.placement`) and gives back
what is above it, so an account is never connected twice, work spreads over the live processes,
and a dead process's accounts are taken over: at once when it provably died on this host,
otherwise once its leases run out. Commands (:mod:`app.services.control`) reach it from any
process."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlmodel import col

from app import events, tasking
from app.models import Account, AccountState
from app.models.base import utcnow
from app.services import control, leases
from app.services.context import Context
from app.services.control import AccountCommand
from app.sync import placement
from app.sync.worker import AccountWorker

log = logging.getLogger(__name__)
#: How often commands are looked for when nothing wakes the supervisor (no Redis, other process).
COMMAND_POLL = 1.0
#: Least time between two looks, so a busy event stream does not turn into a busy loop.
MIN_LOOK = 0.05
#: How often the heartbeat is renewed (it lasts ``placement.heartbeat_ttl``): a process that
#: misses several in a row counts as gone and its accounts are taken over.
HEARTBEAT = 1.0


class Supervisor:
    def __init__(self, ctx: Context, owner: str | None = None) -> None:
        self.ctx = ctx
        # Named after the process (see leases.process_id), so others can tell when it died.
        self.owner = owner or f"{leases.process_id()}:{secrets.token_hex(3)}"
        self.workers: dict[str, AccountWorker] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._target = 0
        self._renewed = -1e9  # loop time of the last lease renewal
        self._seen_workers: set[str] = set()
        self._claiming: asyncio.Future[set[str]] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="supervisor")
        await self._ready.wait()

    async def stop(self) -> None:
        """Stop and hand every account over at once: the others are told to rebalance."""
        await tasking.stop(self._task)
        if self._claiming is not None:
            await asyncio.wait({self._claiming})
        await asyncio.gather(*(w.stop() for w in self.workers.values()), return_exceptions=True)
        self.workers.clear()
        await self._release(None)
        await placement.leave(self.ctx, self.owner)
        await control.send(self.ctx, control.EVERYONE, "rebalance")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        renew_every = self.ctx.settings.lease_seconds / 3
        inbox = control.Inbox(self.ctx)
        await self.reconcile()
        # Joining: the others may hold more than their share now; tell them to look.
        await control.send(self.ctx, control.EVERYONE, "rebalance")
        next_reconcile = loop.time() + renew_every
        self._ready.set()
        next_beat = loop.time() + HEARTBEAT
        while True:
            armed = events.signal.arm()
            if loop.time() >= next_beat:
                next_beat = loop.time() + HEARTBEAT
                if await self._beat():  # a process vanished: its accounts need a home now
                    next_reconcile = 0.0
            if loop.time() >= next_reconcile:
                next_reconcile = loop.time() + renew_every
                try:
                    await self.reconcile()
                except Exception:  # the database may be briefly away; keep owning what we have
                    log.exception("lease renewal failed")
            try:
                # A burst (a thousand registrations) costs one look at the leases, not one each.
                if any([await self._handle(command) for command in await inbox.fetch()]):
                    await self.reconcile()
            except Exception:
                log.exception("reading account commands failed")
            await asyncio.sleep(MIN_LOOK)
            await events.signal.wait(min(COMMAND_POLL, max(0.0, next_reconcile - loop.time())), armed)

    async def _beat(self) -> bool:
        """Renew this process's heartbeat; True when a process seen before is gone."""
        try:
            await placement.beat(self.ctx, self.owner)
            live = await placement.live_workers(self.ctx)
        except Exception:
            log.warning("heartbeat not renewed", exc_info=True)
            return False
        vanished = bool(self._seen_workers - live)
        self._seen_workers = live
        return vanished

    async def claim(self) -> set[str]:
        """Renew this process's leases and take unowned or orphaned accounts up to its share;
        returns the accounts it holds (possibly more than its share: see :meth:`reconcile`).

        The database work finishes even when the caller is cancelled (see tasking.completes),
        and :meth:`stop` waits for it: a claim landing after the hand-over would take back the
        accounts just handed over."""
        self._claiming = asyncio.ensure_future(self._claim())
        return await asyncio.shield(self._claiming)

    async def _claim(self) -> set[str]:
        await placement.beat(self.ctx, self.owner)
        workers = await placement.live_workers(self.ctx) | {self.owner}
        target = placement.share(await placement.account_count(self.ctx), len(workers))
        now = utcnow()
        expires = now + timedelta(seconds=self.ctx.settings.lease_seconds)
        active = col(Account.state) != AccountState.unset.value
        mine = (active, col(Account.owner) == self.owner)
        clock = asyncio.get_running_loop().time()
        async with self.ctx.db.core() as s:
            if clock - self._renewed >= self.ctx.settings.lease_seconds / 6:
                # Renewing writes every lease: done on the timer, not for each burst of commands.
                renewed = await s.execute(
                    update(Account).where(*mine).values(lease_expires=expires).returning(col(Account.id))
                )
                self._renewed = clock
            else:
                renewed = await s.execute(select(col(Account.id)).where(*mine))
            owned = {str(i) for i in renewed.scalars()}
            if len(owned) < target:
                others = await s.execute(
                    select(col(Account.owner)).where(col(Account.owner).is_not(None)).distinct()
                )
                # Owners without a live heartbeat: dead (kill -9, a lost host) or cut off from
                # the database, so unable to sync anyway; their accounts move now, not when
                # their leases lapse.
                dead = [o for o in others.scalars() if o and o not in workers]
                claimable = or_(
                    col(Account.owner).is_(None),
                    col(Account.lease_expires) < now,
                    col(Account.owner).in_(dead),
                )
                wanted = select(col(Account.id)).where(active, claimable).order_by(col(Account.id))
                taken = await s.execute(
                    update(Account)
                    .where(
                        col(Account.id).in_(wanted.limit(target - len(owned)).scalar_subquery()), claimable
                    )
                    .values(owner=self.owner, lease_expires=expires)
                    .returning(col(Account.id))
                )
                owned |= {str(i) for i in taken.scalars()}
            await s.commit()
        self._target = target
        return owned

    async def reconcile(self) -> None:
        owned = await self.claim()
        excess = len(owned) - self._target
        if excess > 0:  # another process joined: give back what is above this one's share
            give_back = set(sorted(owned)[-excess:])
            for account in give_back & set(self.workers):
                await self.workers.pop(account).stop()
            await self._release(give_back)
            owned -= give_back
            await control.send(self.ctx, control.EVERYONE, "rebalance")
        for account in owned - set(self.workers):
            self._start(account)
        for account in set(self.workers) - owned:
            await self.workers.pop(account).stop()
        for account, worker in list(self.workers.items()):
            if not worker.running:  # finished (e.g. IMAP switched off): let reconcile start it again
                self.workers.pop(account)

    @tasking.completes
    async def _release(self, accounts: set[str] | None) -> None:
        """Give up ``accounts`` (all when None) so another process can claim them now."""
        mine = col(Account.owner) == self.owner
        where = mine if accounts is None else (mine & col(Account.id).in_(sorted(accounts)))
        async with self.ctx.db.core() as s:
            await s.execute(update(Account).where(where).values(owner=None, lease_expires=None))
            await s.commit()

    def _start(self, account: str) -> None:
        worker = AccountWorker(self.ctx, account)
        self.workers[account] = worker
        worker.start()

    async def _handle(self, command: AccountCommand) -> bool:
        """Apply a command to the worker it concerns; True when the leases need a look (a new
        account, one this process does not run, or a rebalance)."""
        if command.command == "rebalance":
            return True
        worker = self.workers.get(command.account)
        if command.command == "stop":
            if worker is not None:
                await self.workers.pop(command.account).stop()
            return False
        if worker is None or not worker.running:
            if worker is not None:
                self.workers.pop(command.account)
            return True
        if command.command == "reconnect" and command.created and command.created < worker.started:
            return False  # a new account's start-up, which this worker, started since, is doing
        if command.command in ("reconnect", "changed"):
            worker.reconnect()
        elif command.command == "sync":
            worker.sync_now()
        return False
