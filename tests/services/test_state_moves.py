"""``advance`` (one conditional UPDATE, for the sync worker) leaves an account exactly as
``transition`` (read, change, flush) does: same columns, same events."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from app.models import Account, AccountState, Event
from app.services.context import Context
from app.services.states import (
    TRANSITIONS,
    IllegalTransition,
    advance,
    leading_to,
    transition,
)

S = AccountState
MOVES = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
ERROR = {"response": "NO [AUTHENTICATIONFAILED] Bad login", "code": "EAUTH"}


async def _account(ctx: Context, account_id: str, state: AccountState) -> Account:
    async with ctx.db.session() as s:
        row = Account(
            id=account_id, name="A", state=state, imap={"auth": {"user": "u@example.com"}},
            last_error={"response": "earlier"},
        )  # fmt: skip
        s.add(row)
        await s.commit()
        await s.refresh(row)
        return row


async def _after(ctx: Context, account_id: str) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    async with ctx.db.core() as s:
        row = await s.get(Account, account_id)
        assert row is not None
        query = select(Event).where(col(Event.account) == account_id).order_by(col(Event.id))
        logged = (await s.execute(query)).scalars()
        seen = {"state": row.state, "last_error": row.last_error, "synced": row.sync_time is not None}
        return seen, [(e.type, e.payload) for e in logged]


@pytest.mark.parametrize(("current", "new"), MOVES)
async def test_the_same_move_both_ways(ctx: Context, current: AccountState, new: AccountState) -> None:
    error = ERROR if new in (S.authentication_error, S.connect_error, S.disconnected) else None
    slow = await _account(ctx, "slow", current)
    async with ctx.db.session() as s:
        row = await s.get(Account, "slow")
        assert row is not None
        transition(s, row, new, error)
        await s.commit()
    fast = await _account(ctx, "fast", current)
    async with ctx.db.writer() as s:
        assert await advance(s, fast, new, {current}, error)
        await s.commit()
    assert slow.state == current  # the objects passed in are not what is compared
    assert await _after(ctx, "fast") == await _after(ctx, "slow")


async def test_an_account_moved_meanwhile_is_left_alone(ctx: Context) -> None:
    account = await _account(ctx, "a", S.init)  # a settings change reset it
    async with ctx.db.writer() as s:
        assert not await advance(s, account, S.syncing, {S.connecting})
        await s.commit()
    assert await _after(ctx, "a") == (
        {"state": S.init, "last_error": {"response": "earlier"}, "synced": False},
        [],
    )


async def test_from_any_state_only_where_the_start_does_not_matter(ctx: Context) -> None:
    account = await _account(ctx, "a", S.connected)
    async with ctx.db.writer() as s:
        assert await advance(s, account, S.connecting, leading_to(S.connecting))
        with pytest.raises(ValueError, match="depends on the state it leaves"):
            await advance(s, account, S.syncing, {S.connecting, S.connected})
        with pytest.raises(IllegalTransition):
            await advance(s, account, S.connected, {S.disconnected})
