"""Claims with expiry: a row (a named lease, a webhook delivery, a queued message, an account)
belongs to one holder until a moment, and a holder that dies simply lets it lapse.

Each operation is one conditional ``UPDATE … RETURNING``: SQLite runs it under its single
writer, and PostgreSQL re-checks the condition on every row once it holds the row's lock, so of
two claimers racing for a row exactly one gets it. Claims with a ``limit`` pick their rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a racing claimer takes the next free rows instead
of coming away empty-handed."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.base import utcnow

Span = timedelta | float


def _until(now: datetime, span: Span) -> datetime:
    return now + (span if isinstance(span, timedelta) else timedelta(seconds=span))


@dataclass(frozen=True, slots=True)
class Claimable:
    """Where one kind of row keeps its claim: the mapped class, its key, the column naming the
    holder and the column saying until when the claim holds."""

    table: Any
    key: Any
    holder: Any
    until: Any

    def free(
        self, now: datetime, *, holder: str | None = None, orphans: Collection[str] = ()
    ) -> ColumnElement[bool]:
        """Never claimed, released or lapsed (by ``until`` alone: a row can be in use with its
        holder cleared, as a webhook delivery is while it is sent); also when held by ``holder``
        (taking it again renews it) or by one of ``orphans`` (holders known to be dead, whose
        claims need not be waited out)."""
        ways: list[ColumnElement[bool]] = [self.until.is_(None), self.until < now]
        if holder is not None:
            ways.append(self.holder == holder)
        if orphans:
            ways.append(self.holder.in_(sorted(orphans)))
        return or_(*ways)

    async def claim(
        self,
        s: AsyncSession,
        holder: str,
        span: Span,
        *where: Any,
        limit: int | None = None,
        order_by: Iterable[Any] = (),
        orphans: Collection[str] = (),
        renewing: bool = False,
        values: dict[Any, Any] | None = None,
        now: datetime | None = None,
    ) -> list[Any]:
        """Claim the free rows matching ``where`` (at most ``limit``, in ``order_by`` order) for
        ``span``; returns the keys claimed. ``renewing``: rows ``holder`` holds count as free
        (and are renewed). ``values``: more columns to set on the claimed rows. Runs in the
        caller's transaction; the caller commits."""
        now = now or utcnow()
        free = self.free(now, holder=holder if renewing else None, orphans=orphans)
        conditions = [free, *where]
        if limit is not None:
            if limit <= 0:
                return []
            picked = (
                select(self.key)
                .where(*conditions)
                .order_by(*order_by)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            conditions.append(self.key.in_(picked.scalar_subquery()))
        statement = (
            update(self.table)
            .where(*conditions)
            .values({self.holder: holder, self.until: _until(now, span), **(values or {})})
            .returning(self.key)
            .execution_options(synchronize_session=False)
        )
        return list((await s.execute(statement)).scalars())

    async def renew(
        self, s: AsyncSession, holder: str, span: Span, *where: Any, now: datetime | None = None
    ) -> list[Any]:
        """Move the end of ``holder``'s claims on the rows matching ``where`` to ``span`` from
        now (shorter or longer); returns the keys still held."""
        statement = (
            update(self.table)
            .where(self.holder == holder, *where)
            .values({self.until: _until(now or utcnow(), span)})
            .returning(self.key)
            .execution_options(synchronize_session=False)
        )
        return list((await s.execute(statement)).scalars())

    async def release(self, s: AsyncSession, holder: str | None, *where: Any) -> list[Any]:
        """Give up ``holder``'s claims on the rows matching ``where`` at once, so another claimer
        need not wait for them to lapse; returns the keys released."""
        statement = (
            update(self.table)
            .where(self.holder == holder, *where)
            .values({self.holder: None, self.until: None})
            .returning(self.key)
            .execution_options(synchronize_session=False)
        )
        return list((await s.execute(statement)).scalars())
