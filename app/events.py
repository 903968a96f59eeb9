"""The change log: an event row written in the same transaction as the change that caused it,
and a process-wide signal that wakes its readers (webhook dispatcher, SSE streams) after commit."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert as sa_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.event import Event

EVENT_TYPES = (
    "accountAdded",
    "accountInitialized",
    "accountDeleted",
    "authenticationError",
    "authenticationSuccess",
    "connectError",
    "mailboxNew",
    "mailboxDeleted",
    "mailboxReset",
    "messageNew",
    "messageUpdated",
    "messageDeleted",
    "messageSent",
    "messageDeliveryError",
    "messageFailed",
)
_WROTE = "mailgate_wrote_events"


def record(
    session: AsyncSession, type: str, account: str | None, payload: dict[str, Any], path: str | None = None
) -> Event:
    """Add the event to the caller's transaction; it exists only if the change commits."""
    event = Event(type=type, account=account, path=path, payload=payload)
    session.add(event)
    session.info[_WROTE] = True
    return event


async def insert(
    session: AsyncSession, type: str, account: str | None, payload: dict[str, Any], path: str | None = None
) -> None:
    """Like :func:`record`, as one Core INSERT: for hot paths that write no ORM objects."""
    values = {"type": type, "account": account, "path": path, "payload": payload, "created": utcnow()}
    await session.execute(sa_insert(Event.__table__), values)  # type: ignore[attr-defined]
    session.info[_WROTE] = True


class EventSignal:
    """Readers wait here instead of polling the table in a tight loop. Other processes' writes
    are not seen by it, so readers also re-check on a timeout."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def fire(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, timeout: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiters.discard(waiter)


signal = EventSignal()


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        signal.fire()
