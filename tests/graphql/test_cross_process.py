"""A subscriber on the API process receives events another process writes: the Redis wake-up
bus, with the database as the source of the rows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import eventbus
from app.main import create_app
from app.services import changes
from tests.graphql.conftest import serve, ws_connect
from tests.servers.redis import Redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_worker_written_events_reach_a_subscriber(
    ctx, system_token: str, redis_server: Redis, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # Without a wake-up the subscriber would only notice on its re-check: make that an hour, so an
    # event can only arrive within the wait below through the bus (no timing assertion needed).
    monkeypatch.setattr(changes, "RECHECK", 3600.0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env.update(MAILGATE_DATABASE_URL=settings.database_url, MAILGATE_REDIS_URL=redis_server.url,
               MAILGATE_SECRET="x", MAILGATE_DATA_DIR=str(settings.data_dir))  # fmt: skip
    writer = subprocess.Popen([sys.executable, "-m", "tests.graphql.writer"], env=env, cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    bus = await eventbus.start(redis_server.url)
    try:
        assert writer.stdout is not None and writer.stdin is not None
        assert (await asyncio.to_thread(writer.stdout.readline)).strip() == "ready"
        async with serve(create_app(ctx=ctx)) as address, ws_connect(address, {"token": system_token}) as ws:
            assert (await ws.receive())["type"] == "connection_ack"
            op = await ws.subscribe("subscription { events(since: 0) { id event account data } }")
            for i in range(5):
                writer.stdin.write(f"acc{i} messageNew\n")
                writer.stdin.flush()
                written = int((await asyncio.to_thread(writer.stdout.readline)).strip())
                got = (await ws.first_for(op, timeout=60))["payload"]["data"]["events"]
                assert (got["id"], got["account"]) == (written, f"acc{i}")
    finally:
        await eventbus.stop(bus)
        writer.terminate()
        await asyncio.to_thread(writer.wait, 10)
