"""Account connection states: which moves are legal, and the events and errors they record.

The sync supervisor drives these; the API only reads them. Keeping the table here means every
process agrees on what a state means.
"""

from __future__ import annotations

from collections.abc import Collection
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


def _effects(
    current: AccountState | None, new: AccountState, error: dict[str, Any] | None, account: Account
) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The columns a move sets and the events it records. ``current`` None: any state the move
    is legal from, which is only allowed where the effects do not depend on it."""
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
    return values, logged


def transition(
    session: AsyncSession, account: Account, new: AccountState, error: dict[str, Any] | None = None
) -> None:
    """Move ``account`` to ``new`` inside the caller's transaction and record the matching event."""
    current = AccountState(account.state)
    if current == new:
        return
    if not can_transition(current, new):
        raise IllegalTransition(f"{current} -> {new}")
    values, logged = _effects(current, new, error, account)
    for name, value in values.items():
        setattr(account, name, value)
    events.touch(session)  # accountState subscribers hear of every move, not only the logged ones
    for kind, payload in logged:
        events.record(session, kind, account.id, payload)


async def advance(
    session: AsyncSession,
    account: Account,
    new: AccountState,
    leaving: Collection[AccountState],
    error: dict[str, Any] | None = None,
) -> bool:
    """The move :func:`transition` makes, for a caller that knows which state the account is
    leaving (the sync worker, which set it): one conditional UPDATE, no row read and no ORM
    object, with the same columns and events. False, with nothing written, when the account is
    in none of ``leaving`` (a settings change reset it meanwhile): then read it and use
    :func:`transition`. ``account`` names it and gives the login for the event."""
    illegal = [s for s in leaving if s == new or not can_transition(s, new)]
    if illegal or not leaving:
        raise IllegalTransition(f"{illegal or 'nothing'} -> {new}")
    current = next(iter(leaving)) if len(leaving) == 1 else None
    values, logged = _effects(current, new, error, account)
    moved = await session.execute(
        update(Account)
        .where(col(Account.id) == account.id, col(Account.state).in_(list(leaving)))
        .values(**values)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    events.touch(session)
    for kind, payload in logged:
        await events.insert(session, kind, account.id, payload)
    return True


def leading_to(new: AccountState) -> frozenset[AccountState]:
    """Every state a move to ``new`` is legal from (``new`` itself excepted)."""
    return frozenset(s for s in AccountState if s != new and can_transition(s, new))


def _login(account: Account) -> str | None:
    for section in (account.oauth2, account.imap):
        auth = (section or {}).get("auth") or {}
        if auth.get("user"):
            return str(auth["user"])
    return None
