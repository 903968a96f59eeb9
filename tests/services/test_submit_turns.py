"""A submission is stored before background writes already waiting for SQLite's write turn: a
burst of submissions is accepted at the pace of its own writes, not behind the deliveries,
sync passes and webhooks it queued behind."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.models import OutboxItem
from app.schemas.accounts import AccountCreate
from app.schemas.submit import SubmitInput, Submitted
from app.services import accounts, submit
from app.services.context import Context
from app.services.principal import OPERATOR


async def _stored(ctx: Context) -> int:
    async with ctx.db.core() as s:
        return int((await s.execute(select(func.count()).select_from(OutboxItem))).scalar_one())


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL writers do not take turns
async def test_a_submission_goes_before_waiting_background_writes(ctx: Context) -> None:
    await accounts.register(ctx, OPERATOR, AccountCreate.model_validate({
        "account": "s", "name": "S", "email": "s@example.com", "imap": False,
        "smtp": {"host": "127.0.0.1", "port": 9, "secure": False},
    }))  # fmt: skip
    data = SubmitInput.model_validate({"to": [{"address": "r@example.net"}], "subject": "Hi", "text": "x"})
    seen_by_background: list[int] = []

    async def background() -> None:
        async with ctx.db.writer():
            seen_by_background.append(await _stored(ctx))

    async with ctx.db.writer():  # a delivery holds the turn
        waiting = [asyncio.create_task(background()) for _ in range(3)]
        for _ in range(3):  # turns of the loop (no time): the background writers get in line
            await asyncio.sleep(0)
        submitted = asyncio.create_task(submit.submit(ctx, OPERATOR, "s", data))
        async with asyncio.timeout(20):  # the submission builds its message and gets in line too
            while ctx.db.writers_waiting < 4:
                await asyncio.sleep(0.005)
        assert seen_by_background == [] and not submitted.done()
    answer = await submitted
    await asyncio.gather(*waiting)
    assert isinstance(answer, Submitted) and answer.queueId
    assert seen_by_background == [1, 1, 1]  # the submission was stored before any of them
