"""A burst of accounts logs in to one mail server a few at a time, and other servers do not wait."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.mail.memory import MemoryServer
from app.mail.memorysession import MemorySession
from app.models import Account, AccountState
from app.services.context import LOGINS_PER_SERVER, Context
from app.sync.worker import AccountWorker

BURST = LOGINS_PER_SERVER + 8


@pytest.fixture
def backend() -> str:
    return "sqlite"


class HeldLogins:
    """A session factory whose logins wait at a gate, counting how many are in at once per host."""

    def __init__(self) -> None:
        self.server = MemoryServer()
        self.gate = asyncio.Event()
        self.made: dict[str, int] = {}
        self.inside: dict[str, int] = {}

    def __call__(self, settings: dict[str, Any], **options: Any) -> MemorySession:
        session = self.server(settings, **options)
        host = str(settings["host"])
        self.made[host] = self.made.get(host, 0) + 1
        login = session.open

        async def held() -> None:
            self.inside[host] = self.inside.get(host, 0) + 1
            try:
                await self.gate.wait()
                await login()
            finally:
                self.inside[host] -= 1

        session.open = held  # type: ignore[method-assign]
        return session


async def test_logins_to_one_server_take_turns(ctx: Context) -> None:
    factory = HeldLogins()
    fake = replace(ctx, sessions=factory)
    accounts = [(f"a{i}", "busy.example") for i in range(BURST)] + [("other", "quiet.example")]
    async with fake.db.core() as s:
        for account, host in accounts:
            s.add(Account(id=account, name=account, imap={"host": host, "port": 143, "auth": {"user": "u"}}))
        await s.commit()
    workers = [AccountWorker(fake, account) for account, _ in accounts]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 30
        # Every worker has a session and wants to log in; the other server's login is not held up.
        while factory.made.get("busy.example") != BURST or factory.inside.get("quiet.example") != 1:
            assert time.monotonic() < deadline, (factory.made, factory.inside)
            await asyncio.sleep(0.01)
        for _ in range(20):  # room for any login that is not waiting for its turn to start
            await asyncio.sleep(0)
        assert factory.inside["busy.example"] == LOGINS_PER_SERVER
        factory.gate.set()

        async def connected() -> int:
            async with fake.db.core() as s:
                query = select(func.count()).where(col(Account.state) == AccountState.connected.value)
                return int((await s.execute(query)).scalar_one())

        while await connected() != len(accounts):
            assert time.monotonic() < deadline, await connected()
            await asyncio.sleep(0.02)
    finally:
        await asyncio.gather(*(worker.stop() for worker in workers))
        await fake.imap.close()
