"""IMAP command connections for API reads and writes, separate from the sync engine's IDLE/poll
connections so that a long download never delays change detection."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from app.mail.imap import open_session
from app.mail.session import ImapError, MailSession, SessionFactory
from app.mail.wirelog import Sink

#: The protocol log sink for (account, connection name), or None when the account keeps none.
WireFactory = Callable[[str, str], Awaitable[Sink | None]]


@dataclass
class _Slot:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    conn: MailSession | None = None
    settings: dict[str, Any] | None = None  # what ``conn`` logged in with
    used: float = 0.0


class CommandPool:
    """One connection per account, opened on demand, reused while healthy, closed when idle."""

    def __init__(
        self, factory: SessionFactory = open_session, *, timeout: float = 30.0, idle_seconds: float = 300.0
    ) -> None:
        self.factory = factory
        self.timeout = timeout
        self.idle_seconds = idle_seconds
        self._slots: dict[str, _Slot] = {}
        self.wire: WireFactory | None = None

    @asynccontextmanager
    async def use(self, account: str, settings: dict[str, Any]) -> AsyncIterator[MailSession]:
        """Hold the account's connection for one operation; a failure discards it."""
        slot = self._slots.setdefault(account, _Slot())
        async with slot.lock:
            if slot.conn is None or not slot.conn.usable or slot.settings != settings:
                if slot.conn is not None:
                    slot.conn.close()
                slot.conn = None
                wire = await self.wire(account, "command") if self.wire is not None else None
                conn = self.factory(settings, timeout=self.timeout, name=f"{account}/command", wire=wire)
                try:
                    await conn.open()
                except BaseException:
                    conn.close()
                    raise
                slot.conn, slot.settings = conn, settings
            try:
                yield slot.conn
            except ImapError:
                if slot.conn is not None and not slot.conn.usable:
                    slot.conn = None
                raise
            finally:
                slot.used = time.monotonic()

    async def drop(self, account: str) -> None:
        slot = self._slots.pop(account, None)
        if slot is not None and slot.conn is not None:
            async with slot.lock:
                await slot.conn.logout()

    async def close_idle(self) -> None:
        now = time.monotonic()
        for account, slot in list(self._slots.items()):
            if slot.conn is not None and now - slot.used > self.idle_seconds and not slot.lock.locked():
                await self.drop(account)

    async def close(self) -> None:
        await asyncio.gather(*(self.drop(a) for a in list(self._slots)), return_exceptions=True)

    async def reaper(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_seconds))
            with contextlib.suppress(Exception):
                await self.close_idle()
