"""Commands to whoever owns an account's connection (reconnect, sync now, settings changed, stop).

The API process and the sync supervisor may live in different tasks or processes; this is the seam
between them. Commands go to every listener registered in this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

Command = Literal["reconnect", "sync", "changed", "stop"]


@dataclass(frozen=True, slots=True)
class AccountCommand:
    account: str
    command: Command


class AccountControl:
    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[AccountCommand]] = set()

    def send(self, account: str, command: Command) -> int:
        """Queue a command for every listener; returns how many received it."""
        cmd = AccountCommand(account, command)
        for queue in self._listeners:
            queue.put_nowait(cmd)
        return len(self._listeners)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[AccountCommand]]:
        queue: asyncio.Queue[AccountCommand] = asyncio.Queue()
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
