"""Webhook delivery latency and throughput against a local receiver.

Run: .venv/bin/python -m bench.webhooks [--events 200] [--backlog 2000] [--append-rounds 10]
     [--folder Archive]

1. latency: an event written by the API process (POST /v1/account → accountAdded) → webhook
   received, one at a time; the event's own timestamp ("date") is the start.
2. throughput: a backlog of events spread over many accounts (parallel lanes), then over one account
   (a single ordered lane), drained into a fast receiver.
3. with Dovecot in the loop: IMAP APPEND → messageNew webhook received, for INBOX (IDLE) and for
   another folder (NOTIFY), p50 and worst of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
from datetime import UTC, datetime

import aioimaplib
import httpx2

from bench.common import dovecot, mailgate, message, percentile, register, report
from tests.servers.receiver import Receiver


def received_after_written(receiver: Receiver, start: int = 0) -> list[float]:
    out = []
    for hit in receiver.hits[start:]:
        written = datetime.fromisoformat(json.loads(hit.body)["date"].replace("Z", "+00:00")).timestamp()
        out.append(hit.wall - written)  # type: ignore[attr-defined]
    return out


async def run(args: argparse.Namespace) -> None:
    receiver = Receiver()
    original = receiver._handle

    async def stamped(request):  # type: ignore[no-untyped-def]
        response = await original(request)
        receiver.hits[-1].wall = time.time()  # type: ignore[attr-defined]
        return response

    receiver._handle = stamped  # type: ignore[method-assign]
    await receiver.start()
    figures: dict[str, object] = {}
    with dovecot() as dc, mailgate(MAILGATE_WEBHOOK_BACKOFF=",".join(["1"] * 30)) as server:
        async with httpx2.AsyncClient(base_url=server.base, headers=server.headers, timeout=30) as client:
            r = await client.post("/v1/settings", json={"webhooksEnabled": True, "webhooks": receiver.url,
                                                        "serviceSecret": "bench"})  # fmt: skip
            r.raise_for_status()
            # 1. latency, one event at a time
            for i in range(args.events):
                await client.post("/v1/account", json={"account": f"lat{i}", "name": "x", "imap": False})
                await receiver.wait_for(i + 1, timeout=10)
            lat = received_after_written(receiver)
            figures["event written -> webhook received p50 (ms)"] = round(percentile(lat, 50) * 1000, 1)
            figures["p99 (ms)"] = round(percentile(lat, 99) * 1000, 1)
            # 2. backlogs written straight into the change log, then drained into the receiver
            db = sqlite3.connect(server.data_dir / "mailgate.db")
            for label, lanes in (
                (f"{args.backlog} events over 100 accounts", 100),
                (f"{args.backlog} events, one account (one ordered lane)", 1),
            ):
                base = len(receiver.hits)
                now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                db.executemany(
                    "INSERT INTO event (account, type, path, payload, created) "
                    "VALUES (?, 'messageNew', 'INBOX', ?, ?)",
                    [(f"lane{i % lanes}", json.dumps({"seq": i}), now) for i in range(args.backlog)],
                )
                db.commit()
                await receiver.wait_for(base + 1, timeout=30)
                started = time.monotonic()
                await receiver.wait_for(base + args.backlog, timeout=300)
                elapsed = time.monotonic() - started
                seqs: dict[str, list[int]] = {}
                for hit in receiver.hits[base:]:
                    body = json.loads(hit.body)
                    seqs.setdefault(body["account"], []).append(body["data"]["seq"])
                figures[f"{label}: webhooks/s"] = round((args.backlog - 1) / elapsed)
                figures[f"{label}: in order per account"] = all(v == sorted(v) for v in seqs.values())
            # 3. Dovecot in the loop
            email, password = dc.fresh_user()
            register(server, "imap", dc, (email, password))
            while (await client.get("/v1/account/imap")).json()["state"] != "connected":
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)
            imap = aioimaplib.IMAP4(dc.host, dc.port)
            await imap.wait_hello_from_server()
            await imap.login(email, password)
            for folder in ("INBOX", args.folder):
                latencies = []
                for i in range(args.append_rounds):
                    base = len(receiver.hits)
                    started_wall = time.time()
                    await imap.append(message(i), mailbox=folder)
                    while True:
                        await receiver.wait_for(base + 1, timeout=30)
                        news = [
                            h for h in receiver.hits[base:] if json.loads(h.body)["event"] == "messageNew"
                        ]
                        if news:
                            latencies.append(news[0].wall - started_wall)  # type: ignore[attr-defined]
                            break
                        base = len(receiver.hits)
                    await asyncio.sleep(0.2)
                label = f"IMAP APPEND to {folder} -> messageNew webhook"
                figures[f"{label} p50 (ms)"] = round(percentile(latencies, 50) * 1000)
                figures[f"{label} worst (ms)"] = round(max(latencies) * 1000)
            await imap.logout()
    await receiver.stop()
    report("webhooks", figures)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--append-rounds", type=int, default=10)
    parser.add_argument("--folder", default="Archive", help="the non-INBOX folder to append to")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
