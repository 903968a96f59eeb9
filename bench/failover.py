"""Many accounts over several workers: the spread, and how long a killed worker's accounts take
to be connected elsewhere.

Run: .venv/bin/python -m bench.failover [--accounts 1000] [--workers 3] [--runs 2]
Starts a private PostgreSQL, Redis and Dovecot, one `mailgate serve` (MAILGATE_SYNC=false) and
`--workers` `mailgate worker` processes with default settings, registers the accounts through the
API, waits until all are connected, prints how many each worker holds, then `kill -9`s one worker
and prints the time until every account it held is connected under another worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx2
from sqlalchemy import select
from sqlmodel import col

from app.db import make_engine, migrate_sync
from app.models import Account
from bench.common import ROOT, dovecot, message, report
from bench.many_accounts import register_all
from tests.servers.maildir import seed_maildir
from tests.servers.ports import free_port
from tests.servers.postgres import Postgres
from tests.servers.redis import Redis


async def holders(url: str) -> list[tuple[str, str, str | None, datetime | None]]:
    """(account, state, pid of the holder, when it last connected) per account."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(col(Account.id), col(Account.state), col(Account.owner), col(Account.sync_time))
            rows = (await conn.execute(query)).all()
    finally:
        await engine.dispose()
    return [(str(a), str(s), o.split(":")[1] if o else None, t) for a, s, o, t in rows]


class Server:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailgate-bench-failover-"))
    pg, redis = Postgres(work / "pg"), Redis(work / "redis")
    pg.start()
    redis.start()
    try:
        with dovecot(users=args.accounts) as dc:
            users = [dc.fresh_user() for _ in range(args.accounts)]
            for email, _ in users:
                seed_maildir(dc, email, "INBOX", (message(i) for i in range(args.messages)))
            for run in range(1, args.runs + 1):
                url = pg.create_database(f"failover{run}")
                migrate_sync(url)  # before the loop: Alembic runs one of its own
                asyncio.run(one_run(run, args, url, redis, dc, users, work))
    finally:
        redis.stop()
        pg.stop()


async def one_run(  # type: ignore[no-untyped-def]
    run: int, args: argparse.Namespace, url: str, redis: Redis, dc, users, work: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILGATE_")}
    env.update(MAILGATE_DATABASE_URL=url, MAILGATE_REDIS_URL=redis.url, MAILGATE_SECRET="bench",
               MAILGATE_DATA_DIR=str(work / f"data{run}"), MAILGATE_AUTO_MIGRATE="false")  # fmt: skip
    cli = [sys.executable, "-m", "app.cli"]
    token = subprocess.run([*cli, "tokens", "issue", "-s", "*"], env=env, capture_output=True, text=True,
                           check=True, cwd=ROOT).stdout.strip()  # fmt: skip
    log = (work / f"procs{run}.log").open("wb")
    api_env = {**env, "MAILGATE_PORT": str(port), "MAILGATE_SYNC": "false"}
    procs = [subprocess.Popen([*cli, "serve"], env=api_env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)]
    workers = [subprocess.Popen([*cli, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
               for _ in range(args.workers)]  # fmt: skip
    procs += workers
    server = Server(f"http://127.0.0.1:{port}", token)
    try:
        async with httpx2.AsyncClient(timeout=5) as client:
            while True:
                with contextlib.suppress(httpx2.HTTPError):
                    if (await client.get(f"{server.base}/health/ready")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
        started = time.monotonic()
        statuses = await register_all(server, dc, users, 8)  # type: ignore[arg-type]
        registered = time.monotonic() - started
        pids = {str(w.pid) for w in workers}
        while True:
            found = await holders(url)
            if all(state == "connected" and pid in pids for _, state, pid, _ in found):
                break
            await asyncio.sleep(0.5)
        connected = time.monotonic() - started
        spread = Counter(pid for _, _, pid, _ in found)
        victim = workers[0]
        lost = {a for a, _, pid, _ in found if pid == str(victim.pid)}
        killed_at = datetime.now(UTC)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed = time.monotonic()
        alive = pids - {str(victim.pid)}
        while True:  # a dead holder's accounts keep showing "connected": they must connect anew
            found = await holders(url)
            if all(
                state == "connected" and pid in alive and (a not in lost or (t is not None and t > killed_at))
                for a, state, pid, t in found
            ):
                break
            await asyncio.sleep(0.2)
        moved = time.monotonic() - killed
        report(
            f"{args.accounts} accounts over {args.workers} workers, run {run}",
            {
                "registrations/s": f"{args.accounts / registered:.0f}",
                "failed registrations": sum(1 for s in statuses if s != 200),
                "all connected after": f"{connected:.1f}s",
                "accounts per worker": sorted(spread.values()),
                "kill -9 of a worker holding": len(lost),
                "all connected elsewhere after": f"{moved:.1f}s",
                "spread after": sorted(Counter(pid for _, _, pid, _ in found).values()),
            },
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


if __name__ == "__main__":
    main()
