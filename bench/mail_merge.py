"""Mail merge: queueing rate of one request with many recipients, and their delivery rate.

Run: .venv/bin/python -m bench.mail_merge [--recipients 1000] [--runs 2] [--redis]

A send-only account points at an aiosmtpd sink in its own process; one POST …/submit carries a
stored template and a ``mailMerge`` list of personalised entries (name, order number, a tracked
link). Reported per run: queued per s (recipients / time to answer the request), delivered per s
(request start → the last message recorded as sent) and failures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

from bench.common import mailgate, report
from bench.sending import smtp_sink, with_worker
from tests.servers.redis import Redis

TEMPLATE = {
    "name": "Order update",
    "content": {
        "subject": "Order {{order}} for {{name}}",
        "text": "Hello {{name}},\n\nyour order {{order}} ships "
        "{{#if express}}tomorrow{{else}}this week{{/if}}.\n",
        "html": '<p>Hello {{name}},</p><p>Order <b>{{order}}</b>: <a href="https://shop.example/o/{{order}}">'
        "track it</a></p>{{#each items}}<li>{{this}}</li>{{/each}}",
        "previewText": "Your order {{order}}",
    },
}


async def run_once(
    base: str, headers: dict[str, str], port: int, args: argparse.Namespace, run: int
) -> dict[str, object]:
    async with httpx2.AsyncClient(base_url=base, headers=headers, timeout=300) as client:
        account = f"merge{run}"
        r = await client.post("/v1/account", json={
            "account": account, "name": "Shop", "email": "shop@example.com", "imap": False,
            "smtp": {"host": "127.0.0.1", "port": port, "secure": False}})  # fmt: skip
        r.raise_for_status()
        r = await client.post("/v1/settings", json={"serviceUrl": base})
        r.raise_for_status()
        r = await client.post("/v1/templates/template", json=TEMPLATE)
        r.raise_for_status()
        template = r.json()["id"]
        entries = [
            {
                "to": {"name": f"Customer {i}", "address": f"c{i}@example.net"},
                "params": {
                    "name": f"Customer {i}",
                    "order": 10_000 + i,
                    "express": i % 2 == 0,
                    "items": ["a"],
                },
            }
            for i in range(args.recipients)
        ]
        body = {"template": template, "trackClicks": True, "mailMerge": entries}
        before = (await client.get("/v1/outbox", params={"state": "sent", "pageSize": 1})).json()["total"]
        start = time.perf_counter()
        r = await client.post(f"/v1/account/{account}/submit", json=body)
        queued = time.perf_counter() - start
        r.raise_for_status()
        results = r.json()["mailMerge"]
        ok = sum(1 for x in results if x["success"])
        while True:
            sent = (await client.get("/v1/outbox", params={"state": "sent", "pageSize": 1})).json()[
                "total"
            ] - before
            if sent >= ok:
                break
            if time.perf_counter() - start > 600:
                raise RuntimeError(f"only {sent} of {ok} delivered after 600 s")
            await asyncio.sleep(0.05)
        delivered = time.perf_counter() - start
        failed = (await client.get("/v1/outbox", params={"state": "failed", "pageSize": 1})).json()["total"]
    return {
        "recipients": args.recipients,
        "queued": ok,
        "request (s)": round(queued, 3),
        "queued per s": round(ok / queued),
        "delivered per s (request start -> last sent)": round(ok / delivered),
        "failed": failed,
    }


@contextlib.contextmanager
def server(use_redis: bool) -> Iterator[tuple[str, dict[str, str]]]:
    if not use_redis:
        with mailgate() as running:
            yield running.base, running.headers
        return
    with Redis(Path(tempfile.mkdtemp(prefix="mailgate-bench-redis-"))) as redis:
        env = {"MAILGATE_REDIS_URL": redis.url}
        with mailgate(**env) as running:
            worker_env = env | {"MAILGATE_DATA_DIR": str(running.data_dir), "MAILGATE_SECRET": "bench"}
            with with_worker(worker_env):
                yield running.base, running.headers


async def main(args: argparse.Namespace) -> None:
    broker = "Redis broker + 1 worker" if args.redis else "in-process broker"
    with smtp_sink() as port, server(args.redis) as (base, headers):
        for run in range(args.runs):
            report(f"mail merge, {broker}, run {run + 1}", await run_once(base, headers, port, args, run))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--redis", action="store_true")
    asyncio.run(main(parser.parse_args()))
