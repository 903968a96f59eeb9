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
    Move,
    advance,
    leading_to,
    transition,
)

S = AccountState
# Moves with error details (to authenticationError, connectError) always take the general path.
MOVES = [
    (a, b)
    for a, targets in TRANSITIONS.items()
    for b in targets
    if b not in (S.authentication_error, S.connect_error)
]


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
    slow = await _account(ctx, "slow", current)
    async with ctx.db.session() as s:
        row = await s.get(Account, "slow")
        assert row is not None
        transition(s, row, new)
        await s.commit()
    fast = await _account(ctx, "fast", current)
    async with ctx.db.writer() as s:
        assert await advance(s, [Move(fast, new, frozenset({current}))]) == [True]
        await s.commit()
    assert slow.state == current  # the objects passed in are not what is compared
    assert await _after(ctx, "fast") == await _after(ctx, "slow")


async def test_an_account_moved_meanwhile_is_left_alone(ctx: Context) -> None:
    account = await _account(ctx, "a", S.init)  # a settings change reset it
    async with ctx.db.writer() as s:
        assert await advance(s, [Move(account, S.syncing, frozenset({S.connecting}))]) == [False]
        await s.commit()
    assert await _after(ctx, "a") == (
        {"state": S.init, "last_error": {"response": "earlier"}, "synced": False},
        [],
    )


async def test_from_any_state_only_where_the_start_does_not_matter(ctx: Context) -> None:
    account = await _account(ctx, "a", S.connected)
    async with ctx.db.writer() as s:
        assert await advance(s, [Move(account, S.connecting, leading_to(S.connecting))]) == [True]
        with pytest.raises(ValueError, match="depends on the state it leaves"):
            await advance(s, [Move(account, S.syncing, frozenset({S.connecting, S.connected}))])
        with pytest.raises(IllegalTransition):
            await advance(s, [Move(account, S.connected, frozenset({S.disconnected}))])


async def test_many_accounts_in_one_batch(ctx: Context) -> None:
    """Each account gets its own answer, events and initialized flag, whatever the others do."""
    accounts = [await _account(ctx, f"a{i}", S.connecting if i % 3 else S.init) for i in range(9)]
    moves = [Move(a, S.syncing, frozenset({S.connecting})) for a in accounts[:6]]
    moves += [Move(a, S.connected, frozenset({S.syncing}), initialized=True) for a in accounts[6:]]
    async with ctx.db.writer() as s:
        answers = await advance(s, moves)
        await s.commit()
    assert answers == [False, True, True, False, True, True, False, False, False]
    state, logged = await _after(ctx, "a1")
    assert state["state"] == S.syncing and state["last_error"] is None
    assert logged == [("authenticationSuccess", {"user": "u@example.com"})]
    assert await _after(ctx, "a0") == (
        {"state": S.init, "last_error": {"response": "earlier"}, "synced": False},
        [],
    )
    async with ctx.db.writer() as s:  # and on to connected, the first pass done
        assert await advance(
            s, [Move(accounts[1], S.connected, frozenset({S.syncing}), initialized=True)]
        ) == [True]
        await s.commit()
    state, logged = await _after(ctx, "a1")
    assert state["synced"] and [kind for kind, _ in logged] == ["authenticationSuccess", "accountInitialized"]
