"""One account's connections: connect, index, watch, and reconnect with backoff when things fail."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app import metrics, tasking
from app.index.store import Index
from app.mail import specialuse
from app.mail.session import (
    WATCH_RESTART,
    AuthenticationFailed,
    Change,
    ConnectFailed,
    FolderStatus,
    ImapError,
    MailSession,
)
from app.models import Account, AccountState, Mailbox
from app.models.base import utcnow
from app.runtime import backoff as retry
from app.services import account_options, flush, mail_settings, protocol_logs
from app.services.context import Context
from app.services.folder_sync import apply_changes, first_pass, status_shows_change, sync_folder
from app.services.mail_settings import TokenUnavailable
from app.services.states import IllegalTransition, Move, leading_to, transition

log = logging.getLogger(__name__)
S = AccountState
STATUS_SWEEP = 2.0  # seconds between STATUS checks of unwatched folders on servers without NOTIFY
MAX_SUBCONNECTIONS = 20  # IDLE connections per account besides INBOX's (servers cap connections)
TO_CONNECTING = leading_to(S.connecting)


@dataclass
class Signals:
    reconnect: asyncio.Event = field(default_factory=asyncio.Event)
    sync: asyncio.Event = field(default_factory=asyncio.Event)
    inbox: asyncio.Event = field(default_factory=asyncio.Event)


class AccountWorker:
    def __init__(self, ctx: Context, account: str) -> None:
        self.ctx = ctx
        self.account = account
        self.index = Index(ctx.db, account, ctx.index_changed)
        self.signals = Signals()
        self.backoff = retry.Backoff(retry.reconnects(ctx.settings))
        self._task: asyncio.Task[None] | None = None
        self._connections: list[MailSession] = []
        self._wakes: list[asyncio.Event] = [self.signals.inbox]

    # -- control from the supervisor ---------------------------------------------------------------
    def start(self) -> None:
        #: When this worker began: it reads the account's settings after that.
        self.started = utcnow()
        self._task = asyncio.create_task(self._run(), name=f"account:{self.account}")

    async def stop(self) -> None:
        await tasking.stop(self._task)
        for conn in self._connections:
            conn.close()

    def reconnect(self) -> None:
        self.backoff.reset()
        self.signals.reconnect.set()

    def sync_now(self) -> None:
        self.signals.sync.set()
        for wake in self._wakes:
            wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- the loop ------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            account = await self._load()
            if account is not None and flush.pending(account):  # between sessions: no sync in flight
                account = await flush.perform(self.ctx, self.account)
            if account is None or not account.has_imap:
                return
            self.signals.reconnect.clear()
            delay: float | None
            try:
                await self._session(account)
                delay = 0.0
            except AuthenticationFailed as exc:
                await self._set_state(S.authentication_error, {
                    "response": exc.response or str(exc), "serverResponseCode": "AUTHENTICATIONFAILED",
                })  # fmt: skip
                delay = self.ctx.settings.reconnect_cap  # retrying a bad password fast helps nobody
            except ConnectFailed as exc:
                await self._set_state(S.connect_error, {"response": str(exc), "code": exc.code})
                delay = self.backoff.next()
            except TokenUnavailable as exc:  # an OAuth2 refresh failed: new tokens bring it back
                if exc.permanent:
                    await self._set_state(S.authentication_error, {"response": str(exc), **exc.details})
                    delay = self.ctx.settings.reconnect_cap
                else:
                    await self._set_state(S.connect_error, {"response": str(exc), "code": "EOAUTH2"})
                    delay = self.backoff.next()
            except SQLAlchemyError as exc:  # the database is away or busy: try again later
                log.warning("%s: database error, reconnecting later: %s", self.account, exc)
                delay = self.backoff.next()
            except (ImapError, OSError) as exc:
                log.info("%s: connection lost: %s", self.account, exc)
                metrics.IMAP_RECONNECTS.inc()
                await self._set_state(S.disconnected, {"response": str(exc), "code": "ECONNECTION"})
                delay = self.backoff.next()
            finally:
                for conn in self._connections:
                    conn.close()
                self._connections.clear()
            if delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.signals.reconnect.wait(), delay)

    async def _load(self) -> Account | None:
        async with self.ctx.db.session() as s:
            return await s.get(Account, self.account)

    @tasking.completes
    async def _set_state(
        self, state: AccountState, error: dict[str, Any] | None = None, *, initialized: bool = False
    ) -> None:
        """``initialized``: every folder has just been indexed for the first time; the
        accountInitialized event goes in the same transaction as the state."""
        async with self.ctx.db.writer() as s:
            row = await s.get(Account, self.account)
            if row is None:
                return
            try:
                transition(s, row, state, error, initialized=initialized)
            except IllegalTransition:
                log.debug("%s: ignoring %s -> %s", self.account, row.state, state)
                return
            await s.commit()

    async def _move(
        self,
        account: Account,
        state: AccountState,
        leaving: frozenset[AccountState],
        *,
        initialized: bool = False,
    ) -> None:
        """A move whose start this worker knows (it set it), written with the other workers'
        moves of the moment (see ``Context.state_moves``). An account a settings change moved
        meanwhile takes the general path, and that decides."""
        if not await self.ctx.state_moves(Move(account, state, leaving, initialized)):
            await self._set_state(state, initialized=initialized)

    async def _open(self, account: Account, name: str) -> MailSession:
        cfg = await mail_settings.imap(self.ctx, account)
        wire = await protocol_logs.wire(self.ctx, self.account, name, account)
        try:
            return await self._connect(cfg, name, wire)
        except AuthenticationFailed:
            if not mail_settings.uses_oauth(account):
                raise
        # An OAuth2 token can be revoked or expire early: refresh it once and try again.
        cfg = await mail_settings.imap(self.ctx, account, rejected=mail_settings.token_of(cfg))
        return await self._connect(cfg, name, wire)

    async def _connect(self, cfg: dict[str, Any], name: str, wire: Any) -> MailSession:
        conn = self.ctx.sessions(
            cfg, timeout=self.ctx.settings.imap_timeout, name=f"{self.account}/{name}", wire=wire
        )
        self._connections.append(conn)
        async with self.ctx.login_slot(cfg):
            await conn.open()
        return conn

    async def _session(self, account: Account) -> None:
        await self._move(account, S.connecting, TO_CONNECTING)
        watcher = await self._open(account, "idle")
        mismatch = account_options.identity_mismatch(account)
        if mismatch is not None:  # expectedEmail: logged in, but to another mailbox than meant
            raise AuthenticationFailed(mismatch, response=mismatch)
        first_time = AccountState(account.state) in (S.init, S.connecting) and account.sync_time is None
        await self._move(account, S.syncing, frozenset({S.connecting}))
        boxes, statuses = await self._list(watcher, account)
        notify_from = account.notify_from
        async with self.ctx.sync_slots:
            boxes = await first_pass(watcher, self.index, boxes, statuses, notify_from)
        await self._move(account, S.connected, frozenset({S.syncing}), initialized=first_time)
        self.backoff.reset()
        # Real time for every folder: NOTIFY reports changes elsewhere while INBOX is IDLE. Without
        # NOTIFY, the folders named in ``subconnections`` get IDLE on connections of their own and
        # the rest a quick STATUS sweep; the LIST poll stays as the safety net either way.
        notifying = False
        with contextlib.suppress(ImapError):
            notifying = await watcher.watch_folders(lambda _change: self.signals.sync.set())
        by_path = {b.path: b for b in boxes}
        watched = {"INBOX": self.signals.inbox}
        for path in account.subconnections or []:
            if path in by_path and path not in watched and len(watched) <= MAX_SUBCONNECTIONS:
                watched[path] = asyncio.Event()
        self._wakes = list(watched.values())
        tasks = [
            asyncio.create_task(self._poll_folders(account, notify_from, set(watched), notifying)),
            asyncio.create_task(self.signals.reconnect.wait()),
        ]
        for path, wake in watched.items():
            conn = watcher if path == "INBOX" else await self._open(account, f"sub:{path}")
            tasks.append(asyncio.create_task(self._watch(conn, by_path.get(path), wake, notify_from)))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        # Asked to reconnect: go round again at once.
        await self._move(account, S.connecting, TO_CONNECTING)

    async def _list(
        self, conn: MailSession, account: Account
    ) -> tuple[list[Mailbox], dict[str, FolderStatus]]:
        """The folders, and their counters where the server gives them with the listing."""
        entries, statuses = await conn.list_with_status()
        listed = [e for e in entries if "\\NOSELECT" not in {f.upper() for f in e.flags}]
        boxes = await self.index.apply_list(listed, account.path, specialuse.overrides(account.imap))
        return boxes, statuses

    async def _watch(
        self, conn: MailSession, box: Mailbox | None, wake: asyncio.Event, notify_from: datetime
    ) -> None:
        """Keep one folder selected and IDLE on it: its changes are seen as the server pushes them.

        What the server pushed is applied as told (new mail fetched, flags and expunges by UID),
        with no new SELECT; the folder is read again in full only when the pushes cannot be
        mapped safely, or when woken (``sync_now``) or the watch expired."""
        current = box  # as the session's first pass left it moments ago
        changes: list[Change] = []
        while True:
            if current is None:  # the folder vanished from the index: the LIST poll will notice
                await asyncio.Event().wait()
                return
            applied = await apply_changes(conn, self.index, current, changes, notify_from)
            box = applied or await sync_folder(conn, self.index, current, notify_from)  # leaves it selected
            changes = await conn.watch(wake, WATCH_RESTART)
            if wake.is_set():  # asked for a full pass: pushes alone are not enough then
                changes = []
            wake.clear()
            current = await self.index.mailbox(box.id) if box.id is not None else None

    async def _poll_folders(
        self,
        account: Account,
        notify_from: datetime,
        watched: set[str],
        notifying: bool,
    ) -> None:
        """LIST every ``poll_interval``; between LISTs, without NOTIFY, STATUS every folder that has
        no IDLE connection of its own each ``STATUS_SWEEP`` seconds (or longer, so that sweeping
        never takes more than half the connection's time). STATUS shows no flag changes without
        CONDSTORE, so then each such folder's flags are also compared every ``imap.resyncDelay``
        seconds (default ``poll_interval``).

        Its connection is opened when first needed, not with the session: with NOTIFY that is a
        LIST poll later, and a thousand accounts starting at once log in half as often."""
        conn: MailSession | None = None
        list_every = self.ctx.settings.poll_interval
        resync_every = float((account.imap or {}).get("resyncDelay") or list_every)
        boxes: list[Mailbox] = []
        listed_at, resynced_at = -math.inf, time.monotonic()  # the session has just synced everything
        pause = list_every if notifying else min(list_every, STATUS_SWEEP)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.signals.sync.wait(), pause)
            woken = self.signals.sync.is_set()
            self.signals.sync.clear()
            started = time.monotonic()
            if conn is None:
                conn = await self._open(account, "poll")
            statuses: dict[str, FolderStatus] = {}  # counters the listing gave (LIST-STATUS)
            if woken or started - listed_at >= list_every:
                (boxes, statuses), listed_at = await self._list(conn, account), started
            resync = "CONDSTORE" not in conn.capabilities and started - resynced_at >= resync_every
            for box in boxes:
                if box.path in watched:
                    continue
                current = await self.index.mailbox(box.id) if box.id is not None else None
                if current is None:
                    continue
                changed = resync or not current.initialized
                if not changed:
                    status = statuses.get(current.path) or await conn.status(current.path)
                    changed = status_shows_change(current, status)
                if changed:
                    await sync_folder(conn, self.index, current, notify_from)
                    await conn.unselect()
            if resync:
                resynced_at = started
            if notifying:
                pause = list_every
            else:
                pause = min(list_every, max(STATUS_SWEEP, time.monotonic() - started))
            pause = max(0.0, min(pause, listed_at + list_every - time.monotonic()))
