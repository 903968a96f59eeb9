"""The change log: an event row written in the same transaction as the change that caused it,
and a process-wide signal that wakes its readers (webhook dispatcher, SSE streams, GraphQL
subscriptions) after commit; relays (``app.eventbus``) carry the wake-up to other processes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import SimpleNamespace
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
    "trackOpen",
    "trackClick",
    "listUnsubscribe",
)
_WROTE = "mailgate_wrote_events"


def record(
    session: AsyncSession, type: str, account: str | None, payload: dict[str, Any], path: str | None = None
) -> Event:
    """Add the event to the caller's transaction; it exists only if the change commits."""
    event = Event(type=type, account=account, path=path, payload=payload)
    session.add(event)
    session.info.setdefault(_WROTE, []).append(event)
    return event


async def insert(
    session: AsyncSession, type: str, account: str | None, payload: dict[str, Any], path: str | None = None
) -> None:
    """Like :func:`record`, as one Core INSERT: for hot paths that write no ORM objects."""
    values = {"type": type, "account": account, "path": path, "payload": payload, "created": utcnow()}
    result = await session.execute(
        sa_insert(Event.__table__).returning(Event.__table__.c.id),  # type: ignore[attr-defined]
        values,
    )
    session.info.setdefault(_WROTE, []).append(SimpleNamespace(id=result.scalar_one()))


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Like :func:`insert` for several events (``type``, ``account``, ``payload``, ``path``
    keys), in one statement."""
    if not rows:
        return
    now = utcnow()
    values = [{"path": None, **row, "created": now} for row in rows]
    result = await session.execute(
        sa_insert(Event.__table__).returning(Event.__table__.c.id),  # type: ignore[attr-defined]
        values,
    )
    session.info.setdefault(_WROTE, []).extend(SimpleNamespace(id=i) for i in result.scalars())


def touch(session: AsyncSession) -> None:
    """Wake readers when this transaction commits although it wrote no event row (an account's
    connection state changed: ``accountState`` subscribers watch the row itself)."""
    session.info.setdefault(_WROTE, [])


class EventSignal:
    """Readers wait here instead of polling the table in a tight loop. Other processes' writes
    are not seen by it, so readers also re-check on a timeout."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        #: Called with the newest event id (if known) after a commit in this process.
        self.relays: list[Callable[[int | None], None]] = []

    def fire(self, latest: int | None = None, *, local: bool = True) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        if local:
            for relay in self.relays:
                relay(latest)

    def arm(self) -> asyncio.Future[None]:
        """A waiter registered now: arm before reading, then ``wait(…, armed)``, and a commit
        that lands between the read and the wait is not slept through."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        return waiter

    def disarm(self, waiter: asyncio.Future[None]) -> None:
        self._waiters.discard(waiter)

    async def wait(self, timeout: float, armed: asyncio.Future[None] | None = None) -> None:
        waiter = armed if armed is not None else self.arm()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiters.discard(waiter)


signal = EventSignal()


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    written = session.info.pop(_WROTE, None)
    if written is not None:
        # __dict__, not the attribute: no refresh may run inside this hook.
        ids = [e.__dict__.get("id") for e in written]
        signal.fire(max((i for i in ids if i is not None), default=None))


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WROTE, None)
