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

from sqlalchemy import select
from sqlmodel import col

from app import events, tasking
from app.models import Account, AccountState
from app.models.base import utcnow
from app.runtime.claims import Claimable
from app.runtime.loop import Loop
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


ACCOUNTS = Claimable(Account, col(Account.id), col(Account.owner), col(Account.lease_expires))


class Supervisor(Loop):
    """Holds this process's share of the accounts, with one worker each, and applies commands."""

    def __init__(self, ctx: Context, owner: str | None = None) -> None:
        # A burst of commands (a thousand registrations) costs one look at the leases, not one
        # each: passes are at least MIN_LOOK apart.
        super().__init__("supervisor", idle=COMMAND_POLL, settle=MIN_LOOK, signals=[events.signal])
        self.ctx = ctx
        # Named after the process (see leases.process_id), so others can tell when it died.
        self.owner = owner or f"{leases.process_id()}:{secrets.token_hex(3)}"
        self.workers: dict[str, AccountWorker] = {}
        self._target = 0
        self._renewed = -1e9  # loop time of the last lease renewal
        self._seen_workers: set[str] = set()
        self._claiming: asyncio.Future[set[str]] | None = None
        self._inbox: control.Inbox | None = None
        self._next_reconcile = self._next_beat = 0.0  # loop times

    async def setup(self) -> None:
        """Take this process's share before :meth:`start` returns."""
        clock = asyncio.get_running_loop().time
        self._inbox = control.Inbox(self.ctx)
        await self.reconcile()
        # Joining: the others may hold more than their share now; tell them to look.
        await control.send(self.ctx, control.EVERYONE, "rebalance")
        self._next_reconcile = clock() + self._renew_every
        self._next_beat = clock() + HEARTBEAT

    async def teardown(self) -> None:
        """Hand every account over at once: the others are told to rebalance."""
        if self._claiming is not None:
            await asyncio.wait({self._claiming})
        await asyncio.gather(*(w.stop() for w in self.workers.values()), return_exceptions=True)
        self.workers.clear()
        await self._release(None)
        await placement.leave(self.ctx, self.owner)
        await control.send(self.ctx, control.EVERYONE, "rebalance")

    @property
    def _renew_every(self) -> float:
        return self.ctx.settings.lease_seconds / 3

    async def run_pass(self) -> float:
        clock = asyncio.get_running_loop().time
        if clock() >= self._next_beat:
            self._next_beat = clock() + HEARTBEAT
            if await self._beat():  # a process vanished: its accounts need a home now
                self._next_reconcile = 0.0
        if clock() >= self._next_reconcile:
            self._next_reconcile = clock() + self._renew_every
            try:
                await self.reconcile()
            except Exception:  # the database may be briefly away; keep owning what we have
                log.exception("lease renewal failed")
        assert self._inbox is not None
        try:
            if any([await self._handle(command) for command in await self._inbox.fetch()]):
                await self.reconcile()
        except Exception:
            log.exception("reading account commands failed")
        return max(0.0, min(self._next_reconcile, self._next_beat) - clock())

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
        span = self.ctx.settings.lease_seconds
        active = col(Account.state) != AccountState.unset.value
        clock = asyncio.get_running_loop().time()
        async with self.ctx.db.core() as s:
            if clock - self._renewed >= span / 6:
                # Renewing writes every lease: done on the timer, not for each burst of commands.
                renewed = await ACCOUNTS.renew(s, self.owner, span, active, now=now)
                self._renewed = clock
            else:
                renewed = list(
                    (await s.execute(select(col(Account.id)).where(active, col(Account.owner) == self.owner)))
                    .scalars()
                    .all()
                )
            owned = {str(i) for i in renewed}
            if len(owned) < target:
                others = await s.execute(
                    select(col(Account.owner)).where(col(Account.owner).is_not(None)).distinct()
                )
                # Owners without a live heartbeat: dead (kill -9, a lost host) or cut off from
                # the database, so unable to sync anyway; their accounts move now, not when
                # their leases lapse.
                dead = {o for o in others.scalars() if o and o not in workers}
                taken = await ACCOUNTS.claim(
                    s,
                    self.owner,
                    span,
                    active,
                    limit=target - len(owned),
                    order_by=[col(Account.id)],
                    orphans=dead,
                    now=now,
                )
                owned |= {str(i) for i in taken}
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
        where = [] if accounts is None else [col(Account.id).in_(sorted(accounts))]
        async with self.ctx.db.core() as s:
            await ACCOUNTS.release(s, self.owner, *where)
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
