"""The webhook cursor can be stored by the settings write and a dispatcher at the same moment."""

from __future__ import annotations

from app.models import Setting
from app.services.context import Context
from app.services.settings import CURSOR, store_cursor


async def _cursor(ctx: Context) -> object:
    async with ctx.db.core() as s:
        row = await s.get(Setting, CURSOR)
        return None if row is None else row.value


async def test_both_find_it_missing_and_neither_fails(ctx: Context) -> None:
    dialect = ctx.db.engine.dialect.name
    async with ctx.db.core() as dispatcher:
        assert await dispatcher.get(Setting, CURSOR) is None  # the dispatcher sees no cursor yet
        async with ctx.db.core() as api:  # meanwhile webhooks are enabled: the API stores one
            await api.execute(store_cursor(dialect, 5, replace=False))
            await api.commit()
        # The dispatcher has handed out everything up to 9: its cursor wins.
        await dispatcher.execute(store_cursor(dialect, 9, replace=True))
        await dispatcher.commit()
    assert await _cursor(ctx) == 9


async def test_enabling_again_keeps_the_dispatchers_cursor(ctx: Context) -> None:
    dialect = ctx.db.engine.dialect.name
    async with ctx.db.core() as s:
        await s.execute(store_cursor(dialect, 12, replace=True))
        await s.execute(store_cursor(dialect, 3, replace=False))
        await s.commit()
    assert await _cursor(ctx) == 12
