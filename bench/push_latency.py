"""APPEND over IMAP → messageNew event row written: the sync engine's push latency.

Run: .venv/bin/python -m bench.push_latency [--rounds 20] [--folder INBOX]
INBOX changes arrive by IDLE (Dovecot itself pushes ~0.5 s after the APPEND); other folders by
NOTIFY where the server has it, else by the STATUS poll (MAILGATE_POLL_INTERVAL, default 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from datetime import datetime

import aioimaplib

from bench.common import dovecot, get, mailgate, message, percentile, register, report


def newest_event(db: str, after_id: int) -> tuple[int, str] | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT id, created FROM event WHERE type = 'messageNew' AND id > ? ORDER BY id LIMIT 1",
            (after_id,),
        ).fetchone()
    return (int(row[0]), str(row[1])) if row else None


async def run(args: argparse.Namespace) -> None:
    with dovecot() as dc:
        email, password = dc.fresh_user()
        with mailgate(MAILGATE_POLL_INTERVAL=str(args.poll_interval)) as server:
            register(server, "bench", dc, (email, password))
            for _ in range(600):  # a polling loop on purpose: the state lives in another process
                if get(server, "/v1/account/bench")["state"] == "connected":
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)
            db = str(server.data_dir / "mailgate.db")
            client = aioimaplib.IMAP4(dc.host, dc.port)
            await client.wait_hello_from_server()
            await client.login(email, password)
            latencies, written = [], []
            last = 0
            for i in range(args.rounds):
                raw = message(i)
                started, wall = time.monotonic(), time.time()
                await client.append(raw, mailbox=args.folder)
                while (found := newest_event(db, last)) is None:
                    await asyncio.sleep(0.005)
                    if time.monotonic() - started > 60:
                        raise SystemExit("no event within 60 s")
                latencies.append(time.monotonic() - started)
                last, created = found
                written.append(datetime.fromisoformat(created.replace(" ", "T")).timestamp() - wall)
                await asyncio.sleep(0.2)
            await client.logout()
    report(
        f"push_latency ({args.folder})",
        {
            "rounds": args.rounds,
            "APPEND -> event row visible p50 (ms)": round(percentile(latencies, 50) * 1000),
            "p95 (ms)": round(percentile(latencies, 95) * 1000),
            "max (ms)": round(max(latencies) * 1000),
            "APPEND -> event row created p50 (ms)": round(percentile(written, 50) * 1000),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--folder", default="INBOX")
    parser.add_argument("--poll-interval", type=int, default=30)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
