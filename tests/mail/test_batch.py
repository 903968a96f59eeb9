"""Many messages built at once: in worker processes from POOL_FROM on, inline below it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
from pathlib import Path

import pytest

from app.config import Settings
from app.mail import batch
from app.main import create_app


def spec(i: int) -> dict[str, object]:
    return {
        "from_": {"name": "Shop", "address": "shop@example.com"},
        "to": [{"name": f"Customer {i}", "address": f"c{i}@example.net"}],
        "subject": f"Order {i}",
        "text": f"Hello {i}",
        "html": f"<p>Hello {i}</p>",
        "message_id": f"<m{i}@example.com>",
    }


@pytest.mark.parametrize("count", [3, batch.POOL_FROM + 20])
async def test_every_message_is_built_in_order_and_a_bad_one_alone_fails(count: int) -> None:
    specs = [spec(i) for i in range(count)]
    specs[1] = {**specs[1], "subject": "line\r\nBcc: x@example.com"}
    built = await batch.build_many(specs)
    assert len(built) == count
    assert isinstance(built[1], str) and "line breaks" in built[1]
    for i, raw in enumerate(built):
        if i == 1:
            continue
        assert isinstance(raw, bytes)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["Subject"] == f"Order {i}" and msg["Message-ID"] == f"<m{i}@example.com>"
        assert msg["To"] == f"Customer {i} <c{i}@example.net>"
    batch.shutdown()


def _running(pid: int) -> bool:
    """A stopped worker may stay a zombie until its parent reaps it: that counts as stopped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_stopping_the_app_stops_the_workers(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/mailgate.db", sync=False
    )
    app = create_app(settings)
    loop = asyncio.get_running_loop()
    async with app.router.lifespan_context(app):
        await batch.build_many([spec(i) for i in range(batch.POOL_FROM)])
        pids = set(
            await asyncio.gather(*(loop.run_in_executor(batch._executor(), os.getpid) for _ in range(8)))
        )
        assert pids and all(_running(pid) for pid in pids)
    deadline = loop.time() + 5
    while any(_running(pid) for pid in pids) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert not any(_running(pid) for pid in pids)
