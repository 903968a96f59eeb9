"""Submit throughput and end-to-end delivery rate to a local SMTP server.

Run: .venv/bin/python -m bench.sending [--messages 500] [--accounts 10] [--concurrency 20]

For each broker (in-process, then Redis with one `mailgate worker`): 10 send-only accounts point at
an aiosmtpd sink running in its own process; 500 submissions of a 1 KB text message are posted
with a fixed concurrency. Reported: accepted/s (POST …/submit answered 200), delivered/s (first
submission → the last one recorded as sent), and submit latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx2

from bench.common import ROOT, mailgate, percentile, report
from tests.servers.ports import free_port
from tests.servers.redis import Redis

TEXT = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 18)[:1024]


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """aiosmtpd's own discard handler, in another process, so it does not share our CPU time."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


async def run_once(
    base: str, headers: dict[str, str], port: int, args: argparse.Namespace
) -> dict[str, object]:
    async with httpx2.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        for i in range(args.accounts):
            r = await client.post("/v1/account", json={
                "account": f"s{i}", "name": f"Sender {i}", "email": f"s{i}@example.com", "imap": False,
                "smtp": {"host": "127.0.0.1", "port": port, "secure": False}})  # fmt: skip
            r.raise_for_status()
        latencies: list[float] = []
        queue = list(range(args.messages))

        async def submitter(session: aiohttp.ClientSession) -> None:
            while queue:
                i = queue.pop()
                body = {"to": [{"address": f"r{i}@example.net"}], "subject": f"Bench {i}", "text": TEXT}
                t = time.perf_counter()
                async with session.post(f"{base}/v1/account/s{i % args.accounts}/submit", json=body) as r:
                    text = await r.text()
                latencies.append(time.perf_counter() - t)
                if r.status != 200:
                    raise RuntimeError(f"submit answered {r.status}: {text}")

        # aiohttp: the load generator shares the machine, so it should cost as little CPU as it can.
        async with aiohttp.ClientSession(headers=headers) as session:
            start = time.perf_counter()
            await asyncio.gather(*(submitter(session) for _ in range(args.concurrency)))
            accepted = time.perf_counter() - start
        while True:
            sent = (await client.get("/v1/outbox", params={"state": "sent", "pageSize": 1})).json()["total"]
            if sent >= args.messages:
                break
            if time.perf_counter() - start > 300:
                raise RuntimeError(f"only {sent} of {args.messages} delivered after 300 s")
            await asyncio.sleep(0.05)
        delivered = time.perf_counter() - start
        failed = (await client.get("/v1/outbox", params={"state": "failed", "pageSize": 1})).json()["total"]
    return {
        "accepted per s": round(args.messages / accepted),
        "submit p50 (ms)": round(percentile(latencies, 50) * 1000, 1),
        "submit p99 (ms)": round(percentile(latencies, 99) * 1000, 1),
        "delivered per s (first submit -> last sent)": round(args.messages / delivered),
        "failed": failed,
    }


def with_worker(env: dict[str, str]) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    @contextlib.contextmanager
    def started() -> Iterator[subprocess.Popen[bytes]]:
        import os

        environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")} | env
        log = open(Path(tempfile.mkdtemp(prefix="mailgate-bench-worker-")) / "worker.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=environ, stdout=log,
                                stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip
        try:
            yield proc
        finally:
            proc.terminate()
            proc.wait(20)
            log.close()

    return started()


async def main(args: argparse.Namespace) -> None:
    with smtp_sink() as port:
        with mailgate() as server:
            report("sending, in-process broker", await run_once(server.base, server.headers, port, args))
        with Redis(Path(tempfile.mkdtemp(prefix="mailgate-bench-redis-"))) as redis:
            env = {"MAILGATE_REDIS_URL": redis.url}
            with mailgate(**env) as server:
                worker_env = env | {"MAILGATE_DATA_DIR": str(server.data_dir), "MAILGATE_SECRET": "bench"}
                with with_worker(worker_env):
                    figures = await run_once(server.base, server.headers, port, args)
                report("sending, Redis broker + 1 worker", figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
