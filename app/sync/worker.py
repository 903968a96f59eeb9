"""One account's connections: connect, index, watch, and reconnect with backoff when things fail."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import tasking
from app.mail.imap import AuthenticationFailed, ConnectFailed, ImapConnection, ImapError
from app.models import Account, AccountState, Mailbox
from app.services import credentials
from app.services.context import Context
from app.services.states import IllegalTransition, transition
from app.sync.folder import sync_folder
from app.sync.index import Index

log = logging.getLogger(__name__)
S = AccountState
NOTIFY_SPEC = (
    "(SELECTED (MessageNew MessageExpunge FlagChange)) "
    "(PERSONAL (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))"
)


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter."""

    base: float = 1.0
    cap: float = 300.0
    attempt: int = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return random.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


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
        self.backoff = Backoff(base=ctx.settings.reconnect_base, cap=ctx.settings.reconnect_cap)
        self._task: asyncio.Task[None] | None = None
        self._connections: list[ImapConnection] = []

    # -- control from the supervisor ---------------------------------------------------------------
    def start(self) -> None:
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
        self.signals.inbox.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- the loop ------------------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            account = await self._load()
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
            except (ImapError, OSError) as exc:
                log.info("%s: connection lost: %s", self.account, exc)
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

    async def _set_state(self, state: AccountState, error: dict[str, Any] | None = None) -> None:
        async with self.ctx.db.core() as s:
            row = await s.get(Account, self.account)
            if row is None:
                return
            try:
                transition(s, row, state, error)
            except IllegalTransition:
                log.debug("%s: ignoring %s -> %s", self.account, row.state, state)
                return
            await s.commit()

    async def _open(self, account: Account, name: str) -> ImapConnection:
        cfg = credentials.reveal(account.imap, self.ctx.cipher) or {}
        conn = ImapConnection(cfg, timeout=self.ctx.settings.imap_timeout, name=f"{self.account}/{name}")
        self._connections.append(conn)
        await conn.open()
        return conn

    async def _session(self, account: Account) -> None:
        await self._set_state(S.connecting)
        watcher = await self._open(account, "idle")
        first_time = AccountState(account.state) in (S.init, S.connecting) and account.sync_time is None
        await self._set_state(S.syncing)
        boxes = await self._list(watcher, account)
        notify_from = account.notify_from
        inbox = next((b for b in boxes if b.path == "INBOX"), None)
        # INBOX first, so the folder people look at is ready first.
        for box in sorted(boxes, key=lambda b: b.path != "INBOX"):
            await sync_folder(watcher, self.index, box, notify_from)
        await self._set_state(S.connected)
        await self.index.mark_initialized(first_time)
        self.backoff.reset()
        # Real time for every folder: NOTIFY reports changes elsewhere while INBOX is IDLE;
        # the STATUS poll stays as the safety net (and the only way on servers without NOTIFY).
        watcher.on_notify = lambda _lines: self.signals.sync.set()
        with contextlib.suppress(ImapError):
            await watcher.notify(NOTIFY_SPEC)
        poller = await self._open(account, "poll")
        tasks = [
            asyncio.create_task(self._watch_inbox(watcher, inbox, notify_from)),
            asyncio.create_task(self._poll_folders(poller, account, notify_from)),
            asyncio.create_task(self.signals.reconnect.wait()),
        ]
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
        await self._set_state(S.connecting)

    async def _list(self, conn: ImapConnection, account: Account) -> list[Mailbox]:
        listed = [e for e in await conn.list_folders() if "\\NOSELECT" not in {f.upper() for f in e.flags}]
        return await self.index.apply_list(listed, account.path)

    async def _watch_inbox(self, conn: ImapConnection, inbox: Mailbox | None, notify_from: datetime) -> None:
        if inbox is None:
            await asyncio.Event().wait()
            return
        box = inbox
        while True:
            current = await self.index.mailbox(box.id) if box.id is not None else None
            if current is None:  # INBOX vanished from the index: the LIST poll will notice
                await asyncio.Event().wait()
                return
            box = await sync_folder(conn, self.index, current, notify_from)  # leaves INBOX selected
            await conn.idle(self.signals.inbox)
            self.signals.inbox.clear()

    async def _poll_folders(self, conn: ImapConnection, account: Account, notify_from: datetime) -> None:
        interval = self.ctx.settings.poll_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.signals.sync.wait(), interval)
            self.signals.sync.clear()
            boxes = await self._list(conn, account)
            for box in boxes:
                if box.path == "INBOX":
                    continue
                if not box.initialized or await self._changed(conn, box):
                    await sync_folder(conn, self.index, box, notify_from)
                    await conn.unselect()

    async def _changed(self, conn: ImapConnection, box: Mailbox) -> bool:
        status = await conn.status(box.path)
        if status.get("UIDVALIDITY") != box.uid_validity or status.get("UIDNEXT") != box.uid_next:
            return True
        if "HIGHESTMODSEQ" in status and box.synced_modseq is not None:
            return status["HIGHESTMODSEQ"] != box.synced_modseq
        return status.get("MESSAGES") != box.messages or status.get("UNSEEN") != box.unseen
