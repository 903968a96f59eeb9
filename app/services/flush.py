"""Flushing an account's index (PUT /v1/account/{account}/flush): forget every indexed message
and rebuild the index from the server.

The request only marks the account and asks its worker to reconnect; the worker performs the
flush at the start of its next session, when none of its own syncs can still be writing. A flush
done from the API side could race a sync in flight that writes back the old cursors, leaving a
folder marked complete with no messages in it.

Events: none. Messages are not announced as deleted, mailboxes are kept (their ids and paths stay
the same) and only their cursors are reset, and ``notifyFrom`` (default: the time of the request)
keeps the re-indexed mail from being announced as ``messageNew``. Message ids derive from
UIDVALIDITY and UID, so they come back unchanged unless the server's UIDVALIDITY changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlmodel import col

from app.models import Account, Mailbox, Message
from app.models.base import utcnow
from app.services import control
from app.services.context import Context
from app.services.errors import AccountNotFound
from app.services.principal import Principal

#: Where the pending flush waits in ``Account.options``: {"notifyFrom": ISO time}.
PENDING = "flushPending"


async def request(ctx: Context, principal: Principal, account_id: str, notify_from: datetime | None) -> None:
    principal.require_account(account_id)
    when = (notify_from or utcnow()).astimezone(UTC)
    async with ctx.db.session() as session:
        row = await session.get(Account, account_id)
        if row is None:
            raise AccountNotFound()
        row.options = {**(row.options or {}), PENDING: {"notifyFrom": when.isoformat()}}
        await session.commit()
    ctx.accounts.drop(account_id)
    await control.send(ctx, account_id, "reconnect")


def pending(account: Account) -> bool:
    return PENDING in (account.options or {})


async def perform(ctx: Context, account_id: str) -> Account | None:
    """Carry out a pending flush; returns the account as it is afterwards (None if gone). Called
    by the account's worker between sessions."""
    async with ctx.db.core() as s:
        row = await s.get(Account, account_id)
        if row is None or not pending(row):
            return row
        options = dict(row.options or {})
        wanted = options.pop(PENDING) or {}
        query = select(col(Mailbox.id)).where(col(Mailbox.account) == account_id)
        boxes = [box_id for box_id in (await s.execute(query)).scalars() if box_id is not None]
        await s.execute(delete(Message).where(col(Message.account) == account_id))
        await s.execute(
            update(Mailbox)
            .where(col(Mailbox.account) == account_id)
            .values(
                uid_validity=None,
                uid_next=None,
                highest_modseq=None,
                synced_modseq=None,
                messages=0,
                unseen=0,
                initialized=False,
                version=col(Mailbox.version) + 1,
            )
        )
        row.options = options or None
        row.notify_from = _parse(wanted.get("notifyFrom")) or utcnow()
        await s.commit()
        await s.refresh(row)
    ctx.accounts.drop(account_id)
    for box_id in boxes:
        ctx.index_changed(account_id, box_id)
    return row


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
