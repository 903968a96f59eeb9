"""Redis restarts under `mailgate serve` + `mailgate worker`: the queue lives in the database, so a
Redis that comes back empty loses nothing. Messages accepted while it was away are sent exactly
once, and every webhook event is delivered exactly once, with no restart of either process."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.integration.conftest import wait_until
from tests.integration.test_redis_worker import env_for, serve_on_redis
from tests.servers.ports import free_port
from tests.servers.receiver import Receiver
from tests.servers.redis import Redis
from tests.servers.smtp import SmtpSink


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of this test alone: it is stopped and started again on the same port."""
    server = Redis(tmp_path / "redis")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def hooks(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(hit.body) | {"id": hit.headers["x-ee-wh-event-id"]} for hit in receiver.hits]


def _delivered(receiver: Receiver) -> set[tuple[str, str]]:
    """(event, account) for account events, (event, queueId) for sends."""
    return {
        (h["event"], h["account"] if h["event"].startswith("account") else h["data"].get("queueId"))
        for h in hooks(receiver)
    }


async def _arrived(receiver: Receiver, wanted: set[tuple[str, str]]) -> bool:
    return wanted <= _delivered(receiver)


async def submit(client: httpx2.AsyncClient, to: str) -> httpx2.Response:
    return await client.post("/v1/account/s1/submit", json={"to": [{"address": to}], "text": to})


async def test_redis_restart_loses_no_send_and_no_webhook(
    tmp_path: Path, private_redis: Redis, smtp_sink: SmtpSink
) -> None:
    redis = private_redis
    receiver = Receiver()
    await receiver.start()
    env = env_for(tmp_path, redis, MAILGATE_PORT=str(free_port()), MAILGATE_SEND_RETRY_BASE="0.3")
    try:
        async with serve_on_redis(tmp_path, env) as stack:
            client = stack.client
            r = await client.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": receiver.url})
            assert r.status_code == 200, r.text
            smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "secure": False}
            r = await client.post("/v1/account", json={"account": "s1", "name": "S", "email": "s1@example.com",
                                                       "imap": False, "smtp": smtp})  # fmt: skip
            assert r.status_code == 200, r.text
            stack.start_worker()
            before = await submit(client, "before@example.net")
            assert before.status_code == 200, before.text
            await smtp_sink.wait_for(1, timeout=15)  # the whole path works before the outage
            settled = {("accountAdded", "s1"), ("messageSent", before.json()["queueId"])}
            # Nothing in flight when Redis goes: what the drill checks is what arrives meanwhile.
            await wait_until(lambda: _arrived(receiver, settled), 15.0, "webhooks before the outage")

            await asyncio.to_thread(redis.stop)

            async def broker_down() -> bool:
                r = await client.get("/health/ready")
                return r.status_code == 503 and r.json()["broker"] == "unavailable"

            await wait_until(broker_down, 10.0, "readiness did not notice that Redis is away")
            answers = {f"m{i}@example.net": await submit(client, f"m{i}@example.net") for i in range(3)}
            for answer in answers.values():  # stored in the database: accepted, to be sent later
                assert answer.status_code == 200, answer.text
            r = await client.post("/v1/account", json={"account": "s2", "name": "T", "imap": False})
            assert r.status_code == 200, r.text  # an accountAdded webhook, to be delivered later

            async def handed_over_in_vain() -> bool:
                """Both dispatchers tried to give work to the broker while it was away."""
                log = (tmp_path / "procs.log").read_text(errors="replace")
                return "outbox: hand-over failed" in log and "webhooks: hand-over failed" in log

            await wait_until(handed_over_in_vain, 20.0, "no hand-over was tried while Redis was away")
            await asyncio.to_thread(redis.start)

            got = await smtp_sink.wait_for(1 + len(answers), timeout=25)
            arrived = sorted(to for m in got for to in m.rcpt_tos)
            assert arrived == sorted(["before@example.net", *answers]), arrived

            wanted = {
                ("accountAdded", "s2"),
                *(("messageSent", a.json()["queueId"]) for a in answers.values()),
            }
            await wait_until(
                lambda: _arrived(receiver, wanted), 20.0, lambda: f"missing: {wanted - _delivered(receiver)}"
            )

            # Nothing is still on its way: a marker sent now arrives, and nothing else does.
            marker = await submit(client, "marker@example.net")
            assert marker.status_code == 200, marker.text
            got = await smtp_sink.wait_for(2 + len(answers), timeout=15)

            hooked = {("messageSent", marker.json()["queueId"])}
            await wait_until(lambda: _arrived(receiver, hooked), 15.0, "the marker's webhook never came")
            sent = Counter(to for m in smtp_sink.messages for to in m.rcpt_tos)
            assert sent == Counter(["before@example.net", "marker@example.net", *answers]), sent
            ids = Counter(h["id"] for h in hooks(receiver))
            assert [i for i, n in ids.items() if n > 1] == [], hooks(receiver)
            deliveries = (await client.get("/v1/webhooks/deliveries")).json()["deliveries"]
            assert {d["status"] for d in deliveries} == {"delivered"}, deliveries
            # Waiting for Redis is quiet: a few warnings, not a retry loop logging as fast as it can.
            lines = (tmp_path / "procs.log").read_text(errors="replace").splitlines()
            assert len(lines) < 100, "\n".join(lines[:40])
    finally:
        await receiver.stop()
