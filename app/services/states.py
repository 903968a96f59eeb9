"""Account connection states: which moves are legal, and the events and errors they record.

The sync supervisor drives these; the API only reads them. Keeping the table here means every
process agrees on what a state means.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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


def transition(
    session: AsyncSession, account: Account, new: AccountState, error: dict[str, Any] | None = None
) -> None:
    """Move ``account`` to ``new`` inside the caller's transaction and record the matching event."""
    current = AccountState(account.state)
    if current == new:
        return
    if not can_transition(current, new):
        raise IllegalTransition(f"{current} -> {new}")
    account.state = new
    account.updated = utcnow()
    events.touch(session)  # accountState subscribers hear of every move, not only the logged ones
    if new in (S.authentication_error, S.connect_error):
        account.last_error = error
        events.record(session, new.value, account.id, {"state": new.value, **(error or {})})
    elif new == S.disconnected and error is not None:
        account.last_error = error
    elif new in (S.syncing, S.connected) and current == S.connecting:
        account.last_error = None
        events.record(session, "authenticationSuccess", account.id, {"user": _login(account)})
    if new == S.connected:
        account.sync_time = utcnow()


def _login(account: Account) -> str | None:
    for section in (account.oauth2, account.imap):
        auth = (section or {}).get("auth") or {}
        if auth.get("user"):
            return str(auth["user"])
    return None
