"""Suppression lists: addresses that unsubscribed from a list are skipped by later sends to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import events
from app.models import BlocklistEntry
from app.schemas.blocklists import (
    BlockedAddress,
    BlocklistAdd,
    BlocklistAdded,
    BlocklistCount,
    BlocklistIndex,
    BlocklistPage,
    BlocklistRemoved,
)
from app.schemas.common import PageQuery, iso, page_count
from app.services.context import Context
from app.services.errors import InvalidRequest
from app.services.principal import Principal

B = BlocklistEntry


def _list(list_id: str) -> str:
    """Path values are not checked by a model: a list id that no column holds is refused here."""
    if not 1 <= len(list_id) <= 256 or any(c.isspace() or c in "<>" for c in list_id):
        raise InvalidRequest("Invalid list id", details={"listId": "1-256 characters, no spaces or <>"})
    return list_id


async def suppressed(ctx: Context, list_id: str, recipients: Iterable[str]) -> set[str]:
    """Which of ``recipients`` (lower-cased) are on the list."""
    wanted = {r.lower() for r in recipients}
    if not wanted:
        return set()
    found: set[str] = set()
    chunk = sorted(wanted)
    async with ctx.db.core() as s:
        for start in range(0, len(chunk), 500):
            rows = await s.execute(
                select(col(B.recipient)).where(
                    col(B.list_id) == list_id, col(B.recipient).in_(chunk[start : start + 500])
                )
            )
            found.update(rows.scalars())
    return found


async def add_entry(s: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert in the caller's transaction unless the address is on the list already; True if added."""
    values = {**values, "recipient": values["recipient"].lower()}
    table = B.__table__  # type: ignore[attr-defined]
    dialect = s.get_bind().dialect.name
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    entry = BlocklistEntry(**values).model_dump()
    result = await s.execute(build(table).values(**entry).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def add(ctx: Context, principal: Principal, list_id: str, data: BlocklistAdd) -> BlocklistAdded:
    principal.require_system()
    _list(list_id)
    async with ctx.db.writer(express=True) as s:
        added = await add_entry(
            s,
            {
                "list_id": list_id,
                "recipient": data.recipient,
                "account": data.account,
                "reason": data.reason or "block",
                "source": "api",
            },
        )
        await s.commit()
    return BlocklistAdded(success=True, added=added)


async def unsubscribe(
    ctx: Context,
    *,
    account: str | None,
    list_id: str,
    recipient: str,
    message_id: str | None,
    remote_address: str | None,
    user_agent: str | None,
) -> bool:
    """A recipient's own unsubscribe: listed, with a ``listUnsubscribe`` event the first time."""
    async with ctx.db.writer(express=True) as s:
        added = await add_entry(
            s,
            {
                "list_id": list_id,
                "recipient": recipient,
                "account": account,
                "message_id": message_id,
                "source": "one-click",
                "reason": "unsubscribe",
                "remote_address": (remote_address or "")[:64] or None,
                "user_agent": (user_agent or "")[:1024] or None,
            },
        )
        if added:
            await events.insert(
                s,
                "listUnsubscribe",
                account,
                {
                    "recipient": recipient,
                    "messageId": message_id,
                    "listId": list_id,
                    "remoteAddress": remote_address,
                    "userAgent": user_agent,
                },
            )
        await s.commit()
    return added


async def remove(ctx: Context, principal: Principal, list_id: str, recipient: str) -> BlocklistRemoved:
    principal.require_system()
    _list(list_id)
    async with ctx.db.writer(express=True) as s:
        result = await s.execute(
            delete(B).where(col(B.list_id) == list_id, col(B.recipient) == recipient.lower())
        )
        await s.commit()
    return BlocklistRemoved(deleted=bool(result.rowcount))  # type: ignore[attr-defined]


async def list_entries(ctx: Context, principal: Principal, list_id: str, query: PageQuery) -> BlocklistPage:
    principal.require_system()
    where = col(B.list_id) == _list(list_id)
    async with ctx.db.core() as s:
        total = int((await s.execute(select(func.count()).select_from(B).where(where))).scalar_one())
        rows = (
            await s.execute(
                select(B)
                .where(where)
                .order_by(col(B.created).desc(), col(B.recipient))
                .offset(query.page * query.pageSize)
                .limit(query.pageSize)
            )
        ).scalars()
        addresses = [
            BlockedAddress(
                recipient=r.recipient,
                account=r.account,
                messageId=r.message_id,
                source=r.source,
                reason=r.reason,
                remoteAddress=r.remote_address,
                userAgent=r.user_agent,
                created=iso(r.created),
            )
            for r in rows
        ]
    return BlocklistPage(
        listId=list_id,
        total=total,
        page=query.page,
        pages=page_count(total, query.pageSize),
        addresses=addresses,
    )


async def list_lists(ctx: Context, principal: Principal, query: PageQuery) -> BlocklistIndex:
    principal.require_system()
    async with ctx.db.core() as s:
        total = int((await s.execute(select(func.count(func.distinct(col(B.list_id)))))).scalar_one())
        rows = await s.execute(
            select(col(B.list_id), func.count())
            .group_by(col(B.list_id))
            .order_by(col(B.list_id))
            .offset(query.page * query.pageSize)
            .limit(query.pageSize)
        )
        lists = [BlocklistCount(listId=str(name), count=int(n)) for name, n in rows.all()]
    return BlocklistIndex(
        total=total, page=query.page, pages=page_count(total, query.pageSize), blocklists=lists
    )
