"""Accounts spread over the live sync processes, move when one joins or leaves, and commands
reach the process holding an account from any other (here: other service contexts on the same
database, each standing for a process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from app.models import Account
from app.schemas.accounts import AccountCreate
from app.services import accounts, control
from app.services.context import Context
from app.services.principal import OPERATOR
from app.sync.supervisor import Supervisor
from tests.integration.conftest import Live, wait_until
from tests.servers.fixtures import ImapUser

N = 24


@pytest.fixture
async def contexts(live: Live) -> AsyncIterator[list[Context]]:
    """Three more "processes" on the database of ``live`` (whose own supervisor is stopped);
    leases are long, so only a hand-over (not an expiry) explains accounts moving quickly."""
    await live.supervisor.stop()
    settings = replace(live.ctx.settings, lease_seconds=120.0, reconnect_cap=300)
    made = [Context.from_settings(settings) for _ in range(3)]
    try:
        yield made
    finally:
        for ctx in made:
            await ctx.close()


async def owners(ctx: Context) -> dict[str | None, int]:
    async with ctx.db.core() as s:
        rows = await s.execute(select(col(Account.owner), func.count()).group_by(col(Account.owner)))
        return {owner: int(n) for owner, n in rows.all()}


LAST: dict[str | None, int] = {}


async def spread(ctx: Context, supervisors: list[Supervisor]) -> bool:
    found = await owners(ctx)
    LAST.clear()
    LAST.update(found)
    counts = [found.get(s.owner, 0) for s in supervisors]
    return sum(counts) == N and max(counts) - min(counts) <= 1


async def register_unreachable(ctx: Context, n: int) -> None:
    """Accounts whose server is a closed port: their workers retry, which is all placement needs."""
    for i in range(n):
        data = AccountCreate.model_validate(
            {"account": f"p{i:02}", "name": "P", "imap": {"host": "127.0.0.1", "port": 9, "secure": False}}
        )
        await accounts.register(ctx, OPERATOR, data)


async def test_accounts_spread_and_move_when_processes_join_and_leave(contexts: list[Context]) -> None:
    a, b, c = (Supervisor(ctx) for ctx in contexts)
    await register_unreachable(contexts[0], N)
    await a.start()
    try:
        await wait_until(
            lambda: spread(contexts[0], [a]),
            20,
            lambda: f"the first process never took every account: {LAST}",
        )
        await b.start()
        await wait_until(lambda: spread(contexts[0], [a, b]), 20, lambda: f"not spread over two: {LAST}")
        await c.start()
        await wait_until(lambda: spread(contexts[0], [a, b, c]), 20, lambda: f"not spread over three: {LAST}")
        assert len(a.workers) + len(b.workers) + len(c.workers) == N  # no account connected twice
        await b.stop()  # graceful: its accounts go to the others at once, not after 120 s
        await wait_until(
            lambda: spread(contexts[0], [a, c]), 20, lambda: f"b's accounts were not taken over: {LAST}"
        )
    finally:
        for s in (a, b, c):
            await s.stop()


async def test_a_credentials_change_reaches_the_worker_in_another_process(
    live: Live, contexts: list[Context], dovecot_user: ImapUser
) -> None:
    """An API process (no supervisor) changes a password; the worker process holding the
    account reconnects with it at once instead of after its 300 s back-off."""
    api, worker_ctx = contexts[0], contexts[1]
    worker = Supervisor(worker_ctx)
    await worker.start()
    try:
        bad = live.imap_settings(dovecot_user, auth={"user": dovecot_user.email, "pass": "wrong"})
        await accounts.register(
            api, OPERATOR, AccountCreate.model_validate({"account": "x", "name": "X", "imap": bad})
        )
        await live.wait_state("x", "authenticationError", timeout=30)
        good = {
            "imap": {"partial": True, "auth": {"user": dovecot_user.email, "pass": dovecot_user.password}}
        }
        r = await live.client.put("/v1/account/x", json=good, headers=live.headers)
        assert r.status_code == 200
        await live.wait_state("x", "connected", timeout=30)
        await control.send(api, "x", "stop")
        await wait_until(lambda: _stopped(worker, "x"), 20, "stop did not reach the worker")
    finally:
        await worker.stop()


async def _stopped(supervisor: Supervisor, account: str) -> bool:
    return account not in supervisor.workers
