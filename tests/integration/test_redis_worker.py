"""Scale-out mode: `mailgate serve` and `mailgate worker` as separate processes on Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2

from tests.servers.ports import free_port
from tests.servers.receiver import Receiver
from tests.servers.redis import Redis


def env_for(tmp_path: Path, redis: Redis, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env.update(MAILGATE_DATA_DIR=str(tmp_path / "data"), MAILGATE_REDIS_URL=redis.url, MAILGATE_SYNC="false",
               MAILGATE_WEBHOOK_BACKOFF="0.3,0.6", MAILGATE_SECRET="t", MAILGATE_LOG_LEVEL="warning", **extra)  # fmt: skip
    return env


async def test_webhooks_are_sent_by_the_worker(tmp_path: Path, redis_server: Redis) -> None:
    redis_server.flushall()
    receiver = Receiver()
    await receiver.start()
    port = free_port()
    env = env_for(tmp_path, redis_server, MAILGATE_PORT=str(port))
    cli = [sys.executable, "-m", "app.cli"]
    token = subprocess.run([*cli, "tokens", "issue", "-s", "*"], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    log = open(tmp_path / "procs.log", "wb")  # noqa: SIM115
    serve = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    worker: subprocess.Popen[bytes] | None = None
    try:
        base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
        async with httpx2.AsyncClient(base_url=base, headers=headers) as client:
            for _ in range(100):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx2.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            r = await client.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": receiver.url})
            assert r.status_code == 200, r.text
            r = await client.post("/v1/account", json={"account": "r1", "name": "R", "imap": False})
            assert r.status_code == 200
            await asyncio.sleep(1.5)
            assert receiver.hits == []  # queued in Redis; the API process does not run tasks itself
            worker = subprocess.Popen([*cli, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
            hit = (await receiver.wait_for(1, timeout=15))[0]
            assert json.loads(hit.body)["event"] == "accountAdded" and json.loads(hit.body)["account"] == "r1"
            await asyncio.sleep(0.5)
            deliveries = (await client.get("/v1/webhooks/deliveries")).json()["deliveries"]
            assert [d["status"] for d in deliveries] == ["delivered"]
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 20) == 0
    finally:
        for proc in (serve, worker):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, 20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        log.close()
        await receiver.stop()


def test_worker_needs_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")} | {
        "MAILGATE_DATA_DIR": str(tmp_path)
    }
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker"], env=env, capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 2 and "MAILGATE_REDIS_URL" in r.stderr
