"""The change log: an event row written in the same transaction as the change that caused it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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


def record(
    session: AsyncSession, type: str, account: str | None, payload: dict[str, Any], path: str | None = None
) -> Event:
    """Add the event to the caller's transaction; it exists only if the change commits."""
    event = Event(type=type, account=account, path=path, payload=payload)
    session.add(event)
    return event
