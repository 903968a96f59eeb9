"""A folder page's index rows: the read behind every listing that the page cache cannot answer.

On SQLite each call into the driver is a round trip to its thread and back through the event
loop, and SQLAlchemy's result machinery (statement cache, row processors: a JSON decode per
value, a regex per date) runs on the loop too. A listing of a large folder that nobody read
yet renders hundreds of pages in its first second, all on one loop: there the page read is one
driver call and the values are decoded a page at a time (0.7 ms a page of 20 instead of 1.1 on
the reference machine). Elsewhere (PostgreSQL) it is an ordinary Core query.
``tests/index/test_pages.py`` holds both to the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Message

MESSAGES = Message.__table__  # type: ignore[attr-defined]

#: What a listing entry is made of (see app.schemas.message_entries).
LISTED = (
    "mailbox_id", "uid", "email_id", "thread_id", "date", "internal_date", "flags", "size", "subject",
    "from_", "reply_to", "to", "cc", "bcc", "message_id", "in_reply_to", "attachments", "preview", "text",
)  # fmt: skip
_JSON_COLUMNS = ("flags", "from_", "reply_to", "to", "cc", "bcc", "attachments", "text")
_JSON = tuple(i for i, name in enumerate(LISTED) if name in _JSON_COLUMNS)
_DATES = tuple(i for i, name in enumerate(LISTED) if name in ("date", "internal_date"))


@dataclass(frozen=True)
class Slice:
    """Messages of one folder in UID order, newest first unless ``above`` is given: from ``offset``,
    or those below (or above) a UID, at most ``limit``."""

    mailbox_id: int
    limit: int
    offset: int = 0
    below: int | None = None
    above: int | None = None


async def read(engine: AsyncEngine, part: Slice) -> list[dict[str, Any]]:
    """The rows of ``part`` as column-name mappings, in its order."""
    if engine.dialect.name == "sqlite":
        return await sqlite(engine, part)
    return await core(engine, part)


def statement(part: Slice, *where: Any) -> Select[Any]:
    """``part`` as a Core query, narrowed further by ``where`` (a search)."""
    c = MESSAGES.c
    query = select(*(c[name] for name in LISTED)).where(c.mailbox_id == part.mailbox_id, *where)
    if part.above is not None:
        query = query.where(c.uid > part.above).order_by(c.uid.asc())
    else:
        if part.below is not None:
            query = query.where(c.uid < part.below)
        query = query.order_by(c.uid.desc())
    return query.offset(part.offset).limit(part.limit)


async def matching(engine: AsyncEngine, part: Slice, *where: Any) -> tuple[int, list[dict[str, Any]]]:
    """The rows of ``part`` that also match ``where`` (a search), and how many match in the whole
    folder: counted here, as no index write keeps that count."""
    matches = [MESSAGES.c.mailbox_id == part.mailbox_id, *where]
    async with engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(MESSAGES).where(*matches))).scalar_one()
        rows = [dict(row) for row in (await conn.execute(statement(part, *where))).mappings()]
    return int(total), rows


async def core(engine: AsyncEngine, part: Slice) -> list[dict[str, Any]]:
    """Through SQLAlchemy Core, on any database."""
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(statement(part))).mappings()]


_SELECT = "SELECT " + ", ".join(f'"{name}"' for name in LISTED) + " FROM message WHERE mailbox_id = ?"


async def sqlite(engine: AsyncEngine, part: Slice) -> list[dict[str, Any]]:
    sql, params = _SELECT, [part.mailbox_id]
    if part.above is not None:
        sql, order = sql + " AND uid > ?", "ASC"
        params.append(part.above)
    else:
        order = "DESC"
        if part.below is not None:
            sql += " AND uid < ?"
            params.append(part.below)
    sql += f" ORDER BY uid {order} LIMIT ? OFFSET ?"
    params += [part.limit, part.offset]
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None  # a checked-out connection has its driver's
        rows = await driver.execute_fetchall(sql, params)
    return _decoded(rows)


def _decoded(rows: Any) -> list[dict[str, Any]]:
    """Rows as SQLAlchemy's processors would give them: JSON decoded (all of a page's in one
    parse), dates aware and in UTC."""
    found = [list(row) for row in rows]
    if not found:
        return []
    values = iter(from_json("[" + ",".join(row[i] or "null" for row in found for i in _JSON) + "]"))
    for row in found:
        for i in _JSON:
            row[i] = next(values)
        for i in _DATES:
            if row[i] is not None:
                row[i] = _utc(row[i])
    return [dict(zip(LISTED, row, strict=True)) for row in found]


def _utc(stored: str) -> datetime:
    when = datetime.fromisoformat(stored)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
