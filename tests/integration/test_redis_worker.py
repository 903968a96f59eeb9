"""Scale-out mode: `mailgate serve` and `mailgate worker` as separate processes on Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import redis.asyncio

from tests.integration.conftest import wait_until
from tests.servers.ports import free_port
from tests.servers.receiver import Receiver
from tests.servers.redis import Redis
from tests.servers.smtp import SmtpSink

QUEUE = "mailgate"  # the stream the Redis broker queues tasks on (app.tasks.broker)


def env_for(tmp_path: Path, redis: Redis, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env.update(MAILGATE_DATA_DIR=str(tmp_path / "data"), MAILGATE_REDIS_URL=redis.url, MAILGATE_SYNC="false",
               MAILGATE_WEBHOOK_BACKOFF="0.3,0.6", MAILGATE_SECRET="t", MAILGATE_LOG_LEVEL="warning", **extra)  # fmt: skip
    return env


@dataclass
class Stack:
    client: httpx2.AsyncClient
    start_worker: Callable[[], subprocess.Popen[bytes]]


@contextlib.asynccontextmanager
async def serve_on_redis(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[Stack]:
    """`mailgate serve` (waited for until healthy) and, on demand, `mailgate worker`; both are
    stopped with SIGTERM afterwards, and a worker must exit cleanly."""
    cli = [sys.executable, "-m", "app.cli"]
    token = subprocess.run([*cli, "tokens", "issue", "-s", "*"], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    log = open(tmp_path / "procs.log", "wb")  # noqa: SIM115
    procs = [subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)]

    def start_worker() -> subprocess.Popen[bytes]:
        procs.append(subprocess.Popen([*cli, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT))
        return procs[-1]

    try:
        base, headers = f"http://127.0.0.1:{env['MAILGATE_PORT']}", {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(base_url=base, headers=headers) as client:

            async def healthy() -> bool:
                try:
                    return (await client.get("/health")).status_code == 200
                except httpx2.HTTPError:
                    return False

            await wait_until(healthy, 60, "`mailgate serve` never became healthy")
            yield Stack(client, start_worker)
        for worker in procs[1:]:
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(worker.wait, 20) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, 20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()


async def test_webhooks_are_sent_by_the_worker(tmp_path: Path, redis_server: Redis) -> None:
    redis_server.flushall()
    receiver = Receiver()
    await receiver.start()
    env = env_for(tmp_path, redis_server, MAILGATE_PORT=str(free_port()))
    try:
        async with serve_on_redis(tmp_path, env) as stack:
            client = stack.client
            r = await client.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": receiver.url})
            assert r.status_code == 200, r.text
            r = await client.post("/v1/account", json={"account": "r1", "name": "R", "imap": False})
            assert r.status_code == 200
            await queued_unread(redis_server)
            assert receiver.hits == []
            stack.start_worker()
            hit = (await receiver.wait_for(1, timeout=15))[0]
            assert json.loads(hit.body)["event"] == "accountAdded" and json.loads(hit.body)["account"] == "r1"

            async def delivered() -> bool:  # the outcome is stored after the receiver answered
                deliveries = (await client.get("/v1/webhooks/deliveries")).json()["deliveries"]
                return [d["status"] for d in deliveries] == ["delivered"]

            await wait_until(delivered, 15, "the delivery was never recorded as delivered")
    finally:
        await receiver.stop()


async def queued_unread(redis_server: Redis) -> None:
    """Wait until a task is in the Redis stream, read by no consumer: until a worker runs, that is
    where the work stays (the API process runs no tasks itself)."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:

        async def queued() -> bool:
            return int(await client.xlen(QUEUE)) >= 1

        await wait_until(queued, 30, "no task was queued in Redis")
        groups = await client.xinfo_groups(QUEUE)
        assert all(g["last-delivered-id"] in (b"0-0", "0-0") for g in groups), groups
    finally:
        await client.aclose()


def test_worker_needs_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")} | {
        "MAILGATE_DATA_DIR": str(tmp_path)
    }
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker"], env=env, capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and "MAILGATE_REDIS_URL" in r.stderr


async def test_mail_is_sent_by_the_worker_with_retries_and_schedules(
    tmp_path: Path, redis_server: Redis, smtp_sink: SmtpSink
) -> None:
    redis_server.flushall()
    env = env_for(tmp_path, redis_server, MAILGATE_PORT=str(free_port()), MAILGATE_SEND_RETRY_BASE="0.3")
    async with serve_on_redis(tmp_path, env) as stack:
        client = stack.client
        smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "secure": False}
        r = await client.post("/v1/account", json={"account": "s1", "name": "S", "email": "s1@example.com",
                                                   "imap": False, "smtp": smtp})  # fmt: skip
        assert r.status_code == 200, r.text
        smtp_sink.mode = "tempfail"
        now = await client.post(
            "/v1/account/s1/submit", json={"to": [{"address": "a@example.net"}], "text": "1"}
        )
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        later = await client.post("/v1/account/s1/submit",
                                  json={"to": [{"address": "b@example.net"}], "text": "2", "sendAt": soon})  # fmt: skip
        assert now.status_code == 200 and later.status_code == 200
        # With Redis the API process runs no outbox dispatcher: the mail waits in the database.
        for answer in (now, later):
            waiting = (await client.get(f"/v1/outbox/{answer.json()['queueId']}")).json()
            assert waiting["progress"]["status"] == "queued" and waiting["attemptsMade"] == 0
        assert smtp_sink.messages == []
        stack.start_worker()

        async def item(queue_id: str) -> dict[str, Any]:
            r = await client.get(f"/v1/outbox/{queue_id}")
            if r.status_code == 404:  # left the queue: its history is in the list
                listed = (await client.get("/v1/outbox", params={"state": "all"})).json()
                return dict(next(m for m in listed["messages"] if m["queueId"] == queue_id))
            return dict(r.json())

        async def retried() -> bool:  # a few 451s, retried by the worker with backoff
            return int((await item(now.json()["queueId"]))["attemptsMade"]) >= 2

        await wait_until(retried, 30, "the temporary failure was never retried")
        smtp_sink.mode = "accept"
        got = await smtp_sink.wait_for(2, timeout=15)
        assert sorted(m.rcpt_tos[0] for m in got) == ["a@example.net", "b@example.net"]
        for answer in (now, later):

            async def sent(queue_id: str = answer.json()["queueId"]) -> bool:
                return bool((await item(queue_id))["progress"]["status"] == "sent")

            await wait_until(sent, 15, f"{answer.json()['queueId']} was never sent")
        assert len(smtp_sink.messages) == 2  # both done: nothing more can be sent
