"""Account connection states: which moves are legal, and the events and errors they record.

The sync supervisor drives these; the API only reads them. Keeping the table here means every
process agrees on what a state means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events
from app.models.account import Account, AccountState
from app.models.base import utcnow

S = AccountState

TRANSITIONS: dict[AccountState, frozenset[AccountState]] = {
    S.init: frozenset({S.connecting, S.disconnected}),
    S.connecting: frozenset(
        {S.syncing, S.connected, S.authentication_error, S.connect_error, S.disconnected}
    ),
    S.syncing: frozenset(
        {S.connected, S.connecting, S.authentication_error, S.connect_error, S.disconnected}
    ),
    S.connected: frozenset(
        {S.syncing, S.connecting, S.authentication_error, S.connect_error, S.disconnected}
    ),
    S.authentication_error: frozenset({S.connecting, S.disconnected}),
    S.connect_error: frozenset({S.connecting, S.disconnected}),
    S.disconnected: frozenset({S.connecting}),
    S.unset: frozenset(),
}

#: Codes that mailbox and message calls answer with (503) while an account is not usable.
UNAVAILABLE_CODES: dict[AccountState, str] = {
    S.init: "NotYetConnected",
    S.connecting: "NotYetConnected",
    S.authentication_error: "AuthenticationFails",
    S.connect_error: "ConnectionError",
    S.disconnected: "ConnectionError",
    S.unset: "NotSyncing",
}


class IllegalTransition(ValueError):
    pass


def initial_state(imap: dict[str, Any] | None, oauth2: dict[str, Any] | None) -> AccountState:
    """``init`` when there is a mailbox to connect to, ``unset`` for send-only accounts."""
    imap_on = imap is not None and not imap.get("disabled")
    oauth_on = oauth2 is not None and oauth2.get("enabled") is not False
    return S.init if imap_on or oauth_on else S.unset


def can_transition(current: AccountState, new: AccountState) -> bool:
    # Settings changes may always reset an account to init or unset.
    return new in (S.init, S.unset) or new in TRANSITIONS[current]


INITIALIZED = {"initialized": True}


def _effects(
    current: AccountState | None,
    new: AccountState,
    error: dict[str, Any] | None,
    account: Account,
    initialized: bool = False,
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The columns a move sets and the events it records. ``current`` None: any state the move
    is legal from, which is only allowed where the effects do not depend on it. ``initialized``:
    the first pass over every folder just ended (accountInitialized)."""
    now = utcnow()
    values: dict[str, Any] = {"state": new, "updated": now}
    logged: list[tuple[str, dict[str, Any]]] = []
    if new in (S.authentication_error, S.connect_error):
        values["last_error"] = error
        logged.append((new.value, {"state": new.value, **(error or {})}))
    elif new == S.disconnected and error is not None:
        values["last_error"] = error
    elif new in (S.syncing, S.connected):
        if current is None:
            raise ValueError(f"a move to {new} depends on the state it leaves")
        if current == S.connecting:
            values["last_error"] = None
            logged.append(("authenticationSuccess", {"user": _login(account)}))
    if new == S.connected:
        values["sync_time"] = now
    if initialized:
        logged.append(("accountInitialized", INITIALIZED))
    return values, logged


def transition(
    session: AsyncSession,
    account: Account,
    new: AccountState,
    error: dict[str, Any] | None = None,
    *,
    initialized: bool = False,
) -> None:
    """Move ``account`` to ``new`` inside the caller's transaction and record the matching events
    (``initialized``: also accountInitialized, the first pass over every folder having ended)."""
    current = AccountState(account.state)
    if current == new:
        return
    if not can_transition(current, new):
        raise IllegalTransition(f"{current} -> {new}")
    values, logged = _effects(current, new, error, account, initialized)
    for name, value in values.items():
        setattr(account, name, value)
    events.touch(session)  # accountState subscribers hear of every move, not only the logged ones
    for kind, payload in logged:
        events.record(session, kind, account.id, payload)


@dataclass(frozen=True, slots=True)
class Move:
    """A move whose start the caller knows (the sync worker set it): see :func:`advance`.
    ``account`` names the account and gives the login for the authenticationSuccess event;
    ``initialized`` adds accountInitialized (the first pass over every folder just ended)."""

    account: Account
    new: AccountState
    leaving: frozenset[AccountState]
    initialized: bool = False


async def advance(session: AsyncSession, moves: Sequence[Move]) -> list[bool]:
    """The moves :func:`transition` makes (without error details), for callers that know which
    state each account is leaving: one conditional UPDATE per kind of move for all the accounts
    making it, no row read and no ORM object, with the same columns and events. An account in
    none of its ``leaving`` states (a settings change reset it meanwhile) is left alone and
    answered False: read it then and use :func:`transition`."""
    kinds: dict[tuple[AccountState, frozenset[AccountState]], list[Move]] = {}
    for move in moves:
        illegal = [s for s in move.leaving if s == move.new or not can_transition(s, move.new)]
        if illegal or not move.leaving:
            raise IllegalTransition(f"{illegal or 'nothing'} -> {move.new}")
        kinds.setdefault((move.new, move.leaving), []).append(move)
    moved: set[str] = set()
    logged: list[dict[str, Any]] = []
    for (new, leaving), same in kinds.items():
        current = next(iter(leaving)) if len(leaving) == 1 else None
        values, _ = _effects(current, new, None, same[0].account)
        named = sorted({m.account.id for m in same})
        done = await session.execute(
            update(Account)
            .where(col(Account.id).in_(named), col(Account.state).in_(list(leaving)))
            .values(**values)
            .returning(col(Account.id))
        )
        ids = set(done.scalars())
        moved |= ids
        for m in (m for m in same if m.account.id in ids):
            for kind, payload in _effects(current, new, None, m.account, m.initialized)[1]:
                logged.append({"type": kind, "account": m.account.id, "payload": payload})
    if moved:
        events.touch(session)  # accountState subscribers hear of every move
    await events.insert_many(session, logged)
    return [m.account.id in moved for m in moves]


def leading_to(new: AccountState) -> frozenset[AccountState]:
    """Every state a move to ``new`` is legal from (``new`` itself excepted)."""
    return frozenset(s for s in AccountState if s != new and can_transition(s, new))


def _login(account: Account) -> str | None:
    for section in (account.oauth2, account.imap):
        auth = (section or {}).get("auth") or {}
        if auth.get("user"):
            return str(auth["user"])
    return None
